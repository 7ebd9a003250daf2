package codec

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"

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
// larger than max fails with an error that wraps ErrPayloadTooLarge; a decoder
// panic on malformed input is returned as an error.
func DecodeGob(r *bufio.Reader, max int64, v any) (err error) {
	gr := GobReader{R: r, N: max}
	if max <= 0 {
		gr.N = 1<<63 - 1
	}
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("codec: decode gob: panic: %v", p)
		}
	}()
	if err := gob.NewDecoder(&gr).Decode(v); err != nil {
		if errors.Is(err, ErrPayloadTooLarge) {
			return errors.Wrapf(ErrPayloadTooLarge, "codec: gob value over %d bytes", max)
		}
		return errors.Wrap(err, "codec: decode gob")
	}
	return nil
}

// GobReader is a byte-limited reader for gob streams. It reads at most N bytes
// from R and, because it implements io.ByteReader, gob.NewDecoder reads through
// it directly instead of adding a read-ahead buffer. It also follows gob's
// message framing (a length, then that many bytes) and fails with
// ErrPayloadTooLarge as soon as a message declares more bytes than remain, so
// the decoder never allocates for a message it will not be allowed to read.
type GobReader struct {
	R *bufio.Reader
	N int64 // bytes still allowed

	// Where the reader is in gob's framing: inside a message body (bodyLeft
	// bytes still to come), inside a multi-byte length (countLeft bytes still
	// to come, count so far), or before a length.
	bodyLeft  uint64
	inCount   bool
	countLeft int
	count     uint64
}

// ReadByte reads one byte.
func (g *GobReader) ReadByte() (byte, error) {
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
