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
// does: the idle timeout no longer applies, Shutdown closes the connection
// instead of waiting for it, and when the handler returns the connection is
// closed. The handler keeps reading from and writing to RW (flushing its own
// writes) until it returns.
func (r *Request) Hijack() {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = stateHijacked
	c.rwc.SetDeadline(time.Time{})
	if c.e.inShutdown.Load() {
		c.cancel()
		c.rwc.Close()
	}
}

// errHijackEnded ends a connection whose hijacking handler returned.
var errHijackEnded = errors.New("endpoint: hijacked connection ended")
