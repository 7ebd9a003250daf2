package codec_test

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
)

// payload has the shape of the GOB command's value (handlers.GobPayload,
// which codec must not import).
type payload struct {
	N int
	S string
	M map[string]int
	P []byte
	C *payload
}

func encode(tb testing.TB, v any) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := codec.EncodeGob(&b, v); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeGobRoundTrip(t *testing.T) {
	want := payload{N: -12, S: "text", M: map[string]int{"a": 1, "b": 2}, P: []byte{0, 255}, C: &payload{N: 1, C: &payload{S: "deep"}}}
	enc := encode(t, want)
	for _, max := range []int64{int64(len(enc)), 1 << 20, 0, -1} {
		var got payload
		if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(enc)), max, &got); err != nil {
			t.Fatalf("limit %d: %v", max, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("limit %d: decoded %+v, want %+v", max, got, want)
		}
	}
}

// TestDecodeGobLeavesReaderAfterValue is the pipelining guarantee: the reader
// is left right after the value, so the request that follows is intact.
func TestDecodeGobLeavesReaderAfterValue(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(encode(t, payload{N: 1, S: "first"}))
	stream.WriteString("NEXT LINE\n")
	stream.Write(encode(t, payload{N: 2, S: "second", C: &payload{}}))
	stream.WriteString("LAST\n")
	for _, size := range []int{16, 4096} {
		r := bufio.NewReaderSize(bytes.NewReader(stream.Bytes()), size)
		var v payload
		if err := codec.DecodeGob(r, 1024, &v); err != nil || v.S != "first" {
			t.Fatalf("first value: %+v, %v", v, err)
		}
		if line, err := codec.ReadLine(r, 100); err != nil || string(line) != "NEXT LINE" {
			t.Fatalf("buffer %d: line after the value = %q, %v", size, line, err)
		}
		v = payload{}
		if err := codec.DecodeGob(r, 1024, &v); err != nil || v.S != "second" {
			t.Fatalf("second value: %+v, %v", v, err)
		}
		if line, err := codec.ReadLine(r, 100); err != nil || string(line) != "LAST" {
			t.Fatalf("buffer %d: line after the second value = %q, %v", size, line, err)
		}
	}
}

func TestDecodeGobLimit(t *testing.T) {
	enc := encode(t, payload{N: 1, P: make([]byte, 500)})
	for _, max := range []int64{int64(len(enc)) - 1, 100, 10, 1} {
		var v payload
		err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(enc)), max, &v)
		if !errors.Is(err, codec.ErrPayloadTooLarge) {
			t.Errorf("%d-byte value with limit %d: %v, want ErrPayloadTooLarge", len(enc), max, err)
		}
	}
}

// bodyGuard serves a gob message length and then records whether anyone
// reads on into the message's body.
type bodyGuard struct {
	prefix   []byte
	bodyRead bool
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	if len(g.prefix) > 0 {
		n := copy(p, g.prefix)
		g.prefix = g.prefix[n:]
		return n, nil
	}
	g.bodyRead = true
	for i := range p {
		p[i] = 0
	}
	return len(p), nil
}

// TestGobReaderRefusesLengthOverBudget builds gob message lengths by hand
// and checks that one over the remaining budget fails before a byte of the
// body is read (so gob never allocates for it).
func TestGobReaderRefusesLengthOverBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix []byte // a gob message length: one byte, or -n then n big-endian bytes
		max    int64
	}{
		{"one byte", []byte{0x7f}, 100},               // 127 > 99 left
		{"one byte, just over", []byte{0x0a}, 10},     // 10 > 9 left
		{"two bytes", []byte{0xfe, 0x10, 0x00}, 1000}, // 4096
		{"eight bytes", []byte{0xf8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1 << 20},
		{"four bytes", []byte{0xfc, 0x00, 0x10, 0x00, 0x00}, 1 << 20}, // 1 MiB > 1 MiB - 5 left
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through DecodeGob, as the endpoint uses it.
			g := &bodyGuard{prefix: bytes.Clone(tc.prefix)}
			var v payload
			err := codec.DecodeGob(bufio.NewReaderSize(g, 16), tc.max, &v)
			if !errors.Is(err, codec.ErrPayloadTooLarge) {
				t.Errorf("DecodeGob: %v, want ErrPayloadTooLarge", err)
			}
			if g.bodyRead {
				t.Error("DecodeGob read into the body of a message over the limit")
			}

			// And through a GobReader under gob.NewDecoder directly.
			g = &bodyGuard{prefix: bytes.Clone(tc.prefix)}
			gr := &codec.GobReader{R: bufio.NewReaderSize(g, 16), N: tc.max}
			err = gob.NewDecoder(gr).Decode(&v)
			if !errors.Is(err, codec.ErrPayloadTooLarge) {
				t.Errorf("gob over GobReader: %v, want ErrPayloadTooLarge", err)
			}
			if g.bodyRead {
				t.Error("GobReader let gob read into the body of a message over the limit")
			}
		})
	}
}

// TestGobReaderAllowsLengthWithinBudget is the other side of the boundary: a
// message that exactly fills the budget is read whole.
func TestGobReaderAllowsLengthWithinBudget(t *testing.T) {
	msg := append([]byte{0x09}, "123456789"...) // a 9-byte message
	gr := &codec.GobReader{R: bufio.NewReader(bytes.NewReader(msg)), N: 10}
	got, err := io.ReadAll(gr)
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, %v; want the whole message %q", got, err, msg)
	}
	if !errors.Is(err, codec.ErrPayloadTooLarge) {
		// The budget is spent: reading on is refused, not an EOF.
		t.Fatalf("after the budget: %v, want ErrPayloadTooLarge", err)
	}
}

func TestGobReaderRefusesBadLengthPrefix(t *testing.T) {
	for _, b := range []byte{0x80, 0xf0, 0xf7} { // -128, -16, -9: more than 8 bytes
		gr := &codec.GobReader{R: bufio.NewReader(bytes.NewReader([]byte{b, 1, 2, 3})), N: 100}
		if _, err := gr.ReadByte(); err == nil || !strings.Contains(err.Error(), "length prefix") {
			t.Errorf("prefix %#x: %v, want an error about the length prefix", b, err)
		}
	}
}

func TestDecodeGobRejectsInvalidValues(t *testing.T) {
	type wrong struct{ N string }
	full := encode(t, payload{N: 1})
	for name, in := range map[string][]byte{
		"garbage":         {0x05, 0xff, 0xff, 0xff, 0xff, 0xff},
		"a string":        encode(t, "text"),
		"wrong field":     encode(t, wrong{N: "x"}),
		"truncated":       full[:len(full)-2],
		"empty":           nil,
		"only the length": {0x20},
	} {
		var v payload
		if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(in)), 1024, &v); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, v)
		}
	}
}

// GobReader must be an io.ByteReader, or gob.NewDecoder would wrap it in a
// read-ahead buffer of its own.
var _ io.ByteReader = (*codec.GobReader)(nil)
