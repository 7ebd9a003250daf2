package endpoint

import (
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// ReadLine reads one payload line, without its "\n" or a trailing "\r", bounded
// by the endpoint's MaxLineBytes. The slice is valid until the next read. Any
// failure is a *ProtocolError: the handler returns it and the endpoint replies
// "ERR" and closes the connection.
func (r *Request) ReadLine() ([]byte, error) {
	line, err := codec.ReadLine(r.c.br, r.c.e.maxLine())
	if err != nil {
		if errors.Is(err, codec.ErrLineTooLong) {
			err = errors.Wrapf(err, "line over %d bytes", r.c.e.maxLine())
		}
		return nil, &ProtocolError{Err: err}
	}
	return line, nil
}

// DecodeGob reads one self-describing gob value (written by a fresh
// gob.Encoder) into v, bounded by the endpoint's MaxPayloadBytes. Any failure
// is a *ProtocolError, for the stream cannot be resynchronised after it.
func (r *Request) DecodeGob(v any) error {
	if err := codec.DecodeGob(r.c.br, r.c.e.maxPayload(), v); err != nil {
		return &ProtocolError{Err: err}
	}
	return nil
}

// WriteLine buffers s and a "\n" as the reply. It fails, writing nothing, if s
// contains a newline.
func (r *Request) WriteLine(s string) error {
	return codec.WriteLine(r.c.bw, s)
}

// Hijack takes the connection over for the rest of its life, as a chat member
// does, and returns it as a Stream: from then on the handler reads lines with
// Stream.ReadLine and anyone may write lines with Stream.Send; the handler must
// not use RW again. The idle timeout no longer applies (dead peers are found by
// TCP keep-alive and failed writes), the handler's MaxHandlers slot is given
// back, Shutdown closes the connection instead of waiting for it, and the
// connection closes when the handler returns.
func (r *Request) Hijack() *Stream {
	c := r.c
	if c.stream != nil {
		return c.stream
	}
	c.releaseSlot()
	c.bw.Flush() // the handler's writes so far go out before any pushed line
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state.Store(stateHijacked)
	c.rwc.SetDeadline(time.Time{})
	c.deadline = time.Time{}
	c.stream = newStream(c)
	if c.e.inShutdown.Load() {
		c.stream.close(false)
	}
	return c.stream
}
