package codec_test

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
)

// gen makes random values that survive a gob round trip unchanged: gob
// sends no empty slices (they come back nil), makes empty maps of nil maps
// where it must send them, and cannot send nil pointers inside slices, maps
// or interfaces.
type gen struct {
	r *rand.Rand
}

func (g *gen) n(max int) int { return g.r.IntN(max + 1) }

func (g *gen) coin(p float64) bool { return g.r.Float64() < p }

func (g *gen) str() string {
	if g.coin(0.3) {
		return ""
	}
	const alpha = "abcdefghijklmnopqrstuvwxyz\x00\xff日本"
	var b strings.Builder
	for range g.n(20) {
		b.WriteByte(alpha[g.r.IntN(len(alpha))])
	}
	if g.coin(0.02) {
		b.WriteString(strings.Repeat("x", 300+g.n(3000)))
	}
	return b.String()
}

func (g *gen) bytes() []byte {
	n := g.n(40)
	if g.coin(0.02) {
		n = 200 + g.n(5000)
	}
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

// u64 returns an integer of a random size, often small, sometimes extreme.
func (g *gen) u64() uint64 {
	switch g.n(5) {
	case 0:
		return 0
	case 1:
		return uint64(g.n(200))
	case 2:
		return math.MaxUint64 - uint64(g.n(3))
	default:
		return g.r.Uint64() >> g.n(63)
	}
}

func (g *gen) f64() float64 {
	switch g.n(4) {
	case 0:
		return 0
	case 1:
		return math.Inf(1 - 2*g.n(1))
	case 2:
		return float64(g.n(1000)) / 8
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.n(600)-300))
}

func (g *gen) leaf() pLeaf {
	return pLeaf{
		B: g.coin(0.5), I8: int8(g.u64()), I16: int16(g.u64()), I32: int32(g.u64()),
		I64: int64(g.u64()), I: int(g.u64()), U8: uint8(g.u64()), U16: uint16(g.u64()),
		U32: uint32(g.u64()), U64: g.u64(), U: uint(g.u64()), UP: uintptr(g.u64()),
		F32: float32(g.n(1 << 20)), F64: g.f64(),
		C64:  complex(float32(g.n(100)), -float32(g.n(100))),
		C128: complex(g.f64(), g.f64()),
		S:    g.str(), By: g.bytes(),
		Arr: [3]int16{int16(g.u64()), 0, int16(g.u64())},
		BA:  [4]byte{byte(g.n(255)), 0, 0, byte(g.n(255))},
	}
}

func (g *gen) tree(depth int) *pTree {
	t := &pTree{V: int(g.u64())}
	if depth <= 1 {
		return t
	}
	for range g.n(3) {
		t.Kids = append(t.Kids, g.tree(depth-1-g.n(depth/2)))
	}
	if g.coin(0.6) {
		t.Next = g.tree(depth - 1)
	}
	if g.coin(0.3) {
		t.M = map[string]*pTree{}
		for range g.n(3) {
			t.M[g.str()] = g.tree(depth / 3)
		}
	}
	return t
}

// chain is a tree that is one deep list: nesting near the limit.
func (g *gen) chain(n int) *pTree {
	var t *pTree
	for range n {
		t = &pTree{V: g.n(9), Next: t}
	}
	return t
}

func (g *gen) payload(depth int) payload {
	p := payload{N: int(g.u64()), S: g.str(), P: g.bytes()}
	if g.coin(0.5) {
		p.M = map[string]int{}
		for range g.n(4) {
			p.M[g.str()] = int(g.u64())
		}
	}
	if depth > 1 && g.coin(0.7) {
		c := g.payload(depth - 1)
		p.C = &c
	}
	return p
}

func (g *gen) mut(depth int) *pMutA {
	a := &pMutA{N: g.n(100)}
	if depth > 1 && g.coin(0.7) {
		a.B = &pMutB{S: g.str()}
		for range g.n(2) {
			a.B.A = append(a.B.A, *g.mut(depth - 2))
		}
	}
	return a
}

// any returns a value for an interface: nil, or one of the registered types.
func (g *gen) any(depth int) any {
	if depth <= 0 {
		return g.n(10)
	}
	switch g.n(14) {
	case 0:
		return nil
	case 1:
		return int(g.u64())
	case 2:
		return g.str()
	case 3:
		return g.f64()
	case 4:
		s := []int{int(g.u64())}
		return s
	case 5:
		return g.leaf()
	case 6:
		return g.tree(depth)
	case 7:
		return g.iface(depth - 1)
	case 8:
		return gobEnc{int64(g.u64()), -1}
	case 9:
		return &binMar{g.str()}
	case 10:
		return g.payload(depth)
	case 11:
		m := map[string]int{}
		for range g.n(3) {
			m[g.str()] = g.n(5)
		}
		return m
	case 12:
		return [2]string{g.str(), g.str()}
	case 13:
		m := map[int]any{}
		for range g.n(3) {
			m[g.n(100)] = g.any(depth - 2)
		}
		return m
	}
	return *g.mut(depth)
}

