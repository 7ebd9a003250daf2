package codec

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"

	"github.com/pkg/errors"
)

// EncodeGob writes v to w as one self-describing gob value: a fresh encoder
// sends v's type definition first, so any gob decoder can read it alone.
func EncodeGob(w io.Writer, v any) error {
	return errors.Wrap(gob.NewEncoder(w).Encode(v), "codec: encode gob")
}

// DecodeGob reads one self-describing gob value (as EncodeGob writes it) from r
// into v, reading at most max bytes (max of zero or less: no limit). It reads
// exactly the value's bytes, so r stays positioned at whatever follows. A value
// larger than max fails with an error that wraps ErrPayloadTooLarge; a value
// that a GobChecker with the default depth refuses fails with an error that
// wraps ErrGobRefused, before encoding/gob sees any of it; a decoder panic on
// malformed input is returned as an error.
func DecodeGob(r *bufio.Reader, max int64, v any) error {
	return DecodeGobDepth(r, max, DefaultMaxGobDepth, v)
}

// DecodeGobDepth is DecodeGob with a nesting limit for the checker (zero or
// less: DefaultMaxGobDepth).
func DecodeGobDepth(r *bufio.Reader, max int64, maxDepth int, v any) (err error) {
	st := gobDecodePool.Get().(*gobDecodeState)
	st.c.Reset()
	st.c.MaxDepth, st.c.MaxTypeBytes = maxDepth, 0
	st.c.Into, st.c.skip, st.c.once = reflect.TypeOf(v), v == nil, true
	st.gr = GobReader{R: r, N: max, Check: &st.c, buf: st.gr.buf[:0], once: true}
	if max <= 0 {
		st.gr.N = 1<<63 - 1
	}
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("codec: decode gob: panic: %v", p)
			return // the state may be inconsistent: leave it to the collector
		}
		st.gr.R = nil
		if cap(st.gr.buf) > maxPooledGobBuffer || len(st.c.tt) > maxPooledGobTypes {
			*st = gobDecodeState{}
		}
		st.c.Into = nil
		gobDecodePool.Put(st)
	}()
	if err := gob.NewDecoder(&st.gr).Decode(v); err != nil {
		if errors.Is(err, ErrPayloadTooLarge) {
			return errors.Wrapf(ErrPayloadTooLarge, "codec: gob value over %d bytes", max)
		}
		return errors.Wrap(err, "codec: decode gob")
	}
	return nil
}

// gobDecodeState is what one DecodeGob call needs besides gob's decoder; it
// is pooled, so that a call allocates nothing of its own once warm.
type gobDecodeState struct {
	c  GobChecker
	gr GobReader
}

var gobDecodePool = sync.Pool{New: func() any { return new(gobDecodeState) }}

// Pooled states holding more than this are dropped instead.
const (
	maxPooledGobBuffer = 64 << 10
	maxPooledGobTypes  = 256
)

// GobReader is a byte-limited reader for gob streams. It reads at most N bytes
// from R and, because it implements io.ByteReader, gob.NewDecoder reads through
// it directly instead of adding a read-ahead buffer. It also follows gob's
// message framing (a length, then that many bytes) and fails with
// ErrPayloadTooLarge as soon as a message declares more bytes than remain, so
// the decoder never allocates for a message it will not be allowed to read.
//
// With Check set, GobReader reads each message whole (its length, then its
// body) into a buffer it keeps for reuse, has Check check the body, and only
// then serves the message to gob; when the checker refuses it, Read and
// ReadByte return the checker's error, so gob's Decode does. A message that
// ends inside a value (see GobChecker.Pending) is held back with the rest of
// the value's messages until the last one has been checked. GobReader never
// reads past the message that completes a value. After an error in the
// middle of a message the stream cannot be resynchronised, and GobReader
// keeps returning that error.
type GobReader struct {
	R     *bufio.Reader
	N     int64       // bytes still allowed
	Check *GobChecker // if set, checks every message before gob sees it

	// Where the reader is in gob's framing: inside a message body (bodyLeft
	// bytes still to come), inside a multi-byte length (countLeft bytes still
	// to come, count so far), or before a length. Used without Check.
	bodyLeft  uint64
	inCount   bool
	countLeft int
	count     uint64

	// With Check: the checked messages not yet served, and what stopped the
	// stream.
	buf    []byte
	off    int
	broken error
	once   bool // one value only (DecodeGob): nothing is served after it
	done   bool
}

// ReadByte reads one byte.
func (g *GobReader) ReadByte() (byte, error) {
	if g.Check != nil {
		if g.off == len(g.buf) {
			if err := g.fill(); err != nil {
				return 0, err
			}
		}
		b := g.buf[g.off]
		g.off++
		return b, nil
	}
	if g.N <= 0 {
		return 0, ErrPayloadTooLarge
	}
	b, err := g.R.ReadByte()
	if err != nil {
		return 0, err
	}
	g.N--
	return b, g.track(b)
}

