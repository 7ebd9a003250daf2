package codec

import "math"

// defineType reads the definition of type id, whose first byte (its
// negative id) is at start, and records it.
func (c *GobChecker) defineType(p *gobParser, id int32, start int) error {
	if p.fork {
		return c.defineForkType(p, id, start)
	}
	if id < tidFirstUser {
		return c.refuse("definition of reserved type id %d", id)
	}
	if _, ok := c.ids[id]; ok {
		return c.refuse("type %d defined twice", id)
	}
	if site, ok := c.poisoned[id]; ok && (site.msg != c.msgSeq || site.pos != start) {
		return c.refuse("definition of type %d, which another reading of the stream defined elsewhere", id)
	}
	t, err := c.parseWireType(p, id)
	if err != nil {
		return err
	}
	c.typeBytes += int64(p.pos - start)
	if c.MaxTypeBytes > 0 && c.typeBytes > c.MaxTypeBytes {
		return c.refuse("type definitions of more than %d bytes", c.MaxTypeBytes)
	}
	t.defMsg, t.defPos, t.planLT = c.msgSeq, start, lPending
	c.ids[id] = int32(len(c.tt))
	c.tt = append(c.tt, t)
	// gob's encoder writes the definition of a type first sent in an
	// interface value that is itself inside an interface value into the
	// enclosing value, which it cuts short: see stepIface.
	for i := len(p.stack) - 1; i >= 0; i-- {
		if f := &p.stack[i]; f.kind == fIface && f.phase == ifValue {
			f.flags |= ifEmb
			break
		}
	}
	return nil
}

// defineForkType follows gob through a type definition in another reading of
// the stream, at start. gob takes any wireType it can decode. A definition
// the decoding reading reads at the same place is the same definition, and
// the reading shares it. Otherwise the reading has a type of its own, which
// goes into the type table hidden from the other readings; see forkEnds for
// what follows when such a reading completes a value.
func (c *GobChecker) defineForkType(p *gobParser, id int32, start int) error {
	if id < tidFirstUser || p.localIndex(id) >= 0 {
		return errDeath // gob refuses a reserved or known id
	}
	ref, known := c.lookup(id)
	if known && c.visible(p, ref) {
		return errDeath
	}
	mark := len(c.idArena)
	t, kinds, err := c.parseWireTypeKinds(p, id)
	if err != nil || known && c.tt[ref].defMsg == c.msgSeq && c.tt[ref].defPos == start {
		c.idArena = c.idArena[:mark]
		if err == nil {
			p.shared = append(p.shared, ref)
		}
		return err
	}
	t.kids = c.idArena[mark:len(c.idArena):len(c.idArena)]
	want := len(t.kids)
	switch t.kind {
	case kArray, kSlice:
		want = 1
	case kMap:
		want = 2
	}
	switch {
	case kinds > 1:
		t.kind = kMulti
	case kinds == 0 || len(t.kids) != want:
		t.kind = kNone // gob cannot compile it
	}
	if c.hidden++; c.hidden > maxHidden {
		return c.refuse("other readings of the stream define more than %d types", maxHidden)
	}
	t.hidden, t.defMsg, t.defPos = true, c.msgSeq, start
	p.local = append(p.local, forkType{id: id, msg: c.msgSeq, pos: start, ref: int32(len(c.tt))})
	c.tt = append(c.tt, t)
	return nil
}

// parseWireType reads a wireType: a struct with one field set, which
// describes an array, slice, struct, map or GobEncoder type.
func (c *GobChecker) parseWireType(p *gobParser, id int32) (gobType, error) {
	t, _, err := c.parseWireTypeKinds(p, id)
	return t, err
}

// parseWireTypeKinds is parseWireType that also returns how many kinds of
// type the definition describes (gob takes any number; the main reading
// refuses all but one).
func (c *GobChecker) parseWireTypeKinds(p *gobParser, id int32) (gobType, int, error) {
	t := gobType{id: id}
	kinds := 0
	kids := len(c.idArena)
	for f := -1; ; {
		more, err := c.nextField(p, &f, 7)
		if err != nil {
			return t, kinds, err
		}
		if !more {
			break
		}
		kinds++
		switch f {
		case 0:
			t.kind = kArray
			err = c.parseKidsType(p, &t, 3) // CommonType, Elem, Len
		case 1:
			t.kind = kSlice
			err = c.parseKidsType(p, &t, 2) // CommonType, Elem
		case 2:
			t.kind = kStruct
			names := len(c.fnArena)
			err = c.parseStructType(p)
			t.fnames = c.fnArena[names:len(c.fnArena):len(c.fnArena)]
		case 3:
			t.kind = kMap
			err = c.parseKidsType(p, &t, 3) // CommonType, Key, Elem
		default:
			t.kind = kGobEnc
			err = c.parseKidsType(p, &t, 1) // CommonType
		}
		if err != nil {
			return t, kinds, err
		}
	}
	if p.fork {
		return t, kinds, nil // gob takes whatever it decoded
	}
	if kinds != 1 {
		return t, kinds, c.refuse("definition of type %d describes %d kinds of type", id, kinds)
	}
	t.kids = c.idArena[kids:len(c.idArena):len(c.idArena)]
	want := len(t.kids) // a struct's fields
	switch t.kind {
	case kArray, kSlice:
		want = 1
	case kMap:
		want = 2
	case kGobEnc:
		want = 0
	}
	if len(t.kids) != want {
		return t, kinds, c.refuse("definition of type %d lacks an element or key type", id)
	}
	for _, k := range t.kids {
		if k < 1 || k > tidInterface && k < tidFirstUser {
			return t, kinds, c.refuse("type %d refers to type %d, which gob does not send", id, k)
		}
	}
	if t.alen < 0 {
		return t, kinds, c.refuse("array type %d of length %d", id, t.alen)
	}
	return t, kinds, nil
}

