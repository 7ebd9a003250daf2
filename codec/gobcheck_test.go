package codec_test

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
)

// checkStream gives each message of stream to a fresh checker and returns
// the first error.
func checkStream(tb testing.TB, c *codec.GobChecker, stream []byte) error {
	tb.Helper()
	for _, m := range messages(tb, stream) {
		if err := c.Check(m); err != nil {
			return err
		}
	}
	return nil
}

func refused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, codec.ErrGobRefused) {
		t.Errorf("%s: %v, want an error wrapping ErrGobRefused", what, err)
	}
}

// decodeRefused decodes stream with DecodeGob into a payload and checks it
// was refused.
func decodeRefused(t *testing.T, what string, stream []byte) {
	t.Helper()
	var v payload
	refused(t, what, codec.DecodeGob(bufio.NewReader(bytes.NewReader(stream)), 0, &v))
}

func TestGobCheckerAcceptsSample(t *testing.T) {
	for _, v := range []any{
		payload{N: 1, S: "x", M: map[string]int{"a": 1}, P: []byte{1}, C: &payload{N: 2, C: &payload{}}},
		payload{},
		int64(-5), "text", []byte("bytes"), []int{1, 2, 3}, map[string]int{}, [2]string{"a", "b"},
		3.5, complex(1, 2), true, gobEnc{1, 2}, pIface{X: pLeaf{S: "in"}, L: []any{nil, 1, "s"}},
	} {
		var c codec.GobChecker
		if err := checkStream(t, &c, encode(t, v)); err != nil {
			t.Errorf("%T: %v", v, err)
		}
		if c.Pending() {
			t.Errorf("%T: pending after the value", v)
		}
	}
}

// TestGobCheckerRefusesMapBombs is the 106-byte request whose map declares
// 3×10^8 entries, and one with 10^9: refused before gob sees them.
func TestGobCheckerRefusesMapBombs(t *testing.T) {
	for _, count := range []uint64{3e8, 1e9, 1 << 62, 1<<64 - 1, 40} {
		bomb := mapBomb(t, count)
		// About 106 bytes: the type ids gob's encoder gives depend on what
		// the process registered first.
		if count == 3e8 && (len(bomb) < 100 || len(bomb) > 112) {
			t.Errorf("the 3×10^8 bomb is %d bytes, want about 106", len(bomb))
		}
		decodeRefused(t, "map bomb", bomb)
		var c codec.GobChecker
		refused(t, "map bomb through Check", checkStream(t, &c, bomb))
	}
	// With its real count, it is fine.
	var v payload
	if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(mapBomb(t, 1))), 0, &v); err != nil || v.M["k"] != 1 {
		t.Fatalf("the bomb's real count: %+v, %v", v, err)
	}
}

func TestGobCheckerRefusesCountsOverBytesLeft(t *testing.T) {
	// A struct with a field of each counted kind.
	type counted struct {
		L []int
		A [3]int
		S string
		B []byte
		M map[int]int
		I any
		G gobEnc
	}
	defs := typeMessages(t, counted{})
	id := gobID(t, counted{})
	for _, tc := range []struct {
		name string
		body func(w *wire)
	}{
		{"slice of 2^60", func(w *wire) { w.uint(1).uint(1 << 60).uint(1) }},
		{"slice one over", func(w *wire) { w.uint(1).uint(3).uint(1).uint(2) }},
		{"array count wrong", func(w *wire) { w.uint(2).uint(4).uint(1).uint(2).uint(3).uint(4) }},
		{"array count over", func(w *wire) { w.uint(2).uint(3).uint(1) }},
		{"string of 2^40", func(w *wire) { w.uint(3).uint(1 << 40).raw('x') }},
		{"string one over", func(w *wire) { w.uint(3).uint(3).raw('x', 'y') }},
		{"bytes of 2^62", func(w *wire) { w.uint(4).uint(1<<62).raw(1, 2) }},
		{"map of 10^9", func(w *wire) { w.uint(5).uint(1e9).uint(1).uint(1) }},
		{"map over half the bytes", func(w *wire) { w.uint(5).uint(2).uint(1).uint(1).uint(1) }},
		{"interface name too long", func(w *wire) { w.uint(6).uint(1 << 30).raw('x') }},
		{"interface value length over", func(w *wire) { w.uint(6).str("int").int(2).uint(200).uint(0).int(5) }},
		{"interface value length wrong", func(w *wire) { w.uint(6).str("int").int(2).uint(1).uint(0).int(5).uint(0) }},
		{"GobEncoder length over", func(w *wire) { w.uint(7).uint(1 << 20).raw('1') }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w wire
			w.int(id)
			tc.body(&w)
			w.uint(0)
			decodeRefused(t, tc.name, frame(append(defs, w.b)...))
			var c codec.GobChecker
			refused(t, tc.name+" through Check", checkStream(t, &c, frame(append(defs, w.b)...)))
		})
	}
}

