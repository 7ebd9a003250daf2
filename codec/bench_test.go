package codec_test

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"reflect"
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

// nested3 is the protocol payload nested three levels, with small maps and
// byte slices: what BenchmarkDecodeGobChecked and its kin decode.
var nested3 = payload{N: 1, S: "one", M: map[string]int{"a": 1, "b": 2}, P: []byte("first"),
	C: &payload{N: 2, S: "two", M: map[string]int{"c": 3}, P: []byte("second"),
		C: &payload{N: 3, S: "three", M: map[string]int{"d": 4, "e": 5}, P: []byte("third")}}}

// BenchmarkDecodeGobChecked is DecodeGob as the GOB command uses it: a fresh
// decoder and a pooled checker per value.
func BenchmarkDecodeGobChecked(b *testing.B) {
	enc := encode(b, nested3)
	r := bufio.NewReader(&repeatReader{b: enc})
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var v payload
		if err := codec.DecodeGob(r, 1<<20, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGobUnchecked is what DecodeGob did before the checker: a
// fresh decoder over a byte-limited GobReader.
func BenchmarkDecodeGobUnchecked(b *testing.B) {
	enc := encode(b, nested3)
	r := bufio.NewReader(&repeatReader{b: enc})
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var v payload
		gr := codec.GobReader{R: r, N: 1 << 20}
		if err := gob.NewDecoder(&gr).Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGobCheck is the checker alone on the messages of one value, as
// DecodeGob runs it.
func BenchmarkGobCheck(b *testing.B) {
	enc := encode(b, nested3)
	msgs := messages(b, enc)
	into := reflect.TypeFor[*payload]()
	var c codec.GobChecker
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		c.Into = into
		for _, m := range msgs {
			if err := c.Check(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// sessionStream returns the first value of a session stream of nested3
// (type definitions and value) and the value alone, as the encoder writes
// every later one.
func sessionStream(b *testing.B) (first, next []byte) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(nested3); err != nil {
		b.Fatal(err)
	}
	first = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := enc.Encode(nested3); err != nil {
		b.Fatal(err)
	}
	return first, buf.Bytes()
}

// BenchmarkGobSessionChecked decodes values of a session stream, one
// decoder and one checker for all, as typed commands do.
func BenchmarkGobSessionChecked(b *testing.B) { benchSession(b, true) }

// BenchmarkGobSessionUnchecked is the same without the checker.
func BenchmarkGobSessionUnchecked(b *testing.B) { benchSession(b, false) }

func benchSession(b *testing.B, check bool) {
	first, next := sessionStream(b)
	gr := &codec.GobReader{R: bufio.NewReader(bytes.NewReader(first))}
	if check {
		gr.Check = &codec.GobChecker{Into: reflect.TypeFor[*payload]()}
	}
	dec := gob.NewDecoder(gr)
	gr.N = 1 << 20
	var v payload
	if err := dec.Decode(&v); err != nil {
		b.Fatal(err)
	}
	gr.R = bufio.NewReader(&repeatReader{b: next})
	b.SetBytes(int64(len(next)))
	b.ReportAllocs()
	for b.Loop() {
		gr.N = 1 << 20
		var v payload
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}