// parseKidsType reads a struct whose first field is a CommonType and whose
// other fields (nfields in all) are, in order, type ids and an array length.
func (c *GobChecker) parseKidsType(p *gobParser, t *gobType, nfields int) error {
	for f := -1; ; {
		more, err := c.nextField(p, &f, nfields)
		if err != nil || !more {
			return err
		}
		switch {
		case f == 0:
			err = c.parseCommonType(p)
		case t.kind == kArray && f == 2:
			var n int64
			n, err = c.readInt(p, math.MinInt64, math.MaxInt64)
			t.alen = n
		default:
			var n int64
			n, err = c.readInt(p, math.MinInt32, math.MaxInt32)
			c.idArena = append(c.idArena, int32(n))
		}
		if err != nil {
			return err
		}
	}
}

// parseStructType reads a structType: a CommonType and a slice of fields.
func (c *GobChecker) parseStructType(p *gobParser) error {
	for f := -1; ; {
		more, err := c.nextField(p, &f, 2)
		if err != nil || !more {
			return err
		}
		if f == 0 {
			if err := c.parseCommonType(p); err != nil {
				return err
			}
			continue
		}
		n, ok := c.readUint(p)
		left := uint64(len(c.msg) - p.pos)
		switch {
		case !ok || !p.fork && n > left || n >= 1<<63:
			return c.fail(p, "struct type with a bad field count")
		case n > left+forkSlack:
			// gob allocates for the fields before it finds them missing.
			return c.refuse("struct type with %d fields in %d bytes in one reading", n, left)
		}
		for ; n > 0; n-- {
			if p.pos == len(c.msg) {
				return c.fail(p, "struct type with fields missing")
			}
			if err := c.parseFieldType(p); err != nil {
				return err
			}
		}
	}
}