// TestGobCheckerRefusesDeepValues nests a payload through C: at the limit it
// decodes, one past it is refused, and so are 500,000 levels in a 1 MiB
// message, quickly and without allocating for it.
func TestGobCheckerRefusesDeepValues(t *testing.T) {
	var v payload
	if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(deepPayload(t, codec.DefaultMaxGobDepth))), 0, &v); err != nil {
		t.Fatalf("%d levels: %v", codec.DefaultMaxGobDepth, err)
	}
	decodeRefused(t, "one level too deep", deepPayload(t, codec.DefaultMaxGobDepth+1))
	if err := codec.DecodeGobDepth(bufio.NewReader(bytes.NewReader(deepPayload(t, 10))), 0, 9, &v); !errors.Is(err, codec.ErrGobRefused) {
		t.Errorf("10 levels with a limit of 9: %v", err)
	}

	deep := deepPayload(t, 500000)
	if len(deep) < 1e6 || len(deep) > 1<<20 {
		t.Fatalf("the deep value is %d bytes, want about 1 MB", len(deep))
	}
	decodeRefused(t, "500,000 levels", deep)

	// Checking the value's message allocates nothing to speak of.
	msgs := messages(t, deep)
	var c codec.GobChecker
	allocs := testing.AllocsPerRun(5, func() {
		c.Reset()
		for _, m := range msgs[:len(msgs)-1] {
			if err := c.Check(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Check(msgs[len(msgs)-1]); !errors.Is(err, codec.ErrGobRefused) {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("checking a 1 MiB value allocates %v times", allocs)
	}
	// And DecodeGob holds the message, no more.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	decodeRefused(t, "500,000 levels", deep)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("refusing a 1 MiB value allocated %d bytes", n)
	}
}

// chainTypes defines types 64+i = struct{C (64+i+1)} for i < n, then 64+n
// as an empty struct, and sends an empty value of type 64.
func chainTypes(n int) []byte {
	var bodies [][]byte
	for i := range n {
		bodies = append(bodies, structDef(int64(64+i), "C", 64+i+1))
	}
	bodies = append(bodies, structDef(int64(64+n)))
	var w wire
	w.int(64).uint(0)
	return frame(append(bodies, w.b)...)
}

func TestGobCheckerRefusesDeepTypes(t *testing.T) {
	var v payload
	// A chain of distinct types as deep as the limit decodes into a payload
	// (whose C field matches each level).
	if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(chainTypes(codec.DefaultMaxGobDepth-1))), 0, &v); err != nil {
		t.Fatalf("a chain of %d types: %v", codec.DefaultMaxGobDepth, err)
	}
	decodeRefused(t, "a chain one type too deep", chainTypes(codec.DefaultMaxGobDepth))
	decodeRefused(t, "a chain of 20,000 types", chainTypes(20000))
	// Defined in the other order, the chain is refused at the same point.
	var bodies [][]byte
	for i := 150; i >= 0; i-- {
		bodies = append(bodies, structDef(int64(64+i), "C", 64+i+1))
	}
	bodies = append(bodies, structDef(64+151))
	var w wire
	w.int(64).uint(0)
	decodeRefused(t, "a chain defined inner first", frame(append(bodies, w.b)...))

	// A recursive type is fine however long the chain of values...
	var rec bytes.Buffer
	codec.EncodeGob(&rec, payload{C: &payload{C: &payload{}}})
	if err := codec.DecodeGob(bufio.NewReader(&rec), 0, &v); err != nil {
		t.Fatal(err)
	}
	// ...and so is a cycle of many types, if the cycle is not too long.
	cycle := func(n int) []byte {
		var bodies [][]byte
		for i := range n {
			bodies = append(bodies, structDef(int64(64+i), "C", 64+(i+1)%n))
		}
		var w wire
		w.int(64).uint(0)
		return frame(append(bodies, w.b)...)
	}
	if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(cycle(50))), 0, &v); err != nil {
		t.Fatalf("a cycle of 50 types: %v", err)
	}
	decodeRefused(t, "a cycle of 150 types", cycle(150))
}

