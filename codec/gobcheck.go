package codec

import (
	"math"
	"reflect"
	"slices"

	"github.com/pkg/errors"
)

// DefaultMaxGobDepth is the nesting limit used where none is given.
const DefaultMaxGobDepth = 100

// A GobChecker checks the messages of one gob stream before encoding/gob
// decodes them. It remembers the types the stream defined. The zero value uses
// the defaults.
//
// Check is given each message body in stream order. It walks the message as
// the gob wire format defines it (type definitions and values) and refuses it,
// with an error that wraps ErrGobRefused, when
//
//   - a count (map entries, slice or array elements, string, []byte or
//     GobEncoder length, interface value length) is larger than the bytes
//     left for it, counting at least two bytes per map entry and one per
//     element;
//   - a value nests deeper than MaxDepth (structs, slices, arrays, maps and
//     interface values each count one level), or a type reaches other types
//     more than MaxDepth deep (gob compiles types recursively; a recursive
//     type is fine, only the longest chain of distinct types counts, a group
//     of mutually recursive types by its size);
//   - the type definitions of the stream add up to more than MaxTypeBytes;
//   - anything at all is malformed, or is not what encoding/gob's Encoder
//     writes (a value type or field type gob itself never sends, an
//     undefined type, a type defined twice, trailing bytes, and so on).
//
// A refusal is final: the stream cannot be resynchronised, so every later
// Check returns the same error until Reset. Check never panics, and its work
// is linear in the message.
//
// # Readings
//
// gob reads a value in one of two ways: decoding it into a Go value, or
// skipping it, which it does to a struct field the destination lacks. The two
// part ways inside interface values: a skipped interface value is dropped by
// its byte count while a decoded one is read item by item, and a skipped nil
// interface value makes gob read on as if a type and a value followed (gob
// misreads real encodings there). So a message can mean different things to
// gob depending on the destination type, and a peer can hide a bomb in bytes
// that the decoding reading sees as, say, a type name.
//
// With Into set (DecodeGob sets it), the checker knows which fields gob
// decodes and which it skips, and follows exactly the reading gob takes. Inside
// an interface value gob decodes into the type registered under the value's
// name; the checker asks gob itself which type that is (for a struct, or a
// slice of structs: the types whose fields gob may skip). Where it cannot
// know (Into is nil, or a registered type it cannot identify), it follows
// every reading gob could take, within a bounded amount of extra work per
// message, and carries readings that go on into the next message; it refuses
// the message if any of them breaks the rules. Values whose only dangerous
// reading is one their receiver would not take may then be refused: in the
// package's tests, about 1 in 1000 random values with nil interface values
// in slices and maps, none when the type is known.
//
// After gob's Decode returns an error the stream must be dropped: a reading
// in which gob fails is not followed further.
//
// The bounds are relative to the checked bytes, so what encoding/gob
// allocates for an accepted message is proportional to its size, times a
// factor that depends on the receiving Go types (a slice element that is small
// on the wire may be large in memory).
type GobChecker struct {
	MaxDepth     int   // nesting limit; zero means DefaultMaxGobDepth
	MaxTypeBytes int64 // budget for the bytes of all type-definition messages over the checker's life; zero or less means no budget

	// Into is the type of what gob's Decode is given for the next value (a
	// pointer), or nil if unknown. It is read when a value starts. Knowing
	// it, the checker knows which struct fields gob decodes and which it
	// skips (those the destination lacks), and follows just the reading gob
	// takes; without it, it follows every reading gob could take (see
	// above), which costs more and can refuse a value for a reading the
	// receiver would not take. DecodeGob sets it.
	Into reflect.Type
	skip bool // the next value is decoded with Decode(nil): gob skips it

	// Go types gob decodes into (see gobtyped.go); they outlive Reset.
	locals   []localType
	localIdx map[reflect.Type]int32
	names    map[string]int32 // interface type names -> local types
	probes   int              // names asked of gob since Reset

	tt        []gobType       // builtin types at [0, firstUser), then the stream's types in definition order
	ids       map[int32]int32 // the stream's type ids -> index in tt
	idArena   []int32         // type ids referenced by the stream's types
	nameArena []byte          // the field names of the stream's struct types
	fnArena   [][]byte
	planArena []int32
	refArena  []int32 // the same, resolved to indexes in tt
	typeBytes int64
	poisoned  map[int32]forkType // ids other readings defined, and where (see defineForkType)
	hidden    int                // types other readings defined

	main    gobParser // the decoding reading; its stack persists between messages while a value is pending
	pending bool
	err     error  // sticky refusal
	msgSeq  uint64 // messages checked
	once    bool   // the stream is one value (DecodeGob): gob reads nothing after it
	done    bool   // the last message completed a value

	// Other readings that go on into the next message, and those that will
	// go on past this one.
	carry, carryNext []*gobParser

	// Per Check.
	msg      []byte
	queue    []*gobParser // other readings waiting to be followed
	free     []*gobParser
	work     int  // steps left for the other readings
	forkDone bool // another reading finished the top-level value

	// Validation scratch.
	epoch  int32
	vstack []vframe
	sccs   []int32
}