// parseFieldType reads a fieldType: a name, which gob requires, and a type id.
func (c *GobChecker) parseFieldType(p *gobParser) error {
	named, typed := false, false
	for f := -1; ; {
		more, err := c.nextField(p, &f, 2)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if f == 0 {
			n, err := c.readString(p)
			if err != nil {
				return err
			}
			named = n > 0
			if !p.fork {
				name := c.msg[p.pos-n : p.pos]
				at := len(c.nameArena)
				c.nameArena = append(c.nameArena, name...)
				c.fnArena = append(c.fnArena, c.nameArena[at:len(c.nameArena):len(c.nameArena)])
			}
			continue
		}
		n, err := c.readInt(p, math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		c.idArena = append(c.idArena, int32(n))
		typed = true
	}
	if !p.fork && (!named || !typed) {
		return c.refuse("struct field without a name or type")
	}
	return nil
}

// parseCommonType reads a CommonType: a name and a type id, both unused.
func (c *GobChecker) parseCommonType(p *gobParser) error {
	for f := -1; ; {
		more, err := c.nextField(p, &f, 2)
		if err != nil || !more {
			return err
		}
		if f == 0 {
			_, err = c.readString(p)
		} else {
			_, err = c.readInt(p, math.MinInt32, math.MaxInt32)
		}
		if err != nil {
			return err
		}
	}
}

// nextField reads the next field delta of a struct of n fields in a type
// definition, updating *field; it reports false at the struct's end. In
// another reading, gob's rules apply: a struct also ends with its buffer.
func (c *GobChecker) nextField(p *gobParser, field *int, n int) (bool, error) {
	if p.fork && p.pos == len(c.msg) {
		return false, nil
	}
	d, ok := c.readUint(p)
	switch {
	case !ok:
		return false, c.fail(p, "type definition with a bad or missing field delta")
	case d == 0:
		return false, nil
	case d > uint64(n) || *field+int(d) >= n:
		return false, c.fail(p, "type definition with field delta %d out of range", d)
	}
	*field += int(d)
	return true, nil
}

func (c *GobChecker) readInt(p *gobParser, min, max int64) (int64, error) {
	u, ok := c.readUint(p)
	if v := toInt(u); ok && v >= min && v <= max {
		return v, nil
	}
	return 0, c.fail(p, "type definition with a bad integer")
}

func (c *GobChecker) readString(p *gobParser) (int, error) {
	n, ok := c.readUint(p)
	if !ok || n > uint64(len(c.msg)-p.pos) {
		return 0, c.fail(p, "type definition with a bad string length")
	}
	p.pos += int(n)
	return int(n), nil
}

// kid resolves type id, which type v refers to: another reading's own types
// refer to types as that reading sees them.
func (c *GobChecker) kid(v *gobType, id int32, p *gobParser) (int32, bool) {
	if v.hidden {
		return c.resolve(p, id)
	}
	return c.lookup(id)
}

// A vframe is a type being visited by validate.
type vframe struct {
	ref  int32
	next int32 // the next kid to visit
}

// validate checks the type at index ref before a value uses it: that every
// type it reaches is defined, and how deep it nests. It returns vDone, or
// vTooDeep, or vNew when a type it reaches is not defined (yet).
//
// The nesting is the longest chain of distinct types that gob may compile
// recursively: a group of mutually recursive types counts by its size,
// which bounds every chain through it. Groups are found with Tarjan's
// algorithm, without recursion; a finished group's results are kept.
func (c *GobChecker) validate(root int32, p *gobParser) uint8 {
	fork := p != nil && p.fork
	switch t := &c.tt[root]; {
	case t.state != vNew:
		return t.state
	case t.kind == kNone:
		return vNew
	case t.kind == kMulti:
		return vBad
	}
	limit := c.maxDepth()
	c.epoch++
	ep := c.epoch
	var index int32
	c.vstack, c.sccs = c.vstack[:0], c.sccs[:0]
	visit := func(ref int32) {
		t := &c.tt[ref]
		t.ep, t.index, t.low, t.onStack = ep, index, index, true
		index++
		c.sccs = append(c.sccs, ref)
		c.vstack = append(c.vstack, vframe{ref: ref})
	}
	visit(root)
	for len(c.vstack) > 0 {
		if fork {
			if c.work--; c.work < 0 {
				return vNew
			}
		}
		top := &c.vstack[len(c.vstack)-1]
		v := &c.tt[top.ref]
		if int(top.next) < len(v.kids) {
			w, ok := c.kid(v, v.kids[top.next], p)
			top.next++
			if !ok {
				return vNew
			}
			wt := &c.tt[w]
			switch {
			case wt.kind == kNone:
				return vNew // gob cannot compile it
			case wt.kind == kMulti:
				return vBad
			case wt.state == vTooDeep:
				c.tt[root].state = vTooDeep
				return vTooDeep
			case wt.state == vDone:
			case wt.ep != ep:
				if len(c.vstack) >= limit {
					// A chain of more than limit distinct types.
					c.tt[root].state = vTooDeep
					return vTooDeep
				}
				visit(w)
			case wt.onStack:
				v.low = min(v.low, wt.index)
			}
			continue
		}
		c.vstack = c.vstack[:len(c.vstack)-1]
		if n := len(c.vstack); n > 0 {
			parent := &c.tt[c.vstack[n-1].ref]
			parent.low = min(parent.low, v.low)
		}
		if v.low != v.index {
			continue
		}
		// v heads a group: the types above it on the stack.
		i := len(c.sccs) - 1
		for c.sccs[i] != top.ref {
			i--
		}
		group := c.sccs[i:]
		var deepest, maxRef int32
		iface := false
		for _, m := range group {
			maxRef = max(maxRef, m)
			for _, kid := range c.tt[m].kids {
				w, _ := c.kid(&c.tt[m], kid, p)
				if wt := &c.tt[w]; wt.state == vDone {
					deepest = max(deepest, wt.depth)
					maxRef = max(maxRef, wt.maxRef)
					iface = iface || wt.iface
				}
			}
		}
		depth := int32(len(group)) + deepest
		for _, m := range group {
			t := &c.tt[m]
			t.onStack = false
			t.depth, t.maxRef, t.iface = depth, maxRef, iface
			t.min = 1
			if t.kind == kArray {
				t.min = sat(1, uint64(t.alen))
			}
			start := len(c.refArena)
			for _, kid := range t.kids {
				w, _ := c.kid(t, kid, p)
				c.refArena = append(c.refArena, w)
			}
			t.rkids = c.refArena[start:len(c.refArena):len(c.refArena)]
			t.state = vDone
			if int(depth) > limit {
				t.state = vTooDeep
			}
		}
		c.sccs = c.sccs[:i]
		if int(depth) > limit {
			c.tt[root].state = vTooDeep
			return vTooDeep
		}
	}
	return c.tt[root].state
}