func TestGobCheckerTypeBudget(t *testing.T) {
	c := codec.GobChecker{MaxTypeBytes: 1000}
	n := 0
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		def := structDef(int64(64+i), "Field", 2)
		err = c.Check(def)
		n += len(def)
	}
	refused(t, "type definitions over the budget", err)
	if n <= 1000 || n > 1000+64 {
		t.Errorf("refused after %d bytes of definitions with a budget of 1000", n)
	}
	// The refusal is final.
	refused(t, "after the refusal", c.Check(structDef(5000, "F", 2)))
	// Reset forgets the types and the budget spent.
	c.Reset()
	if err := c.Check(structDef(64, "F", 2)); err != nil {
		t.Errorf("after Reset: %v", err)
	}
	// Without a budget, it goes on.
	var free codec.GobChecker
	for i := range 1000 {
		if err := free.Check(structDef(int64(64+i), "Field", 2)); err != nil {
			t.Fatalf("no budget, definition %d: %v", i, err)
		}
	}
}

func TestGobCheckerRefusesTruncated(t *testing.T) {
	for _, v := range []any{
		payload{N: 1, S: "x", M: map[string]int{"a": 1}, P: []byte{1}, C: &payload{N: 2}},
		pIface{X: pLeaf{S: "in"}, L: []any{nil, 1, "s"}, M: map[string]any{"k": pTree{V: 1}}},
		[]string{"a", "b"}, gobEnc{1, 2},
	} {
		msgs := messages(t, encode(t, v))
		for i, m := range msgs {
			for cut := range len(m) {
				var c codec.GobChecker
				var err error
				for _, prev := range msgs[:i] {
					if err = c.Check(prev); err != nil {
						t.Fatalf("%T message %d: %v", v, i, err)
					}
				}
				if err = c.Check(m[:cut]); err == nil && !c.Pending() {
					t.Errorf("%T message %d cut to %d of %d bytes: accepted", v, i, cut, len(m))
				} else if err != nil && !errors.Is(err, codec.ErrGobRefused) {
					t.Errorf("%T: %v", v, err)
				}
			}
		}
	}
}

