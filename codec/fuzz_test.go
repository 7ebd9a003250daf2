package codec_test

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/metrics"
	"strconv"
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

// fuzzShape is a second destination for FuzzGobFirewall, with the kinds
// payload lacks: slices of structs, arrays, interfaces, floats, complex
// numbers.
type fuzzShape struct {
	L  []any
	A  [3]int
	Q  []*fuzzShape
	I  any
	F  float64
	Z  complex128
	B  bool
	U  uint8
	Mp map[int]string
	T  []string
	St struct{ X, Y int }
}

func init() {
	gob.Register(fuzzShape{})
}

// What gob may allocate decoding an input that the checker let through: a
// multiple of the input's size, plus a constant (a decoder, the decoders it
// compiles for the basic types, the checked message buffer).
//
// Measured with the runtime's count of allocated bytes (TotalAlloc) around DecodeGob and the session
// decodes, over the seeds below and the corpus of a fuzzing run, less what
// an empty input costs (11 KB): values alone peaked at 35 bytes per input
// byte (a fuzzShape.Q of empty structs, each a byte or so on the wire and a
// new fuzzShape in memory; a payload.M of small entries), and a short input
// of many small type definitions at 140 (gob compiles a decoder for each).
// The bound leaves room for what other goroutines allocate meanwhile; the
// bombs are millions of times over it.
const (
	gobAllocPerByte = 256
	gobAllocConst   = 1 << 20
	fuzzMaxPayload  = 1 << 20
)

// FuzzGobFirewall feeds arbitrary bytes through the checker and then gob,
// into payload (the GOB command's shape) and fuzzShape, alone (DecodeGob),
// as a session (one decoder, one checker), and with a checker that is not
// told the destination type. It fails if gob allocates more than the bound
// above for an input, or decodes a value nested deeper than the limit.
func FuzzGobFirewall(f *testing.F) {
	for _, seed := range gobFirewallSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		limit := 1 << 20
		if len(in) > limit {
			return
		}
		bound := uint64(gobAllocPerByte*len(in) + gobAllocConst)
		for _, newV := range []func() any{
			func() any { return new(payload) },
			func() any { return new(fuzzShape) },
		} {
			v := newV()
			var err error
			n := allocated(func() {
				err = codec.DecodeGob(bufio.NewReader(bytes.NewReader(in)), fuzzMaxPayload, v)
			})
			if n > bound {
				t.Fatalf("DecodeGob into %T: %d input bytes made %d bytes allocated (bound %d); error %v", v, len(in), n, bound, err)
			}
			if err != nil && strings.Contains(err.Error(), "panic") {
				t.Fatalf("DecodeGob into %T: %v", v, err) // what the checker passes, gob must not panic on
			}
			if err == nil {
				if depth := valueDepth(reflect.ValueOf(v)); depth > codec.DefaultMaxGobDepth {
					t.Fatalf("DecodeGob into %T: decoded a value %d deep", v, depth)
				}
			}
			for _, typed := range []bool{true, false} {
				n = allocated(func() { err = decodeSession(in, v, typed) })
				if n > bound {
					t.Fatalf("session into %T (typed %v): %d input bytes made %d bytes allocated (bound %d); error %v", v, typed, len(in), n, bound, err)
				}
				if err != nil && strings.Contains(err.Error(), "panic") {
					t.Fatalf("session into %T (typed %v): %v", v, typed, err)
				}
			}
		}
	})
}

// decodeSession decodes in as a stream of values into fresh values of v's
// type, through a GobReader with one checker, until an error, checking the
// depth of each value decoded.
func decodeSession(in []byte, v any, typed bool) error {
	c := &codec.GobChecker{MaxTypeBytes: 64 << 10}
	gr := &codec.GobReader{R: bufio.NewReader(bytes.NewReader(in)), Check: c}
	dec := gob.NewDecoder(gr)
	for range 16 {
		gr.N = fuzzMaxPayload
		got := reflect.New(reflect.TypeOf(v).Elem())
		if typed {
			c.Into = got.Type()
		}
		if err := decodeRecover(dec, got.Interface()); err != nil {
			return err
		}
		if depth := valueDepth(got); depth > codec.DefaultMaxGobDepth {
			panic(fmt.Sprintf("session: decoded a value %d deep", depth))
		}
	}
	return nil
}

func decodeRecover(dec *gob.Decoder, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gob panicked: %v", p)
		}
	}()
	return dec.Decode(v)
}