// A gobType is a wire type: a builtin or one the stream defined.
type gobType struct {
	kind   uint8
	state  uint8 // validation state: vNew, vDone, vTooDeep
	iface  bool  // an interface type is reachable from this type
	id     int32
	alen   int64    // array length
	kids   []int32  // struct fields; [elem] of a slice or array; [key, elem] of a map (type ids)
	fnames [][]byte // struct field names (not for another reading's types)
	plan   []int32  // the local types of the fields, for local struct planLT
	planLT int32
	rkids  []int32 // kids, resolved to indexes in tt once validated
	min    uint64  // least bytes a value of this type takes on the wire
	depth  int32   // types nested under and including this one, counting a recursive group by its size
	maxRef int32   // highest index in tt reachable from this type
	defMsg uint64  // where the definition was: message number and position
	defPos int
	hidden bool // another reading's own type (see defineForkType)

	// Tarjan scratch, valid when ep == the checker's epoch.
	ep            int32
	index, low    int32
	onStack, done bool
}

// Kinds of wire type.
const (
	kNone uint8 = iota
	kBool
	kInt
	kUint
	kFloat
	kBytes
	kString
	kComplex
	kInterface
	kStruct
	kSlice
	kArray
	kMap
	kGobEnc // GobEncoder, BinaryMarshaler or TextMarshaler: a byte count, then bytes
	kMulti  // another reading's type that describes several kinds (gob picks one by the destination)
)

// Validation states.
const (
	vNew uint8 = iota
	vDone
	vTooDeep
	vBad // reaches a type the checker cannot follow
)

// gob's predefined type ids (encoding/gob/type.go): 1 to 8 are the basic
// types, 16 to 24 the structs that describe types, and the rest below 64 are
// reserved.
const (
	tidInterface   = 8
	tidWireType    = 16
	tidLastBuiltin = 24
	tidFirstUser   = 64
)

// builtinTypes is the start of every checker's type table.
var builtinTypes = func() []gobType {
	tt := make([]gobType, tidLastBuiltin+1)
	for id := int32(1); id <= tidInterface; id++ {
		tt[id] = gobType{kind: uint8(id), state: vDone, id: id, min: 1, maxRef: id, iface: id == tidInterface}
	}
	// The type-describing structs, as gob's init builds them: wireType (16)
	// has the fields ArrayT, SliceT, StructT, MapT, GobEncoderT,
	// BinaryMarshalerT and TextMarshalerT; 17 is arrayType, 18 CommonType,
	// 19 sliceType, 20 structType, 21 fieldType, 22 []fieldType, 23 mapType
	// and 24 gobEncoderType. typeId and int fields are ints (2), names are
	// strings (6).
	def := func(id int32, kind uint8, depth int32, kids ...int32) {
		tt[id] = gobType{kind: kind, state: vDone, id: id, kids: kids, rkids: kids, min: 1, depth: depth, maxRef: tidLastBuiltin}
	}
	def(18, kStruct, 1, 6, 2)
	def(17, kStruct, 2, 18, 2, 2)
	def(19, kStruct, 2, 18, 2)
	def(21, kStruct, 1, 6, 2)
	def(22, kSlice, 2, 21)
	def(20, kStruct, 3, 18, 22)
	def(23, kStruct, 2, 18, 2, 2)
	def(24, kStruct, 2, 18)
	def(16, kStruct, 4, 17, 19, 20, 23, 24, 24, 24)
	return tt
}()

// A gobParser is one reading of the stream: a stack of the values it is
// inside, and a position in the current message.
type gobParser struct {
	stack  []frame
	pos    int
	nIface int        // interface frames on the stack
	snap   int32      // types at indexes below snap are visible to this reading
	fork   bool       // not the decoding reading: what makes gob fail ends it quietly
	sticky bool       // gob has recorded an error but reads on (forks only)
	local  []forkType // types this reading defined on its own (forks only)
	shared []int32    // types of the decoding reading at or past snap that this one read too
}

// localIndex returns the index in p.local of type id, or -1.
func (p *gobParser) localIndex(id int32) int {
	for i := range p.local {
		if p.local[i].id == id {
			return i
		}
	}
	return -1
}

// A forkType is a type another reading defined where the decoding reading
// did not (yet).
type forkType struct {
	id  int32
	msg uint64
	pos int
	ref int32 // its index in tt, where it is hidden from the other readings
}

// A frame is a value being read.
type frame struct {
	kind  uint8 // fStruct, fList, fMap or fIface
	mode  uint8 // modeI: gob is skipping it; modeCand: see spawnIgnore
	phase uint8 // fMap: 1 when an element is next; fIface: the if* phase
	flags uint8 // fIface: the iface* flags
	typ   int32 // index in tt: the struct or container type; fIface: the concrete type
	lt    int32 // the local type gob decodes into, or lUnknown; fIface: the interface's
	clt   int32 // fIface: the concrete value's local type
	field int32 // fStruct: the last field number read
	left  uint64
	start int    // fIface: where the concrete value starts
	ilen  uint64 // fIface: the value's byte count
	snap  int32  // fIface: the types visible when the value started
}