func TestGobCheckerRefusesBadTypes(t *testing.T) {
	defs := typeMessages(t, payload{})
	id := gobID(t, payload{})
	val := func(w *wire) []byte { return w.b }
	for _, tc := range []struct {
		name   string
		bodies [][]byte
	}{
		{"value of type 0", [][]byte{val((&wire{}).int(0).uint(0))}},
		{"value of a reserved type", [][]byte{val((&wire{}).int(12).uint(0))}},
		{"value of wireType", [][]byte{val((&wire{}).int(16).uint(0))}},
		{"value of an undefined type", [][]byte{val((&wire{}).int(70).uint(0))}},
		{"type id beyond int32", [][]byte{val((&wire{}).int(1 << 40).uint(0))}},
		{"definition of a reserved id", [][]byte{structDef(20, "F", 2)}},
		{"definition twice", [][]byte{structDef(64, "F", 2), structDef(64, "F", 2)}},
		{"field of an undefined type", [][]byte{structDef(64, "F", 99), val((&wire{}).int(64).uint(1).uint(0).uint(0))}},
		{"field of type 0", [][]byte{structDef(64, "F", 0)}},
		{"field of a reserved type", [][]byte{structDef(64, "F", 30)}},
		{"field without a name", [][]byte{structDef(64, "", 2)}},
		{"negative array length", [][]byte{kidsDef(64, 0, -1, 2)}},
		{"slice without an element type", [][]byte{kidsDef(64, 1, 0)}},
		{"map without a key type", [][]byte{kidsDef(64, 3, 0, 2)}},
		{"two kinds in one definition", [][]byte{append(kidsDef(64, 1, 0, 2)[:len(kidsDef(64, 1, 0, 2))-1], 2, 1, 2, 4, 0, 0, 0)}},
		{"no kind", [][]byte{val((&wire{}).int(-64).uint(0))}},
		{"bytes after a definition", [][]byte{append(structDef(64, "F", 2), 0)}},
		{"bytes after a value", append(defs, val((&wire{}).int(id).uint(0).uint(0)))},
		{"field out of range", append(defs, val((&wire{}).int(id).uint(9).uint(0)))},
		{"singleton without its zero delta", [][]byte{val((&wire{}).int(2).uint(1).int(5))}},
		{"empty message", append(defs, []byte{})},
		{"interface of undefined concrete type", [][]byte{val((&wire{}).int(8).uint(0).str("x").int(90).uint(2).uint(0).uint(0))}},
		{"interface of interface type", [][]byte{val((&wire{}).int(8).uint(0).str("x").int(8).uint(2).uint(0).uint(0))}},
		{"bad uint", append(defs, val((&wire{}).int(id).uint(1).raw(0x80)))},
		{"cut-off uint", append(defs, val((&wire{}).int(id).uint(1).raw(0xfe, 1)))},
	} {
		var c codec.GobChecker
		var err error
		for _, b := range tc.bodies {
			if err = c.Check(b); err != nil {
				break
			}
		}
		refused(t, tc.name, err)
	}
}

