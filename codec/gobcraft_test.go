package codec_test

import (
	"bytes"
	"encoding/gob"
	"testing"
)

// wire builds gob messages by hand, for the inputs a real encoder never
// writes.
type wire struct{ b []byte }

func (w *wire) uint(x uint64) *wire {
	if x <= 0x7f {
		w.b = append(w.b, byte(x))
		return w
	}
	var buf [8]byte
	n := 8
	for x > 0 {
		n--
		buf[n] = byte(x)
		x >>= 8
	}
	w.b = append(w.b, byte(-(8 - n)))
	w.b = append(w.b, buf[n:]...)
	return w
}

func (w *wire) int(i int64) *wire {
	if i < 0 {
		return w.uint(uint64(^i<<1) | 1)
	}
	return w.uint(uint64(i << 1))
}

func (w *wire) str(s string) *wire {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
	return w
}

func (w *wire) raw(b ...byte) *wire {
	w.b = append(w.b, b...)
	return w
}

// msg returns w's bytes as one message: its length, then its body.
func (w *wire) msg() []byte {
	var m wire
	m.uint(uint64(len(w.b)))
	return append(m.b, w.b...)
}

// structDef is the body of the message that defines type id as a struct with
// the given fields (name, type id pairs).
func structDef(id int64, fields ...any) []byte {
	var w wire
	w.int(-id)
	w.uint(3)          // wireType.StructT
	w.uint(1).uint(1)  // structType.CommonType; CommonType.Name
	w.str("T").uint(1) // CommonType.Id
	w.int(id).uint(0)  // end of CommonType
	if len(fields) > 0 {
		w.uint(1).uint(uint64(len(fields) / 2)) // structType.Field
		for i := 0; i < len(fields); i += 2 {
			w.uint(1).str(fields[i].(string)) // fieldType.Name
			w.uint(1).int(int64(fields[i+1].(int)))
			w.uint(0)
		}
	}
	w.uint(0).uint(0) // ends of structType and wireType
	return w.b
}

// kidsDef is the body of the message that defines type id as a slice (field
// 1 of wireType), array (0) or map (3) of the given element type ids, with
// length n for an array.
func kidsDef(id int64, kind int, n int64, kids ...int) []byte {
	var w wire
	w.int(-id)
	w.uint(uint64(kind + 1))
	w.uint(1).uint(2).int(id).uint(0) // CommonType with only its Id
	for _, k := range kids {
		w.uint(1).int(int64(k))
	}
	if kind == 0 {
		w.uint(1).int(n)
	}
	w.uint(0).uint(0)
	return w.b
}

// messages splits a gob stream into its message bodies.
func messages(tb testing.TB, stream []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for len(stream) > 0 {
		var n uint64
		b := stream[0]
		stream = stream[1:]
		if b <= 0x7f {
			n = uint64(b)
		} else {
			k := -int(int8(b))
			for _, c := range stream[:k] {
				n = n<<8 | uint64(c)
			}
			stream = stream[k:]
		}
		out = append(out, stream[:n])
		stream = stream[n:]
	}
	return out
}

// frame joins message bodies into a stream.
func frame(bodies ...[]byte) []byte {
	var out []byte
	for _, b := range bodies {
		out = append(out, (&wire{b: b}).msg()...)
	}
	return out
}

// typeMessages returns the type-definition messages a fresh encoder writes
// before a value of v's type.
func typeMessages(tb testing.TB, v any) [][]byte {
	tb.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		tb.Fatal(err)
	}
	m := messages(tb, b.Bytes())
	return m[:len(m)-1]
}

// gobID returns the type id a fresh encoder gives v's type (the type of the
// last value in its stream).
func gobID(tb testing.TB, v any) int64 {
	tb.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		tb.Fatal(err)
	}
	m := messages(tb, b.Bytes())
	last := m[len(m)-1]
	var x uint64
	if last[0] <= 0x7f {
		x = uint64(last[0])
	} else {
		for _, c := range last[1 : 1-int(int8(last[0]))] {
			x = x<<8 | uint64(c)
		}
	}
	return int64(x >> 1)
}

// mapBomb is a GOB request for a payload whose map declares count entries
// and holds one: a real encoding with its count patched.
func mapBomb(tb testing.TB, count uint64) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(payload{N: 7, S: "bombs", M: map[string]int{"k": 1}}); err != nil {
		tb.Fatal(err)
	}
	m := messages(tb, b.Bytes())
	val := m[len(m)-1]
	// The map field: delta 1 from field S (M is field 2), count 1, key "k".
	at := bytes.Index(val, []byte{0x01, 0x01, 0x01, 'k'})
	if at < 0 {
		tb.Fatalf("no map in % x", val)
	}
	var patched wire
	patched.raw(val[:at+1]...).uint(count).raw(val[at+2:]...)
	m[len(m)-1] = patched.b
	return frame(m...)
}

// deepPayload is a GOB request for a payload nested levels deep through C,
// written directly (gob's encoder would recurse as deep).
func deepPayload(tb testing.TB, levels int) []byte {
	tb.Helper()
	defs := typeMessages(tb, payload{})
	var v wire
	v.int(gobID(tb, payload{}))
	for range levels - 1 {
		v.uint(5) // to field C (number 4) from before field 0
	}
	for range levels {
		v.uint(0)
	}
	return frame(append(defs, v.b)...)
}