// Read reads up to len(p) bytes.
func (g *GobReader) Read(p []byte) (int, error) {
	if g.Check != nil {
		if len(p) == 0 {
			return 0, nil
		}
		if g.off == len(g.buf) {
			if err := g.fill(); err != nil {
				return 0, err
			}
		}
		n := copy(p, g.buf[g.off:])
		g.off += n
		return n, nil
	}
	if g.N <= 0 {
		return 0, ErrPayloadTooLarge
	}
	if int64(len(p)) > g.N {
		p = p[:g.N]
	}
	// Inside a message body, bytes need no framing checks: pass them through.
	if g.bodyLeft > 0 {
		if uint64(len(p)) > g.bodyLeft {
			p = p[:g.bodyLeft]
		}
		n, err := g.R.Read(p)
		g.N -= int64(n)
		g.bodyLeft -= uint64(n)
		return n, err
	}
	// Lengths are read a byte at a time; they are one to nine bytes long.
	b, err := g.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// fill reads the next message, and the rest of its value's messages while
// the checker reports the value pending, checking each.
func (g *GobReader) fill() error {
	if g.broken != nil {
		return g.broken
	}
	if g.once && g.done {
		return io.EOF // the value is complete: what follows is not gob's
	}
	g.buf, g.off = g.buf[:0], 0
	for first := true; ; first = false {
		n, err := g.readLength()
		if err == io.EOF && first {
			return io.EOF // a clean end of the stream, between values
		}
		if err == nil {
			start := len(g.buf)
			if err = g.readBody(n); err == nil {
				err = g.Check.Check(g.buf[start:])
			}
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			g.buf = g.buf[:0]
			g.broken = err
			return err
		}
		if !g.Check.Pending() {
			g.done = g.Check.done
			return nil
		}
	}
}

// readLength reads a message length into buf. It returns io.EOF only if the
// stream ends before the length's first byte.
func (g *GobReader) readLength() (uint64, error) {
	b, err := g.rbyte()
	if err != nil {
		return 0, err
	}
	g.buf = append(g.buf, b)
	n := uint64(b)
	if b >= 0x80 {
		// A byte of 0x80 or more starts a multi-byte length: its negation is
		// the number of big-endian bytes that follow.
		size := -int(int8(b))
		if size < 1 || size > 8 {
			return 0, errors.Errorf("codec: bad gob message length prefix %#x", b)
		}
		n = 0
		for range size {
			b, err := g.rbyte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, err
			}
			g.buf = append(g.buf, b)
			n = n<<8 | uint64(b)
		}
	}
	if n > uint64(g.N) {
		return 0, errors.Wrap(ErrPayloadTooLarge, fmt.Sprintf("codec: gob message of %d bytes", n))
	}
	return n, nil
}

func (g *GobReader) rbyte() (byte, error) {
	if g.N <= 0 {
		return 0, ErrPayloadTooLarge
	}
	b, err := g.R.ReadByte()
	if err != nil {
		return 0, err
	}
	g.N--
	return b, nil
}

// readBody appends the next n bytes of R, which the limit allows, to buf. The
// buffer grows with the bytes that arrive, not with the length declared.
func (g *GobReader) readBody(n uint64) error {
	for n > 0 {
		if len(g.buf) == cap(g.buf) {
			g.buf = slices.Grow(g.buf, int(min(n, uint64(max(len(g.buf), 512)))))
		}
		room := g.buf[len(g.buf):cap(g.buf)]
		if uint64(len(room)) > n {
			room = room[:n]
		}
		m, err := g.R.Read(room)
		g.buf = g.buf[:len(g.buf)+m]
		g.N -= int64(m)
		n -= uint64(m)
		if err != nil && n > 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// track follows gob's framing through byte b, which was just read outside a
// message body or as part of a message length.
func (g *GobReader) track(b byte) error {
	switch {
	case g.bodyLeft > 0:
		g.bodyLeft--
		return nil
	case g.inCount:
		g.count = g.count<<8 | uint64(b)
		g.countLeft--
		if g.countLeft > 0 {
			return nil
		}
		g.inCount = false
	case b < 0x80:
		g.count = uint64(b)
	default:
		// A byte of 0x80 or more starts a multi-byte length: its negation is
		// the number of big-endian bytes that follow.
		n := -int(int8(b))
		if n < 1 || n > 8 {
			return errors.Errorf("codec: bad gob message length prefix %#x", b)
		}
		g.inCount, g.countLeft, g.count = true, n, 0
		return nil
	}
	if g.count > uint64(g.N) {
		return errors.Wrap(ErrPayloadTooLarge, fmt.Sprintf("codec: gob message of %d bytes", g.count))
	}
	g.bodyLeft = g.count
	return nil
}