// allocated returns the bytes allocated while f runs: the runtime's count
// of heap allocations, as runtime.MemStats.TotalAlloc has it, read without
// stopping the world.
func allocated(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

var writeGobSeeds = flag.Bool("gobseeds", false, "write FuzzGobFirewall's seed files to testdata/fuzz/FuzzGobFirewall")

// gobSeedFiles are the seeds of FuzzGobFirewall kept in testdata, where the
// fuzzer also keeps what it finds: the bombs, as small as they come.
func gobSeedFiles(tb testing.TB) map[string][]byte {
	defs := typeMessages(tb, fuzzShape{})
	id := gobID(tb, fuzzShape{})
	var slice, str wire
	slice.int(id).uint(10).uint(1 << 60).uint(1).uint(0)
	str.int(id).uint(10).uint(1).uint(1 << 40).raw('x').uint(0)
	var budget [][]byte
	for i := range 300 {
		budget = append(budget, structDef(int64(64+i), "N", 2))
	}
	return map[string][]byte{
		"map-3e8-entries":         mapBomb(tb, 3e8),
		"map-1e9-entries":         mapBomb(tb, 1e9),
		"nested-10000":            deepPayload(tb, 10000),
		"slice-2e60-elements":     frame(append(defs, slice.b)...),
		"string-2e40-bytes":       frame(append(defs, str.b)...),
		"type-chain-150":          chainTypes(150),
		"type-definitions-300":    frame(budget...),
		"payload-nested":          encode(tb, payload{N: 1, S: "s", M: map[string]int{"a": 1}, P: []byte{2}, C: &payload{N: 3, C: &payload{}}}),
		"skipped-nil-interface":   skippedBomb(tb),
		"interface-in-interfaces": encode(tb, fuzzShape{I: fuzzShape{L: []any{nil, fuzzShape{I: 1}}}}),
	}
}

// TestGobFirewallSeedFiles writes the seed files with -gobseeds, and
// otherwise checks that they are there, in the fuzzer's format, and small.
// (Their bytes depend on the type ids gob's encoder gave, which depend on
// what the process encoded first, so they are not compared.)
func TestGobFirewallSeedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzGobFirewall")
	for name, b := range gobSeedFiles(t) {
		path := filepath.Join(dir, name)
		if *writeGobSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v: run go test -run TestGobFirewallSeedFiles -gobseeds", err)
			continue
		}
		lines := strings.Split(string(got), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Errorf("%s is not in the fuzzer's format", path)
		} else if _, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if len(got) > 100<<10 {
			t.Errorf("%s is %d bytes: keep seed files small", path, len(got))
		}
	}
}

// skippedBomb hides a map bomb where gob reads it only when it skips a field
// (see TestGobCheckerSkippedFieldReading).
func skippedBomb(tb testing.TB) []byte {
	type holder struct {
		A []any
		M map[string]int
		N int
	}
	defs := typeMessages(tb, holder{})
	var w wire
	w.int(gobID(tb, holder{})).uint(1).uint(2).uint(0)
	var name wire
	name.raw(0x01, 'x', 0x00, 0x02, 0x02, 'a', 'b', 0x01).uint(1<<40).raw(0x00, 'y', 'z')
	w.str(string(name.b)).int(2).uint(2).uint(0).int(7).uint(2).int(1).uint(0)
	return frame(append(defs, w.b)...)
}

// gobFirewallSeeds are the bombs and real encodings FuzzGobFirewall starts
// from.
func gobFirewallSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	add := func(b []byte) { seeds = append(seeds, b) }
	for _, v := range []any{
		payload{N: 1, S: "s", M: map[string]int{"a": 1}, P: []byte{2}, C: &payload{N: 3, C: &payload{}}},
		fuzzShape{L: []any{nil, 1, "x", fuzzShape{B: true}}, A: [3]int{1, 2, 3}, Q: []*fuzzShape{{U: 1}}, I: payload{N: 4},
			F: 1.5, Z: 2i, Mp: map[int]string{1: "a"}, T: []string{"t"}, St: struct{ X, Y int }{1, 2}},
	} {
		add(encode(tb, v))
	}
	// The most gob allocates per byte for real values: many empty structs
	// behind pointers, many map entries, many nils, many empty strings.
	var q, l, s fuzzShape
	mp := fuzzShape{Mp: map[int]string{}}
	for i := range 2000 {
		q.Q = append(q.Q, &fuzzShape{})
		l.L = append(l.L, nil)
		s.T = append(s.T, "")
		mp.Mp[i] = ""
	}
	for _, v := range []fuzzShape{q, l, s, mp} {
		add(encode(tb, v))
	}
	manyKeys := payload{M: map[string]int{}}
	for i := range 3000 {
		manyKeys.M[strconv.Itoa(i)] = 0
	}
	add(encode(tb, manyKeys))
	add(mapBomb(tb, 3e8))
	add(mapBomb(tb, 1e9))
	add(deepPayload(tb, 10000)) // about 20 KB; TestGobCheckerRefusesDeepValues has the 1 MB one
	// A slice claiming 2^60 elements and a string claiming 2^40 bytes.
	defs := typeMessages(tb, fuzzShape{})
	id := gobID(tb, fuzzShape{})
	var w wire
	w.int(id).uint(10).uint(1 << 60).uint(1).uint(0)
	add(frame(append(defs, w.b)...))
	w = wire{}
	w.int(id).uint(10).uint(1).uint(1 << 40).raw('x').uint(0)
	add(frame(append(defs, w.b)...))
	// A chain of type definitions too deep, and one too long for a budget.
	add(chainTypes(150))
	var defs300 [][]byte
	for i := range 300 {
		defs300 = append(defs300, structDef(int64(64+i), "N", 2))
	}
	add(frame(defs300...))
	return seeds
}