const (
	fStruct uint8 = iota
	fList
	fMap
	fIface
)

const (
	modeU    uint8 = 0 // decoded, or skipped
	modeI    uint8 = 1 // skipped
	modeCand uint8 = 2 // skipped in this reading, but a field of it may be what gob skips
)

// Interface phases and flags.
const (
	ifName  uint8 = iota // the concrete type's name is next
	ifSeq                // in the type sequence: type definitions, then the concrete type id
	ifLen                // the value's byte count is next
	ifValue              // reading the concrete value

	ifTyped uint8 = 1 // a type definition was read in the type sequence
	ifEmb   uint8 = 2 // the value contains a type definition
	ifIgnOK uint8 = 4 // skipping the value could go on (forks)
)

// Outcomes of a reading.
const (
	outDone    = iota // the top-level value is complete
	outSuspend        // the value goes on in the next message
	outCarry          // another reading goes on into the next message
)

// Bounds on the extra readings of one message.
const (
	forkWorkPerByte = 16   // steps per byte of the message
	forkWorkBase    = 4096 // plus this many
	// forkSlack is how far a count in another reading may exceed the bytes
	// left before it is refused: gob allocates for the count before it finds
	// the bytes missing, and a count this small costs little.
	forkSlack = 256
	// maxCarried is how many other readings may go on into the next message.
	maxCarried = 16
	// maxHidden is how many types other readings may define over a stream.
	maxHidden = 1 << 16
	// maxNameLen is the longest interface type name gob's decoder accepts.
	maxNameLen = 1024
)

// errDeath ends another reading quietly: gob fails there.
var errDeath = errors.New("codec: reading ends")

// Reset forgets the stream's types and any refusal, keeping the memory for
// reuse, so that the checker can check a new stream.
func (c *GobChecker) Reset() {
	c.init()
	c.tt = c.tt[:len(builtinTypes)]
	clear(c.ids)
	clear(c.poisoned)
	c.hidden = 0
	c.idArena = c.idArena[:0]
	c.nameArena, c.fnArena, c.planArena = c.nameArena[:0], c.fnArena[:0], c.planArena[:0]
	c.refArena = c.refArena[:0]
	c.typeBytes = 0
	c.main.stack = c.main.stack[:0]
	c.main.nIface = 0
	c.pending = false
	c.err = nil
	c.once, c.done, c.skip = false, false, false
	c.probes = 0
	c.dropCarried()
}

func (c *GobChecker) dropCarried() {
	c.free = append(c.free, c.carry...)
	c.free = append(c.free, c.carryNext...)
	clear(c.carry)
	clear(c.carryNext)
	c.carry, c.carryNext = c.carry[:0], c.carryNext[:0]
}

// Pending reports whether the last message checked ended inside a value,
// which gob then continues in the next message (it does so when an interface
// value brings a new type). The counts of a pending message are bounded only
// by the bytes of the value's later messages, so it must not be handed to
// gob before the value's last message has been checked. GobReader holds
// such messages back.
func (c *GobChecker) Pending() bool { return c.pending && c.err == nil }

func (c *GobChecker) init() {
	if len(c.tt) == 0 {
		c.tt = append(c.tt, builtinTypes...)
	}
	if c.ids == nil {
		c.ids = make(map[int32]int32)
	}
}

func (c *GobChecker) maxDepth() int {
	if c.MaxDepth <= 0 {
		return DefaultMaxGobDepth
	}
	return c.MaxDepth
}

