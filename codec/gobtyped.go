package codec

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"reflect"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The checker follows gob's decoder more closely where it knows the Go types
// gob decodes into: a struct field the destination lacks is skipped, one it
// has is decoded, so only one reading of such a field is possible.

// A localType is a Go type gob decodes into, reduced to what decides how gob
// reads the wire.
type localType struct {
	rt        reflect.Type // as gob gets it (maybe a pointer)
	base      reflect.Type // rt without its pointers
	kind      uint8        // lk*
	alen      int          // lkArray
	elem, key int32        // lkSlice, lkArray, lkMap: local types, or lPending
	fields    map[string]int32
}

const (
	lkOther uint8 = iota // a basic type, []byte, or a type gob cannot decode into
	lkStruct
	lkSlice
	lkArray
	lkMap
	lkIface
	lkExt // GobDecoder or BinaryUnmarshaler
)

// Special local type indexes.
const (
	lUnknown = -1 // not known: every reading gob could take is followed
	lIgnore  = -2 // a struct field the destination lacks: gob skips it
	lPending = -3 // not computed yet
)

// maxLocalFields bounds the wire field names remembered per local struct: the
// names come from the peer.
const maxLocalFields = 256

var (
	gobDecoderType        = reflect.TypeFor[gob.GobDecoder]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// local returns the index of the local type for rt.
func (c *GobChecker) local(rt reflect.Type) int32 {
	if i, ok := c.localIdx[rt]; ok {
		return i
	}
	if c.localIdx == nil {
		c.localIdx = make(map[reflect.Type]int32)
	}
	l := localType{rt: rt, base: rt, elem: lPending, key: lPending}
	for i := 0; l.base.Kind() == reflect.Pointer && i < 64; i++ {
		l.base = l.base.Elem()
	}
	switch b := l.base; {
	case implements(rt, gobDecoderType) || implements(rt, binaryUnmarshalerType):
		l.kind = lkExt
	case b.Kind() == reflect.Struct:
		l.kind = lkStruct
	case b.Kind() == reflect.Slice && b.Elem().Kind() != reflect.Uint8:
		l.kind = lkSlice
	case b.Kind() == reflect.Array:
		l.kind, l.alen = lkArray, b.Len()
	case b.Kind() == reflect.Map:
		l.kind = lkMap
	case b.Kind() == reflect.Interface:
		l.kind = lkIface
	}
	i := int32(len(c.locals))
	c.locals = append(c.locals, l)
	c.localIdx[rt] = i
	return i
}

// implements is gob's implementsInterface: whether typ, or what it points
// to, or a pointer to it, has the methods of iface.
func implements(typ, iface reflect.Type) bool {
	for rt := typ; ; rt = rt.Elem() {
		if rt.Implements(iface) {
			return true
		}
		if rt.Kind() != reflect.Pointer {
			break
		}
	}
	return typ.Kind() != reflect.Pointer && reflect.PointerTo(typ).Implements(iface)
}

// elemLocal returns the local type of the elements (or, with key, the keys)
// of local type lt.
func (c *GobChecker) elemLocal(lt int32, key bool) int32 {
	if lt < 0 {
		return lUnknown
	}
	l := &c.locals[lt]
	switch {
	case key && l.key == lPending:
		k := c.local(l.base.Key())
		c.locals[lt].key = k
		return k
	case key:
		return l.key
	case l.elem == lPending:
		e := c.local(l.base.Elem())
		c.locals[lt].elem = e
		return e
	}
	return l.elem
}

// fieldLocal returns the local type of the field of local struct lt that gob
// decodes the wire field called name into, or lIgnore if gob skips it.
func (c *GobChecker) fieldLocal(lt int32, name []byte) int32 {
	if lt < 0 {
		return lUnknown
	}
	if i, ok := c.locals[lt].fields[string(name)]; ok {
		return i
	}
	// As gob's compileDec.
	f, ok := c.locals[lt].base.FieldByName(string(name))
	i := int32(lIgnore)
	if r, _ := utf8.DecodeRune(name); ok && unicode.IsUpper(r) {
		i = c.local(f.Type)
	}
	l := &c.locals[lt]
	if l.fields == nil {
		l.fields = make(map[string]int32)
	}
	if len(l.fields) < maxLocalFields {
		l.fields[string(name)] = i
	}
	return i
}

// fit returns lt if gob decodes a value of the wire type at index ref into
// local type lt, and lUnknown if the checker cannot tell (gob then fails
// anyway: the types do not match).
func (c *GobChecker) fit(lt, ref int32) int32 {
	if lt < 0 {
		return lUnknown
	}
	l := &c.locals[lt]
	t := &c.tt[ref]
	ok := false
	switch t.kind {
	case kStruct:
		ok = l.kind == lkStruct && t.id >= tidFirstUser && !t.hidden
	case kSlice:
		ok = l.kind == lkSlice
	case kArray:
		ok = l.kind == lkArray && int64(l.alen) == t.alen
	case kMap:
		ok = l.kind == lkMap
	case kInterface:
		ok = l.kind == lkIface
	}
	if !ok {
		return lUnknown
	}
	return lt
}

// concreteLocal returns the local type gob decodes an interface value with
// the concrete type called name into: the type registered under that name.
func (c *GobChecker) concreteLocal(name []byte) int32 {
	if lt, ok := c.names[string(name)]; ok {
		return lt
	}
	lt := int32(lUnknown)
	if rt := registered(name, &c.probes); rt != nil {
		lt = c.local(rt)
	}
	if c.names == nil {
		c.names = make(map[string]int32)
	}
	if len(c.names) < maxLocalFields {
		c.names[string(name)] = lt
	}
	return lt
}

// The types gob has registered, as found so far: name -> type.
var registry struct {
	sync.RWMutex
	m map[string]reflect.Type
}

// maxProbes bounds the names a checker asks gob about per stream, apart
// from those found registered: a probe costs a few microseconds.
const maxProbes = 8

// registered returns the type gob has registered under name, if it is a
// struct or a slice of structs (the types whose fields gob may skip), or
// nil.
//
// gob's registry is not exported. gob itself is asked: it decodes a value
// held in an interface and named name, of an empty struct type (or a slice of
// one); a registered struct type (or slice of structs) decodes from it, and
// the value decoded has the type.
func registered(name []byte, probes *int) reflect.Type {
	registry.RLock()
	rt, ok := registry.m[string(name)]
	registry.RUnlock()
	if ok {
		return rt
	}
	if *probes >= maxProbes {
		return nil
	}
	*probes++
	for _, probe := range [][]byte{probeStruct, probeSlice} {
		if rt := probeName(probe, name); rt != nil {
			registry.Lock()
			if registry.m == nil {
				registry.m = make(map[string]reflect.Type)
			}
			registry.m[string(name)] = rt
			registry.Unlock()
			return rt
		}
	}
	return nil
}

// Type definitions for the probes: type 64 is struct{} ("p"); or type 64 is
// []65 and 65 is struct{} ("q"). Each message has its length prefix.
var (
	probeStruct = []byte{
		0x0c, 0x7f, 0x03, 0x01, 0x01, 0x01, 'p', 0x01, 0xff, 0x80, 0x00, 0x00, 0x00,
	}
	probeSlice = []byte{
		0x0f, 0x7f, 0x02, 0x01, 0x01, 0x01, 'p', 0x01, 0xff, 0x80, 0x00, 0x01, 0xff, 0x82, 0x00, 0x00,
		0x0d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x01, 'q', 0x01, 0xff, 0x82, 0x00, 0x00, 0x00,
	}
)

func probeName(defs, name []byte) (rt reflect.Type) {
	defer func() {
		if recover() != nil {
			rt = nil
		}
	}()
	// The value: an interface (8) with field delta 0, the name, concrete
	// type 64, the value's length, and the value: a struct's end, or a
	// slice's zero delta and zero count.
	var val []byte
	val = append(val, 0x10, 0x00)
	val = appendGobUint(val, uint64(len(name)))
	val = append(val, name...)
	val = append(val, 0xff, 0x80)
	if len(defs) == len(probeStruct) {
		val = append(val, 0x01, 0x00)
	} else {
		val = append(val, 0x02, 0x00, 0x00)
	}
	var b bytes.Buffer
	b.Write(defs)
	b.Write(appendGobUint(nil, uint64(len(val))))
	b.Write(val)
	var x any
	if err := gob.NewDecoder(&b).Decode(&x); err != nil || x == nil {
		return nil
	}
	return reflect.TypeOf(x)
}

func appendGobUint(b []byte, x uint64) []byte {
	if x <= 0x7f {
		return append(b, byte(x))
	}
	var buf [8]byte
	n := 8
	for x > 0 {
		n--
		buf[n] = byte(x)
		x >>= 8
	}
	b = append(b, byte(-(8 - n)))
	return append(b, buf[n:]...)
}
