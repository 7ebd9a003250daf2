package codec_test

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
)

// repeatReader yields the same bytes for ever, so that a bufio.Reader over it
// never runs dry.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], r.b[r.off:])
		n += m
		r.off = (r.off + m) % len(r.b)
	}
	return n, nil
}

func BenchmarkReadLine(b *testing.B) {
	line := strings.Repeat("x", 64) + "\r\n"
	r := bufio.NewReader(&repeatReader{b: []byte(line)})
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.ReadLine(r, 64<<10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadLineLong reads lines longer than the reader's buffer: the slow
// path, which assembles the line in a new slice.
func BenchmarkReadLineLong(b *testing.B) {
	line := strings.Repeat("x", 10000) + "\n"
	r := bufio.NewReaderSize(&repeatReader{b: []byte(line)}, 4096)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.ReadLine(r, 64<<10); err != nil {
			b.Fatal(err)
		}
	}
}

type nested struct {
	N int
	S string
	M map[string]int
	P []byte
	C *nested
}

var sample = nested{N: 42, S: "hello", M: map[string]int{"a": 1, "b": 2}, P: []byte("bytes"), C: &nested{N: 7, S: "inner"}}

func BenchmarkEncodeGob(b *testing.B) {
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := codec.EncodeGob(&buf, sample); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkDecodeGob(b *testing.B) {
	var buf bytes.Buffer
	if err := codec.EncodeGob(&buf, sample); err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(&repeatReader{b: buf.Bytes()})
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		var v nested
		if err := codec.DecodeGob(r, 1<<20, &v); err != nil {
			b.Fatal(err)
		}
	}
}