// TestGobCheckerSkippedFieldReading is the reason the checker follows gob's
// skipping reading too. gob skips a field the destination lacks, and it
// skips a nil interface value as if a type id and a value followed: a peer
// can have gob skip into bytes that the decoding reading sees as an
// interface's type name, and decode what it finds there.
func TestGobCheckerSkippedFieldReading(t *testing.T) {
	// A struct with a field A []any that a payload lacks, then payload's M
	// and N.
	type holder struct {
		A []any
		M map[string]int
		N int
	}
	gob.Register(0)
	defs := typeMessages(t, holder{})
	id := gobID(t, holder{})
	// The decoding reading: A holds a nil interface and an int whose type
	// name is "hidden"; then N = 1.
	//
	// Skipping A, gob reads the nil's type sequence from what follows: the
	// name's length (12: type 6, string) and then the first name byte as a
	// length to skip (1); then A's second element from the name's next byte
	// (0: nil) and its type sequence (2: int) and value length (2), which
	// skip "ab". Then it is back in the struct, at the name's bytes "\x02\x14"
	// (field N, 10), and at its end.
	hidden := func(n byte) string { return "\x01x\x00\x02\x02ab\x02" + string([]byte{n}) + "\x00yz" }
	stream := func(n byte) []byte {
		var w wire
		w.int(id).uint(1).uint(2) // field A, two elements
		w.uint(0)                 // nil
		w.str(hidden(n))          // the int's type name
		w.int(2).uint(2).uint(0).int(7)
		w.uint(2).int(1) // N = 1
		w.uint(0)
		return frame(append(defs, w.b)...)
	}
	// gob decodes N from inside the type name.
	var h struct{ N int }
	if err := gob.NewDecoder(bytes.NewReader(stream(0x14))).Decode(&h); err != nil || h.N != 10 {
		t.Fatalf("gob: %+v, %v; want N=10 (from the name's bytes)", h, err)
	}
	// So the checker follows that reading: decoding into a payload, what
	// gob finds in the name is checked, and a map bomb there is refused.
	// The bomb is the wire struct's M (field 1) with 2^40 entries.
	bomb := func() []byte {
		var w wire
		w.int(id).uint(1).uint(2)
		w.uint(0)
		var name wire
		name.raw(0x01, 'x', 0x00, 0x02, 0x02, 'a', 'b', 0x01).uint(1<<40).raw(0x00, 'y', 'z')
		w.str(string(name.b))
		w.int(2).uint(2).uint(0).int(7)
		w.uint(2).int(1)
		w.uint(0)
		return frame(append(defs, w.b)...)
	}()
	decodeRefused(t, "a bomb in the skipped reading", bomb)
	// Without knowing the destination either.
	var c codec.GobChecker
	refused(t, "a bomb in the skipped reading, untyped", checkStream(t, &c, bomb))
	// Decoding into the sender's type, the same bytes are harmless: they are
	// a type name, and the checker, told the type, does not refuse.
	var into holder
	err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(bomb)), 0, &into)
	if errors.Is(err, codec.ErrGobRefused) {
		t.Errorf("decoding into the sender's type: %v", err)
	}
}

