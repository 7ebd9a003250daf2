package codec_test

import (
	"encoding/gob"
	"fmt"
	"reflect"
)

// The shapes of the gob tests: every kind of value gob sends, nested,
// recursive, behind interfaces, and with methods of their own.

type pLeaf struct {
	B    bool
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	I    int
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	U    uint
	UP   uintptr
	F32  float32
	F64  float64
	C64  complex64
	C128 complex128
	S    string
	By   []byte
	Arr  [3]int16
	BA   [4]byte
}

// pTree is recursive through a slice, a pointer and a map.
type pTree struct {
	V    int
	Kids []*pTree
	Next *pTree
	M    map[string]*pTree
}

// pIface holds interface values in every position gob allows.
type pIface struct {
	X any
	L []any
	M map[string]any
	A [2]any
	K map[any]int
}

// pMutA and pMutB are mutually recursive.
type pMutA struct {
	B *pMutB
	N int
}

type pMutB struct {
	A []pMutA
	S string
}

// gobEnc sends itself with GobEncode: its fields are unexported.
type gobEnc struct{ a, b int64 }

func (g gobEnc) GobEncode() ([]byte, error) {
	return fmt.Appendf(nil, "%d,%d", g.a, g.b), nil
}

func (g *gobEnc) GobDecode(b []byte) error {
	_, err := fmt.Sscanf(string(b), "%d,%d", &g.a, &g.b)
	return err
}

// binMar sends itself with MarshalBinary.
type binMar struct{ s string }

func (m binMar) MarshalBinary() ([]byte, error) { return []byte(m.s), nil }
func (m *binMar) UnmarshalBinary(b []byte) error {
	m.s = string(b)
	return nil
}

type pAll struct {
	Leaf  pLeaf
	PL    *pLeaf
	Tree  *pTree
	If    pIface
	G     gobEnc
	BM    *binMar
	MS    map[int]pLeaf
	SM    []map[string]int
	SS    [][]string
	Empty struct{}
	E2    []struct{}
	MA    map[[2]int]string
	Pay   payload
	Mut   *pMutA
	GS    []gobEnc
}

func init() {
	for _, v := range []any{
		pLeaf{}, &pTree{}, pIface{}, gobEnc{}, &binMar{}, payload{}, pAll{},
		map[string]int{}, [2]string{}, pMutA{}, []pLeaf(nil), map[int]any{},
	} {
		gob.Register(v)
	}
}

// valueDepth is how deep v nests, counted as the checker counts: each
// struct, slice, array, map and interface value holding something is one
// level; pointers are not; []byte, strings and GobEncoders are leaves.
func valueDepth(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return valueDepth(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return 1 + valueDepth(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[gobEnc]() {
			return 0
		}
		d := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				d = max(d, valueDepth(v.Field(i)))
			}
		}
		return 1 + d
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			return 0
		}
		if v.Kind() == reflect.Slice && v.IsNil() {
			return 0
		}
		d := 0
		for i := range v.Len() {
			d = max(d, valueDepth(v.Index(i)))
		}
		return 1 + d
	case reflect.Map:
		if v.IsNil() {
			return 0
		}
		d := 0
		for it := v.MapRange(); it.Next(); {
			d = max(d, valueDepth(it.Key()), valueDepth(it.Value()))
		}
		return 1 + d
	}
	return 0
}
