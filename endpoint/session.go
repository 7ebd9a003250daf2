package endpoint

import (
	"context"
	"encoding/gob"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// A session is a connection's gob session codec: one encoder and one decoder
// for the connection's life, so that each type's definition crosses the wire
// once, as net/rpc does, rather than with every value as GOB's does. It is
// made when the connection's first typed command arrives.
type session struct {
	gr  codec.GobReader // what dec reads through; bounded afresh per value
	dec *gob.Decoder
	enc *gob.Encoder
}

// sessionWriter is what the session encoder writes to: the connection's
// current writer.
type sessionWriter struct{ c *conn }

func (w sessionWriter) Write(p []byte) (int, error) { return w.c.bw.Write(p) }

func (c *conn) session() *session {
	if c.sess == nil {
		c.sess = &session{enc: gob.NewEncoder(sessionWriter{c})}
		c.sess.dec = gob.NewDecoder(&c.sess.gr)
	}
	return c.sess
}

// DecodeSession reads the request's payload as the next value of the
// connection's gob session stream into v, bounded by MaxPayloadBytes. Any
// failure is a *ProtocolError.
func (r *Request) DecodeSession(v any) (err error) {
	s := r.c.session()
	s.gr.R, s.gr.N = r.c.br, r.c.e.maxPayload()
	defer func() {
		if p := recover(); p != nil { // encoding/gob is not hardened
			err = &ProtocolError{Err: errors.Errorf("decode gob session value: panic: %v", p)}
		}
	}()
	if err := s.dec.Decode(v); err != nil {
		return &ProtocolError{Err: errors.Wrap(err, "decode gob session value")}
	}
	return nil
}

// EncodeSession writes v as the next value of the connection's gob session
// stream. A failure part-way leaves the stream unusable, so it is a
// *ProtocolError.
func (r *Request) EncodeSession(v any) error {
	if err := r.c.session().enc.Encode(v); err != nil {
		return &ProtocolError{Err: errors.Wrap(err, "encode gob session value")}
	}
	return nil
}

// Typed adapts f to a Handler for a typed command: the request's payload is a
// Req read with the connection's gob session codec, and the reply is the line
// "OK" followed by f's *Resp written with it, or one "ERR" line when f fails.
// Client.CallTyped is the other end. Type definitions cross the wire once per
// connection, which makes typed calls much cheaper than GOB's self-describing
// values.
func Typed[Req, Resp any](f func(ctx context.Context, req *Req) (*Resp, error)) Handler {
	return HandlerFunc(func(ctx context.Context, r *Request) error {
		var req Req
		if err := r.DecodeSession(&req); err != nil {
			return err
		}
		resp, err := f(ctx, &req)
		if err != nil {
			return err
		}
		if resp == nil {
			return errors.New("typed handler returned no reply")
		}
		r.RW.WriteString("OK\n")
		return r.EncodeSession(resp)
	})
}