func (g *gen) iface(depth int) pIface {
	var v pIface
	if g.coin(0.7) {
		v.X = g.any(depth - 1)
	}
	for range g.n(4) {
		v.L = append(v.L, g.any(depth-1))
	}
	if g.coin(0.5) {
		v.M = map[string]any{}
		for range g.n(3) {
			v.M[g.str()] = g.any(depth - 1)
		}
	}
	v.A = [2]any{g.any(depth - 2), nil}
	if g.coin(0.3) {
		v.K = map[any]int{g.n(5): 1, g.str(): 2}
		if g.coin(0.3) {
			v.K[nil] = 3
		}
	}
	return v
}

func (g *gen) all(depth int) pAll {
	v := pAll{Leaf: g.leaf(), If: g.iface(depth), Pay: g.payload(depth)}
	if g.coin(0.5) {
		l := g.leaf()
		v.PL = &l
	}
	if g.coin(0.7) {
		v.Tree = g.tree(depth)
	}
	if g.coin(0.5) {
		v.G = gobEnc{int64(g.u64()), int64(g.u64())}
	}
	if g.coin(0.5) {
		v.BM = &binMar{g.str()}
	}
	if g.coin(0.5) {
		v.MS = map[int]pLeaf{}
		for range g.n(3) {
			v.MS[int(g.u64())] = g.leaf()
		}
	}
	for range g.n(3) {
		m := map[string]int{} // in a slice, gob sends even a nil map
		for range g.n(3) {
			m[g.str()] = g.n(9)
		}
		v.SM = append(v.SM, m)
	}
	for range g.n(3) {
		var s []string
		for range g.n(3) {
			s = append(s, g.str())
		}
		v.SS = append(v.SS, s)
	}
	for range g.n(3) {
		v.E2 = append(v.E2, struct{}{})
	}
	if g.coin(0.5) {
		v.MA = map[[2]int]string{{g.n(3), -g.n(3)}: g.str()}
	}
	if g.coin(0.5) {
		v.Mut = g.mut(depth)
	}
	for range g.n(2) {
		v.GS = append(v.GS, gobEnc{int64(g.n(9)), 0})
	}
	return v
}

// value returns a random value of a random shape.
func (g *gen) value() any {
	depth := 1 + g.n(6)
	switch g.n(12) {
	case 0:
		return g.leaf()
	case 1:
		return *g.tree(depth)
	case 2:
		return *g.chain(1 + g.n(codec.DefaultMaxGobDepth-2))
	case 3:
		return g.iface(depth)
	case 4:
		return g.payload(depth)
	case 5:
		return int64(g.u64())
	case 6:
		return g.str()
	case 7:
		v := []pLeaf(nil)
		for range 1 + g.n(4) {
			v = append(v, g.leaf())
		}
		return v
	case 8:
		m := map[string]any{}
		for range g.n(5) {
			m[g.str()] = g.any(depth)
		}
		return m
	case 9:
		return gobEnc{int64(g.u64()), int64(g.u64())}
	case 10:
		return *g.mut(depth)
	}
	return g.all(depth)
}

// TestGobCheckerAcceptsRealEncodings is the no-false-refusal property: every
// value a gob encoder writes, of any shape within the limits, passes the
// checker, alone (DecodeGob) and as part of a session stream (a GobReader
// with a persistent checker), and decodes to the original.
func TestGobCheckerAcceptsRealEncodings(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	const fresh, sessions, perSession = 3000, 150, 20
	for i := range fresh {
		v := g.value()
		if d := valueDepth(reflect.ValueOf(v)); d > codec.DefaultMaxGobDepth {
			t.Fatalf("generator made a value %d deep", d)
		}
		var b bytes.Buffer
		if err := codec.EncodeGob(&b, v); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		got := reflect.New(reflect.TypeOf(v))
		err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(b.Bytes())), 0, got.Interface())
		if err != nil {
			t.Fatalf("value %d (%T, %d bytes): %v\n% x", i, v, b.Len(), err, b.Bytes())
		}
		if !reflect.DeepEqual(got.Elem().Interface(), v) {
			checkGenerator(t, b.Bytes(), v)
			t.Fatalf("value %d (%T): decoded %+v, want %+v", i, v, got.Elem().Interface(), v)
		}
	}
	for s := range sessions {
		var vals []any
		var b bytes.Buffer
		enc := gob.NewEncoder(&b)
		for range perSession {
			v := g.value()
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			vals = append(vals, v)
		}
		b.WriteString("AFTER\n")
		br := bufio.NewReaderSize(bytes.NewReader(b.Bytes()), 16+s%64)
		checker := &codec.GobChecker{MaxTypeBytes: 1 << 20}
		gr := &codec.GobReader{R: br, Check: checker}
		dec := gob.NewDecoder(gr)
		for i, v := range vals {
			gr.N = 1 << 20 // bounded afresh per value, as the endpoint does
			got := reflect.New(reflect.TypeOf(v))
			checker.Into = got.Type()
			if err := dec.Decode(got.Interface()); err != nil {
				t.Fatalf("session %d value %d (%T): %v", s, i, v, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), v) {
				t.Fatalf("session %d value %d (%T): decoded %+v, want %+v", s, i, v, got.Elem().Interface(), v)
			}
		}
		if line, err := codec.ReadLine(br, 10); err != nil || string(line) != "AFTER" {
			t.Fatalf("session %d: after the values: %q, %v", s, line, err)
		}
	}
}