// TestGobReaderChecks covers GobReader with a checker: it serves checked
// messages, holds back a value's messages until its last, never reads past a
// value, and returns the checker's refusal from gob's Decode.
func TestGobReaderChecks(t *testing.T) {
	// A session stream: values of two types, on one encoder, with a value
	// split over messages (an interface brings a new type), then a line.
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	vals := []any{
		payload{N: 1, M: map[string]int{"a": 1}},
		pIface{X: pLeaf{S: "new type in an interface"}, L: []any{nil}},
		payload{N: 2},
		pIface{X: &pTree{V: 3}},
	}
	for _, v := range vals {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("NEXT\n")
	for _, size := range []int{16, 4096} {
		br := bufio.NewReaderSize(bytes.NewReader(b.Bytes()), size)
		c := &codec.GobChecker{}
		gr := &codec.GobReader{R: br, N: 1 << 20, Check: c}
		dec := gob.NewDecoder(gr)
		for i, v := range vals {
			got := reflect.New(reflect.TypeOf(v))
			c.Into = got.Type()
			if err := dec.Decode(got.Interface()); err != nil {
				t.Fatalf("value %d: %v", i, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), v) {
				t.Fatalf("value %d: %+v, want %+v", i, got.Elem().Interface(), v)
			}
			if c.Pending() {
				t.Fatalf("value %d: pending after Decode", i)
			}
		}
		if line, err := codec.ReadLine(br, 10); err != nil || string(line) != "NEXT" {
			t.Fatalf("buffer %d: after the values %q, %v", size, line, err)
		}
	}

	// A refusal comes out of Decode, and stays.
	br := bufio.NewReader(bytes.NewReader(mapBomb(t, 3e8)))
	gr := &codec.GobReader{R: br, N: 1 << 20, Check: &codec.GobChecker{}}
	dec := gob.NewDecoder(gr)
	var v payload
	refused(t, "Decode of a bomb", dec.Decode(&v))
	refused(t, "Decode after the bomb", dec.Decode(&v))
	refused(t, "Read after the bomb", func() error { _, err := gr.Read(make([]byte, 1)); return err }())

	// The message length is still bounded by N before any body byte is read.
	g := &bodyGuard{prefix: []byte{0x7f}}
	gr = &codec.GobReader{R: bufio.NewReaderSize(g, 16), N: 100, Check: &codec.GobChecker{}}
	if _, err := gr.ReadByte(); !errors.Is(err, codec.ErrPayloadTooLarge) || g.bodyRead {
		t.Errorf("length over N: %v (body read: %v)", err, g.bodyRead)
	}

	// A clean end of stream between values is io.EOF, as gob expects.
	gr = &codec.GobReader{R: bufio.NewReader(strings.NewReader("")), N: 100, Check: &codec.GobChecker{}}
	if err := gob.NewDecoder(gr).Decode(&v); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

// TestGobCheckerPending: a value split over messages is pending until its
// last message.
func TestGobCheckerPending(t *testing.T) {
	msgs := messages(t, encode(t, pIface{X: pLeaf{S: "x"}}))
	var c codec.GobChecker
	pending := 0
	for i, m := range msgs {
		if err := c.Check(m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if c.Pending() {
			pending++
		}
	}
	if pending == 0 || c.Pending() {
		t.Errorf("%d messages pending, and pending at the end: %v; want some, and not at the end", pending, c.Pending())
	}
}

func TestDecodeGobSkipsIntoNil(t *testing.T) {
	// (gob cannot skip a nil interface value: see TestGobCheckerSkippedFieldReading.)
	for _, v := range []any{payload{N: 1, C: &payload{}}, map[string]any{"a": 1, "b": pLeaf{I: 1}}, *(&pTree{V: 1, Kids: []*pTree{{}}})} {
		r := bufio.NewReader(bytes.NewReader(append(encode(t, v), "NEXT\n"...)))
		if err := codec.DecodeGob(r, 0, nil); err != nil {
			t.Errorf("%T into nil: %v", v, err)
		}
		if line, err := codec.ReadLine(r, 10); err != nil || string(line) != "NEXT" {
			t.Errorf("%T: after it %q, %v", v, line, err)
		}
	}
}

// TestGobCheckerFindsRegisteredTypes: the checker learns from gob what type
// an interface value's name is registered for, so that it knows which of its
// fields gob skips.
func TestGobCheckerFindsRegisteredTypes(t *testing.T) {
	// A registered struct with an interface field A: sent inside an
	// interface value with a nil in A, whose skipped reading would read on
	// into the next field. Decoding into the registered type, nothing is
	// skipped, so nothing is refused.
	v := pIface{X: pIface{L: []any{nil, int(3)}, A: [2]any{nil, "x"}}}
	var got pIface
	if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(encode(t, v))), 0, &got); err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("%+v, %v", got, err)
	}
}

// TestGobCheckerSkippedInterfaceLength is the other place where gob's
// skipping reading parts from its decoding one: a skipped interface value is
// dropped by its byte count, which a peer can make end inside the value, in
// bytes the decoding reading sees as a string.
func TestGobCheckerSkippedInterfaceLength(t *testing.T) {
	type holder struct {
		X any
		M map[string]int
	}
	gob.Register("")
	defs := typeMessages(t, holder{})
	id := gobID(t, holder{})
	// X holds a string whose bytes, after the value's first three bytes
	// (its zero delta and the string's length... and one byte of it), read
	// as field M with 2^40 entries.
	var inner wire
	inner.uint(1).uint(1<<40).raw('z', 'z')
	var w wire
	w.int(id).uint(1) // field X
	w.str("string").int(6)
	w.uint(3)                            // the byte count: ends in the string
	w.uint(0).str("p" + string(inner.b)) // zero delta, the string
	w.uint(0)
	bomb := frame(append(defs, w.b)...)
	// Into a payload, which has no X, gob skips X by its byte count and
	// reads the string's bytes as fields.
	decodeRefused(t, "a bomb behind a short byte count", bomb)
	var c codec.GobChecker
	refused(t, "a bomb behind a short byte count, untyped", checkStream(t, &c, bomb))
}