// Check checks one message of the stream: its body, after its length prefix.
// A nil error means encoding/gob may be given the message, unless Pending
// reports that the value goes on in the next message.
func (c *GobChecker) Check(msg []byte) error {
	if c.err != nil {
		return c.err
	}
	c.init()
	c.msg = msg
	c.msgSeq++
	c.forkDone, c.done = false, false
	c.work = forkWorkPerByte*len(msg) + forkWorkBase
	err := c.check()
	if err == nil {
		// The readings that went on past the last message.
		for _, q := range c.carry {
			q.pos = 0
			c.queue = append(c.queue, q)
		}
		clear(c.carry)
		c.carry = c.carry[:0]
		err = c.drain()
	}
	if err == nil && c.pending && c.forkDone && !c.once {
		err = c.refuse("one reading of the stream ends a value where another does not")
	}
	c.msg = nil
	c.free = append(c.free, c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	c.carry, c.carryNext = c.carryNext, c.carry
	if err == nil && !c.pending && c.once {
		// gob is given nothing after the value: readings that want more
		// fail there.
		c.dropCarried()
	}
	if err != nil {
		c.err = err
		c.pending = false
		c.main.stack = c.main.stack[:0]
		c.main.nIface = 0
		c.dropCarried()
	}
	return err
}

func (c *GobChecker) check() error {
	p := &c.main
	p.pos, p.snap, p.fork, p.sticky = 0, math.MaxInt32, false, false
	if len(c.msg) == 0 {
		return c.refuse("empty message")
	}
	if !c.pending {
		id, err := c.readID(p)
		if err != nil {
			return err
		}
		if id < 0 {
			// A type definition, alone in its message.
			if err := c.defineType(p, -id, 0); err != nil {
				return err
			}
			if p.pos != len(c.msg) {
				return c.refuse("%d bytes after the definition of type %d", len(c.msg)-p.pos, -id)
			}
			return nil
		}
		if err := c.startTop(p, id); err != nil {
			return err
		}
	}
	out, err := c.run(p)
	if err != nil {
		return err
	}
	switch out {
	case outDone:
		if p.pos != len(c.msg) {
			return c.refuse("%d bytes after the value", len(c.msg)-p.pos)
		}
		c.pending, c.done = false, true
	case outSuspend:
		c.pending = true
	}
	return nil
}

// forkEnds is called when another reading q completes the value: gob's
// decoder may then go on with q's types. A type q defined on its own must
// not be defined by the decoding reading anywhere else, now or later.
func (c *GobChecker) forkEnds(q *gobParser) error {
	if c.once {
		return nil // gob reads nothing more
	}
	for _, t := range q.local {
		site := forkType{msg: t.msg, pos: t.pos}
		if ref, ok := c.lookup(t.id); ok {
			if c.tt[ref].defMsg != t.msg || c.tt[ref].defPos != t.pos {
				return c.refuse("two readings of the stream define type %d differently", t.id)
			}
			continue
		}
		if old, ok := c.poisoned[t.id]; ok && (old.msg != site.msg || old.pos != site.pos) {
			site.pos = -1 // defined in two places: the decoding reading matches neither
		}
		if c.poisoned == nil {
			c.poisoned = make(map[int32]forkType)
		}
		c.poisoned[t.id] = site
	}
	return nil
}

// startTop starts the top-level value of type id.
func (c *GobChecker) startTop(p *gobParser, id int32) error {
	if id == 0 || id > tidInterface && id < tidFirstUser {
		return c.refuse("value of type %d, which gob does not send", id)
	}
	ref, err := c.valueType(id)
	if err != nil {
		return err
	}
	mode, lt := modeU, int32(lUnknown)
	switch {
	case c.skip:
		mode = modeI
	case c.Into != nil:
		lt = c.local(c.Into)
	}
	if c.tt[ref].kind == kStruct {
		return c.push(p, frame{kind: fStruct, mode: mode, typ: ref, lt: c.fit(lt, ref), field: -1})
	}
	// Anything else is sent as a struct field would be, with field delta 0.
	if d, ok := c.readUint(p); !ok || d != 0 {
		return c.refuse("top-level value of type %d without its zero field delta", id)
	}
	return c.startValue(p, ref, mode, lt)
}

// valueType returns the index of type id, which a value of the main reading
// uses, after validating it.
func (c *GobChecker) valueType(id int32) (int32, error) {
	ref, ok := c.lookup(id)
	if !ok {
		return 0, c.refuse("value of undefined type %d", id)
	}
	switch c.validate(ref, nil) {
	case vDone:
		return ref, nil
	case vTooDeep:
		return 0, c.refuse("type %d nests deeper than %d", id, c.maxDepth())
	}
	return 0, c.refuse("type %d refers to an undefined type", id)
}

// lookup returns the index in tt of type id.
func (c *GobChecker) lookup(id int32) (int32, bool) {
	switch {
	case id >= 1 && id <= tidInterface, id >= tidWireType && id <= tidLastBuiltin:
		return id, true
	case id < tidFirstUser:
		return 0, false
	}
	ref, ok := c.ids[id]
	return ref, ok
}

// run follows reading p until its value is complete, it needs the next
// message, or it fails.
func (c *GobChecker) run(p *gobParser) (int, error) {
	for {
		if len(p.stack) == 0 {
			return outDone, nil
		}
		if p.fork {
			if c.work--; c.work < 0 {
				return 0, c.refuse("too much work following the readings of a message")
			}
		}
		var err error
		switch p.stack[len(p.stack)-1].kind {
		case fStruct:
			err = c.stepStruct(p)
		case fList:
			err = c.stepList(p)
		case fMap:
			err = c.stepMap(p)
		case fIface:
			var out int
			out, err = c.stepIface(p)
			if err == nil && out != outDone {
				return out, nil
			}
		}
		if err != nil {
			return 0, err
		}
		if !p.fork && len(c.queue) > 0 {
			if err := c.drain(); err != nil {
				return 0, err
			}
		}
	}
}

// drain follows the other readings waiting in the queue, and those they
// start in turn.
func (c *GobChecker) drain() error {
	for len(c.queue) > 0 {
		q := c.queue[len(c.queue)-1]
		c.queue = c.queue[:len(c.queue)-1]
		out, err := c.run(q)
		if err == nil && out == outCarry {
			if len(c.carryNext) >= maxCarried {
				return c.refuse("more than %d readings of the stream go on into the next message", maxCarried)
			}
			c.carryNext = append(c.carryNext, q)
			continue
		}
		c.free = append(c.free, q)
		switch {
		case err == errDeath:
		case err != nil:
			return err
		default:
			c.forkDone = true
			if err := c.forkEnds(q); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *GobChecker) stepStruct(p *gobParser) error {
	f := &p.stack[len(p.stack)-1]
	if p.pos == len(c.msg) {
		if !p.fork {
			return c.refuse("message ends inside a struct")
		}
		c.pop(p) // gob ends a struct at the end of its buffer
		return nil
	}
	d, ok := c.readUint(p)
	if !ok {
		return c.fail(p, "bad field delta")
	}
	if d == 0 {
		c.pop(p)
		return nil
	}
	t := &c.tt[f.typ]
	if d > uint64(len(t.kids)) || int64(f.field)+int64(d) >= int64(len(t.kids)) {
		return c.fail(p, "field delta %d out of range", d)
	}
	f.field += int32(d)
	mode, lt := f.mode&modeI, int32(lUnknown)
	if mode == modeU && f.lt >= 0 {
		if lt = c.fieldPlan(t, f.lt)[f.field]; lt == lIgnore {
			mode, lt = modeI, lUnknown // the destination has no such field
		}
	}
	return c.startValue(p, t.rkids[f.field], mode, lt)
}

// fieldPlan returns the local types of the fields of wire struct t for
// local struct lt (see fieldLocal), remembering the last.
func (c *GobChecker) fieldPlan(t *gobType, lt int32) []int32 {
	if t.planLT == lt && t.plan != nil {
		return t.plan
	}
	start := len(c.planArena)
	for _, name := range t.fnames {
		c.planArena = append(c.planArena, c.fieldLocal(lt, name))
	}
	t.plan, t.planLT = c.planArena[start:len(c.planArena):len(c.planArena)], lt
	return t.plan
}

func (c *GobChecker) stepList(p *gobParser) error {
	f := &p.stack[len(p.stack)-1]
	if f.left == 0 {
		c.pop(p)
		return nil
	}
	if p.pos == len(c.msg) {
		return c.fail(p, "message ends with %d elements to go", f.left)
	}
	f.left--
	return c.startValue(p, c.tt[f.typ].rkids[0], f.mode&modeI, c.elemLocal(f.lt, false))
}

func (c *GobChecker) stepMap(p *gobParser) error {
	f := &p.stack[len(p.stack)-1]
	t := &c.tt[f.typ]
	if f.phase == 0 {
		if f.left == 0 {
			c.pop(p)
			return nil
		}
		f.left--
		f.phase = 1
		return c.startValue(p, t.rkids[0], f.mode&modeI, c.elemLocal(f.lt, true))
	}
	f.phase = 0
	return c.startValue(p, t.rkids[1], f.mode&modeI, c.elemLocal(f.lt, false))
}

// startValue reads a value of the type at index ref, or pushes a frame for
// it, to be decoded into local type lt or (modeI) skipped.
func (c *GobChecker) startValue(p *gobParser, ref int32, mode uint8, lt int32) error {
	t := &c.tt[ref]
	if mode == modeU {
		lt = c.fit(lt, ref)
	} else {
		lt = lUnknown
	}
	switch t.kind {
	case kBool, kInt, kUint, kFloat:
		if _, ok := c.readUint(p); !ok {
			return c.fail(p, "bad number")
		}
	case kComplex:
		_, ok1 := c.readUint(p)
		_, ok2 := c.readUint(p)
		if !ok1 || !ok2 {
			return c.fail(p, "bad complex number")
		}
	case kString, kBytes, kGobEnc:
		n, ok := c.readUint(p)
		if !ok {
			return c.fail(p, "bad length")
		}
		if left := uint64(len(c.msg) - p.pos); n > left {
			return c.fail(p, "length %d exceeds the %d bytes left", n, left)
		}
		p.pos += int(n)
	case kInterface:
		return c.push(p, frame{kind: fIface, mode: mode, lt: lt, clt: lUnknown})
	case kStruct:
		return c.push(p, frame{kind: fStruct, mode: mode, typ: ref, lt: lt, field: -1})
	case kSlice, kArray, kMap:
		return c.startContainer(p, ref, mode, lt)
	default:
		return c.fail(p, "value of a type without a kind")
	}
	return nil
}

func (c *GobChecker) startContainer(p *gobParser, ref int32, mode uint8, lt int32) error {
	t := &c.tt[ref]
	n, ok := c.readUint(p)
	if !ok {
		return c.fail(p, "bad count")
	}
	if t.kind == kArray && n != uint64(t.alen) {
		return c.fail(p, "array of %d elements with count %d", t.alen, n)
	}
	if t.kind == kArray && t.alen < 0 {
		n = 0 // only another reading's type: gob skips no elements
	}
	left := uint64(len(c.msg) - p.pos)
	kind := fList
	min := c.tt[t.rkids[0]].min
	if t.kind == kMap {
		kind = fMap
		min = sat(min, c.tt[t.rkids[1]].min)
	}
	switch {
	case !p.fork:
		// The values of a type that reaches an interface may go on in the
		// next message, if no enclosing interface value holds them to this
		// one: then the elements themselves show the count is real.
		split := t.iface && p.nIface == 0
		if n >= 1<<63 || !split && n > left/min {
			return c.refuse("count %d exceeds the %d bytes left", n, left)
		}
	case n >= 1<<63:
		// gob makes that count negative: a skipped slice or map, and a
		// decoded map, have no elements; a decoded slice fails.
		n = 0
	case mode&modeI == 0 && t.kind != kArray && n > left+forkSlack:
		return c.refuse("count %d exceeds the %d bytes left in one reading", n, left)
	case mode&modeI != 0 && t.kind == kMap && n > left &&
		c.tt[t.rkids[0]].kind == kStruct && c.tt[t.rkids[1]].kind == kStruct:
		// Skipping a map of structs at the end of the buffer goes round
		// without reading anything.
		return c.refuse("count %d exceeds the %d bytes left in one reading", n, left)
	}
	return c.push(p, frame{kind: kind, mode: mode, typ: ref, lt: lt, left: n})
}

func sat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}

func (c *GobChecker) stepIface(p *gobParser) (int, error) {
	k := len(p.stack) - 1
	f := &p.stack[k]
	skipped := f.mode&modeI != 0
	typed := !skipped && f.lt >= 0 // known to be decoded: only one reading
	switch f.phase {
	case ifName:
		n, ok := c.readUint(p)
		if left := uint64(len(c.msg) - p.pos); !ok || n > left {
			return 0, c.fail(p, "bad interface type name length")
		}
		if n > maxNameLen && !skipped {
			if !p.fork {
				return 0, c.refuse("interface type name of %d bytes", n)
			}
			if typed {
				return 0, errDeath
			}
			// Decoding fails on such a name; skipping reads on.
			c.spawnIgnore(p, k, true, p.pos+int(n), p.snap)
			return 0, errDeath
		}
		if !skipped && n > 0 {
			f.clt = c.concreteLocal(c.msg[p.pos : p.pos+int(n)])
		}
		p.pos += int(n)
		if n == 0 && !skipped {
			// A nil interface value. Skipping it, gob reads a type
			// sequence and a value from what follows.
			if !typed {
				c.spawnIgnore(p, k, true, p.pos, p.snap)
			}
			c.pop(p)
			return 0, nil
		}
		f.phase = ifSeq
	case ifSeq:
		if p.pos == len(c.msg) {
			if p.fork {
				return outCarry, nil // gob reads the next message
			}
			if f.flags&ifTyped != 0 && p.nIface == 1 {
				return outSuspend, nil
			}
			return 0, c.refuse("message ends inside an interface value")
		}
		if p.sticky {
			return 0, errDeath // gob's type sequence stops at a recorded error
		}
		start := p.pos
		var id int32
		if p.fork {
			u, ok := c.readUint(p)
			if !ok {
				// gob records the error and reads on with type id 0.
				p.sticky = true
				if b := c.msg[start]; b > 0x7f && -int(int8(b)) > 8 {
					p.pos = start + 1
				} else {
					p.pos = len(c.msg)
				}
			}
			id = int32(toInt(u))
		} else {
			var err error
			if id, err = c.readID(p); err != nil {
				return 0, err
			}
		}
		if id < 0 {
			if err := c.defineType(p, -id, start); err != nil {
				return 0, err
			}
			f = &p.stack[k]
			f.flags |= ifTyped
			if p.pos < len(c.msg) {
				// The byte count of what follows, which gob skips.
				s, ok := c.readUint(p)
				if !ok || !p.fork && s > uint64(len(c.msg)-p.pos) {
					return 0, c.fail(p, "bad byte count after a type definition")
				}
			}
			return 0, nil
		}
		f.typ = id // the concrete type id, for now
		f.phase = ifLen
	case ifLen:
		if skipped {
			n, ok := c.readUint(p)
			if !ok || n > uint64(len(c.msg)-p.pos) {
				return 0, c.fail(p, "bad interface value length")
			}
			p.pos += int(n)
			c.pop(p)
			return 0, nil
		}
		ref, decodable, err := c.concreteType(p, f.typ)
		if err != nil {
			return 0, err
		}
		n, ok := c.readUint(p)
		if !ok {
			return 0, c.fail(p, "bad interface value length")
		}
		left := uint64(len(c.msg) - p.pos)
		if !p.fork && n > left {
			return 0, c.refuse("interface value length %d exceeds the %d bytes left", n, left)
		}
		if !decodable {
			// Only skipping reads on.
			if n <= left && !typed {
				c.spawnIgnore(p, k, false, p.pos+int(n), p.snap)
			}
			return 0, errDeath
		}
		f.typ, f.start, f.ilen, f.phase = ref, p.pos, n, ifValue
		f.snap = p.snap
		if !p.fork {
			f.snap = int32(len(c.tt))
		}
		if n <= left && !typed {
			f.flags |= ifIgnOK
		}
		if c.tt[ref].kind == kStruct {
			return 0, c.push(p, frame{kind: fStruct, typ: ref, lt: c.fit(f.clt, ref), field: -1})
		}
		if d, ok := c.readUint(p); !ok || d != 0 {
			return 0, c.fail(p, "interface value without its zero field delta")
		}
		return 0, c.startValue(p, ref, modeU, f.clt)
	case ifValue:
		used := uint64(p.pos - f.start)
		switch {
		case !p.fork && f.flags&ifEmb == 0:
			if used != f.ilen {
				return 0, c.refuse("interface value of %d bytes with byte count %d", used, f.ilen)
			}
		case !p.fork:
			// gob's encoder writes the byte count of a value that defines
			// types up to the end of the first definition only.
			if f.ilen >= used {
				return 0, c.refuse("interface value of %d bytes with byte count %d", used, f.ilen)
			}
			if !typed {
				c.spawnIgnore(p, k, false, f.start+int(f.ilen), f.snap)
			}
		case f.flags&ifIgnOK != 0 && used != f.ilen:
			c.spawnIgnore(p, k, false, f.start+int(f.ilen), f.snap)
		}
		c.pop(p)
	}
	return 0, nil
}

// concreteType returns the index of the concrete type id of an interface
// value, and whether gob could decode a value of it.
func (c *GobChecker) concreteType(p *gobParser, id int32) (int32, bool, error) {
	if !p.fork {
		if id == 0 || id >= tidInterface && id < tidFirstUser {
			return 0, false, c.refuse("interface value of type %d, which gob does not send", id)
		}
		ref, err := c.valueType(id)
		return ref, err == nil, err
	}
	switch {
	case id == 0 || id >= tidInterface && id < tidWireType || id > tidLastBuiltin && id < tidFirstUser:
		return 0, false, nil
	case id < tidFirstUser:
		return id, true, nil
	}
	ref, ok := c.resolve(p, id)
	if !ok {
		return 0, false, nil
	}
	switch c.validate(ref, p) {
	case vDone:
		ok, err := c.typeVisible(p, ref)
		return ref, ok, err
	case vTooDeep:
		return 0, false, c.refuse("type %d nests deeper than %d", id, c.maxDepth())
	case vBad:
		return 0, false, c.refuse("one reading of the stream decodes a value of type %d, which describes several kinds", id)
	}
	return 0, false, nil
}

// resolve returns the index in tt of type id as reading p sees it.
func (c *GobChecker) resolve(p *gobParser, id int32) (int32, bool) {
	if p == nil || !p.fork {
		return c.lookup(id)
	}
	if i := p.localIndex(id); i >= 0 {
		return p.local[i].ref, true
	}
	ref, ok := c.lookup(id)
	return ref, ok && c.visible(p, ref)
}

// visible reports whether reading p has the type at index ref.
func (c *GobChecker) visible(p *gobParser, ref int32) bool {
	if ref < p.snap || slices.Contains(p.shared, ref) {
		return true
	}
	t := &c.tt[ref]
	for _, l := range p.local {
		// Its own type, or the same definition the decoding reading read.
		if l.ref == ref || l.id == t.id && l.msg == t.defMsg && l.pos == t.defPos {
			return true
		}
	}
	return false
}

// typeVisible reports whether reading p has every type the validated type
// at index ref reaches, so that gob can compile it. A type that p defined on
// its own in place of one of them would be compiled without the checker
// knowing it: the message is refused.
func (c *GobChecker) typeVisible(p *gobParser, ref int32) (bool, error) {
	if c.tt[ref].maxRef < p.snap {
		return true, nil
	}
	c.epoch++
	c.sccs = append(c.sccs[:0], ref)
	c.tt[ref].ep = c.epoch
	for len(c.sccs) > 0 {
		if c.work--; c.work < 0 {
			return false, c.refuse("too much work following the readings of a message")
		}
		r := c.sccs[len(c.sccs)-1]
		c.sccs = c.sccs[:len(c.sccs)-1]
		if !c.visible(p, r) {
			if !c.tt[r].hidden && p.localIndex(c.tt[r].id) >= 0 {
				return false, c.refuse("one reading of the stream decodes a value of a type only it defined")
			}
			return false, nil
		}
		for _, k := range c.tt[r].rkids {
			if t := &c.tt[k]; t.ep != c.epoch && t.maxRef >= p.snap {
				t.ep = c.epoch
				c.sccs = append(c.sccs, k)
			}
		}
	}
	return true, nil
}

// spawnIgnore starts the reading in which gob skips a value that holds the
// interface value at stack index k of p. Gob skips a value only as a struct
// field the destination lacks, so any struct frame between k and the nearest
// enclosing interface value may be the one whose field is skipped: all
// frames past the outermost of them are skipped in the new reading, and the
// others are marked as candidates. When the reading comes back to a
// candidate, that candidate's field may have been the skipped one, and the
// reading goes on as a decoding or skipping one (modeU) from there.
//
// With keep, the interface frame stays, in its type sequence; otherwise the
// interface value has been skipped. The reading starts at pos and sees the
// types at indexes below snap.
func (c *GobChecker) spawnIgnore(p *gobParser, k int, keep bool, pos int, snap int32) {
	lo := 0
	for i := k - 1; i >= 0; i-- {
		if p.stack[i].kind == fIface {
			lo = i + 1
			break
		}
	}
	r1 := -1
	for i := lo; i < k; i++ {
		if f := &p.stack[i]; f.kind == fStruct && f.lt < 0 {
			r1 = i
			break
		}
	}
	if r1 < 0 {
		return // nothing here can be skipped without the interface value's holder
	}
	n := k
	if keep {
		n = k + 1
	}
	var q *gobParser
	if m := len(c.free); m > 0 {
		q, c.free = c.free[m-1], c.free[:m-1]
	} else {
		q = new(gobParser)
	}
	q.stack = append(q.stack[:0], p.stack[:n]...)
	q.nIface = 0
	for i := range q.stack {
		if f := &q.stack[i]; i > r1 {
			f.mode = modeI
			if f.kind == fStruct && f.lt < 0 {
				f.mode |= modeCand
			}
		}
		if q.stack[i].kind == fIface {
			q.nIface++
		}
	}
	if keep {
		q.stack[k].phase, q.stack[k].flags = ifSeq, 0
	}
	q.pos, q.fork, q.sticky = pos, true, p.sticky
	q.local = append(q.local[:0], p.local...)
	q.shared = append(q.shared[:0], p.shared...)
	q.snap = snap
	if !p.fork && int32(len(c.tt)) < snap {
		q.snap = int32(len(c.tt))
	}
	if !keep {
		c.returned(q)
	}
	c.queue = append(c.queue, q)
}

func (c *GobChecker) push(p *gobParser, f frame) error {
	if len(p.stack) >= c.maxDepth() {
		return c.refuse("value nests deeper than %d", c.maxDepth())
	}
	p.stack = append(p.stack, f)
	if f.kind == fIface {
		p.nIface++
	}
	return nil
}

func (c *GobChecker) pop(p *gobParser) {
	k := len(p.stack) - 1
	if p.stack[k].kind == fIface {
		p.nIface--
	}
	p.stack = p.stack[:k]
	if p.fork {
		c.returned(p)
	}
}

// returned is called when a reading comes back to the frame on top of its
// stack. If that is a candidate (see spawnIgnore), the field just read may be
// the one gob skipped, and from here on the reading is a decoding one as far
// as it knows.
func (c *GobChecker) returned(p *gobParser) {
	k := len(p.stack) - 1
	if k >= 0 && p.stack[k].mode&modeCand != 0 {
		for i := k; i >= 0 && p.stack[i].mode&modeI != 0; i-- {
			p.stack[i].mode = modeU
		}
	}
}

// readUint reads one gob unsigned integer.
func (c *GobChecker) readUint(p *gobParser) (uint64, bool) {
	msg := c.msg
	if p.pos >= len(msg) {
		return 0, false
	}
	b := msg[p.pos]
	if b <= 0x7f {
		p.pos++
		return uint64(b), true
	}
	n := -int(int8(b))
	if n > 8 || len(msg)-p.pos-1 < n {
		return 0, false
	}
	var x uint64
	for _, b := range msg[p.pos+1 : p.pos+1+n] {
		x = x<<8 | uint64(b)
	}
	p.pos += 1 + n
	return x, true
}

// readID reads a type id for the main reading, which refuses anything but a
// well-formed id.
func (c *GobChecker) readID(p *gobParser) (int32, error) {
	u, ok := c.readUint(p)
	if !ok {
		return 0, c.refuse("bad type id")
	}
	v := toInt(u)
	if v < math.MinInt32+1 || v > math.MaxInt32 {
		return 0, c.refuse("type id %d out of range", v)
	}
	return int32(v), nil
}

func toInt(x uint64) int64 {
	i := int64(x >> 1)
	if x&1 != 0 {
		i = ^i
	}
	return i
}

// fail reports what makes gob fail: the main reading refuses the message,
// another reading just ends.
func (c *GobChecker) fail(p *gobParser, format string, args ...any) error {
	if p.fork {
		return errDeath
	}
	return c.refuse(format, args...)
}

func (c *GobChecker) refuse(format string, args ...any) error {
	return errors.Wrapf(ErrGobRefused, format, args...)
}