// checkGenerator fails if v does not survive a gob round trip without the
// checker: then the generator, not the checker, is wrong.
func checkGenerator(t *testing.T, enc []byte, v any) {
	t.Helper()
	got := reflect.New(reflect.TypeOf(v))
	if err := gob.NewDecoder(bytes.NewReader(enc)).Decode(got.Interface()); err != nil || !reflect.DeepEqual(got.Elem().Interface(), v) {
		t.Fatalf("generator: %T does not survive gob itself (%v): %+v, want %+v", v, err, got.Elem().Interface(), v)
	}
}

// TestGobCheckerAcceptsQuick is the same property over testing/quick-style
// loops on single shapes, each with a fresh encoder, so that a refusal points
// at one shape.
func TestGobCheckerAcceptsQuick(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(3, 4))}
	shapes := map[string]func() any{
		"leaf":    func() any { return g.leaf() },
		"tree":    func() any { return *g.tree(1 + g.n(8)) },
		"iface":   func() any { return g.iface(1 + g.n(5)) },
		"payload": func() any { return g.payload(1 + g.n(10)) },
		"mutual":  func() any { return *g.mut(1 + g.n(10)) },
		"all":     func() any { return g.all(1 + g.n(4)) },
		"any": func() any {
			v := g.any(1 + g.n(5))
			if v == nil {
				return pIface{}
			}
			return v
		},
	}
	for name, f := range shapes {
		t.Run(name, func(t *testing.T) {
			for i := range 300 {
				v := f()
				var b bytes.Buffer
				if err := codec.EncodeGob(&b, v); err != nil {
					t.Fatal(err)
				}
				got := reflect.New(reflect.TypeOf(v))
				if err := codec.DecodeGob(bufio.NewReader(bytes.NewReader(b.Bytes())), 0, got.Interface()); err != nil {
					t.Fatalf("%s %d (%T): %v\n%+v\n% x", name, i, v, err, v, b.Bytes())
				}
				if !reflect.DeepEqual(got.Elem().Interface(), v) {
					t.Fatalf("%s %d: decoded %+v, want %+v", name, i, got.Elem().Interface(), v)
				}
			}
		})
	}
}

// TestGobCheckerUntypedRefusals measures the checker without Into: it then
// follows every reading gob could take, and refuses a value if the reading
// of a receiver without one of its fields would be dangerous, even if the
// actual receiver has the field. The rate for these interface-heavy shapes
// is small; this guards it.
func TestGobCheckerUntypedRefusals(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(5, 6))}
	const n = 4000
	refusedN := 0
	for i := range n {
		v := g.value()
		var b bytes.Buffer
		if err := codec.EncodeGob(&b, v); err != nil {
			t.Fatal(err)
		}
		got := reflect.New(reflect.TypeOf(v))
		gr := &codec.GobReader{R: bufio.NewReader(&b), N: 1 << 30, Check: &codec.GobChecker{}}
		err := gob.NewDecoder(gr).Decode(got.Interface())
		switch {
		case errors.Is(err, codec.ErrGobRefused):
			refusedN++
		case err != nil:
			t.Fatalf("value %d: %v", i, err)
		case !reflect.DeepEqual(got.Elem().Interface(), v):
			t.Fatalf("value %d: decoded %+v, want %+v", i, got.Elem().Interface(), v)
		}
	}
	t.Logf("untyped: %d of %d values refused", refusedN, n)
	if refusedN > n/200 {
		t.Errorf("untyped: %d of %d values refused, want at most 0.5%%", refusedN, n)
	}
}
