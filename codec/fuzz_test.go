package codec_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
)

// FuzzReadLine reads every line of random input with a random limit and
// buffer size, and checks ReadLine against a simple reference: split at
// "\n", drop one "\r", refuse lines over the limit.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("abc\n"), 3, 16)
	f.Add([]byte("abc\r\ndef\n"), 3, 16)
	f.Add([]byte("abcd\n"), 3, 16)
	f.Add([]byte("\r\n\n\r\r\n"), 1, 16)
	f.Add([]byte("partial"), 100, 16)
	f.Add([]byte(strings.Repeat("x", 40)+"\n"+strings.Repeat("y", 41)+"\r\n"), 40, 16)
	f.Add([]byte(strings.Repeat("z", 5000)+"\n"), 5000, 4096)
	f.Add([]byte("no limit\n"), 0, 16)
	f.Fuzz(func(t *testing.T, in []byte, max int, size int) {
		max %= 1 << 16 // zero or less: no limit
		size = 16 + abs(size)%4096
		r := bufio.NewReaderSize(bytes.NewReader(in), size)
		rest := in // what the reference has not consumed yet
		for {
			line, err := codec.ReadLine(r, max)
			want, next, wantErr := refReadLine(rest, max)
			if max > 0 && len(line) > max {
				t.Fatalf("ReadLine returned %d bytes, over the limit %d", len(line), max)
			}
			switch {
			case wantErr == nil:
				if err != nil || !bytes.Equal(line, want) {
					t.Fatalf("input %q limit %d: ReadLine = %q, %v; want %q", in, max, line, err, want)
				}
			case errors.Is(wantErr, errEitherTooLongOrEOF):
				// An unfinished line over the limit at the end of input:
				// either report is right.
				if !errors.Is(err, codec.ErrLineTooLong) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("input %q limit %d: ReadLine = %q, %v; want ErrLineTooLong or ErrUnexpectedEOF", in, max, line, err)
				}
			default:
				if !errors.Is(err, wantErr) {
					t.Fatalf("input %q limit %d: ReadLine = %q, %v; want %v", in, max, line, err, wantErr)
				}
			}
			if err != nil {
				return // after an error the reader's position is unspecified
			}
			// The reader stands right after the line's "\n".
			rest = next
			if r.Buffered() > len(rest) || !bytes.HasPrefix(rest, peekAll(r)) {
				t.Fatalf("after a line the reader is not at the next byte")
			}
		}
	})
}

var errEitherTooLongOrEOF = errors.New("either ErrLineTooLong or ErrUnexpectedEOF")

// refReadLine is the reference: the first line of in and what follows it.
func refReadLine(in []byte, max int) (line, rest []byte, err error) {
	i := bytes.IndexByte(in, '\n')
	switch {
	case i < 0 && len(in) == 0:
		return nil, nil, io.EOF
	case i < 0 && max > 0 && len(in) > max:
		return nil, nil, errEitherTooLongOrEOF
	case i < 0:
		return nil, nil, io.ErrUnexpectedEOF
	}
	line = bytes.TrimSuffix(in[:i], []byte("\r"))
	if max > 0 && len(line) > max {
		return nil, nil, codec.ErrLineTooLong
	}
	return line, in[i+1:], nil
}

func peekAll(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return b
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzDecodeGob decodes arbitrary bytes with a small limit, and a value a
// real encoder made from the fuzzed fields. DecodeGob must never panic, never
// read past its limit, decode every real encoding that fits the limit exactly
// (leaving the reader right after it), and refuse every one that does not as
// too large.
func FuzzDecodeGob(f *testing.F) {
	seed := func(v payload) []byte {
		var b bytes.Buffer
		codec.EncodeGob(&b, v)
		return b.Bytes()
	}
	f.Add(seed(payload{N: 1, S: "a", C: &payload{N: 2}}), 1, "a", []byte{1}, uint16(512))
	f.Add(seed(payload{M: map[string]int{"k": 1}}), -5, "", []byte(nil), uint16(40))
	f.Add([]byte{0x05, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, "x", []byte{}, uint16(10))
	f.Add([]byte{0xfe, 0x10, 0x00}, 7, "long", make([]byte, 300), uint16(100))
	f.Add([]byte{0x80}, 0, "", []byte(nil), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, n int, s string, p []byte, limit uint16) {
		max := int64(limit%2048) + 1

		// Arbitrary bytes.
		src := bytes.NewReader(in)
		r := bufio.NewReaderSize(src, 16)
		var v payload
		codec.DecodeGob(r, max, &v) // must return, not panic
		if consumed := len(in) - src.Len() - r.Buffered(); int64(consumed) > max {
			t.Fatalf("consumed %d bytes with a limit of %d", consumed, max)
		}

		// A real encoding, followed by a line.
		want := payload{N: n, S: s, P: p, C: &payload{N: -n, S: s}}
		var b bytes.Buffer
		if err := codec.EncodeGob(&b, want); err != nil {
			t.Fatal(err)
		}
		size := b.Len()
		b.WriteString("AFTER\n")
		r = bufio.NewReaderSize(bytes.NewReader(b.Bytes()), 16)
		var got payload
		err := codec.DecodeGob(r, max, &got)
		if int64(size) > max {
			if !errors.Is(err, codec.ErrPayloadTooLarge) {
				t.Fatalf("%d-byte value with limit %d: %v, want ErrPayloadTooLarge", size, max, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d-byte value with limit %d: %v", size, max, err)
		}
		if len(want.P) == 0 {
			want.P = nil // gob does not send empty slices
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
		if line, err := codec.ReadLine(r, 10); err != nil || string(line) != "AFTER" {
			t.Fatalf("after the value: %q, %v; want the next line", line, err)
		}
	})
}
