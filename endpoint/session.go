package endpoint

import (
	"bytes"
	"context"
	"encoding/gob"
	"reflect"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// A session is a connection's gob session codec: one encoder and one decoder
// for the connection's life, so that each type's definition crosses the wire
// once, as net/rpc does, rather than with every value as GOB's does. It is
// made when the connection's first typed command arrives.
type session struct {
	gr     codec.GobReader // what dec reads through; bounded afresh per value
	dec    *gob.Decoder
	enc    *gob.Encoder
	encBuf bytes.Buffer // what enc writes to: a reply goes out only once encoded whole
}

func (c *conn) session() *session {
	if c.sess == nil {
		s := &session{}
		s.enc = gob.NewEncoder(&s.encBuf)
		s.dec = gob.NewDecoder(&s.gr)
		c.sess = s
	}
	return c.sess
}

// DecodeSession reads the request's payload as the next value of the
// connection's gob session stream into v, bounded by MaxPayloadBytes and
// MaxGobDepth and checked by codec's gob firewall before encoding/gob sees
// it; the type definitions the session may send over the connection's life
// are bounded, in total, by MaxPayloadBytes. Any failure is a
// *ProtocolError.
func (r *Request) DecodeSession(v any) (err error) {
	s := r.c.session()
	if s.gr.Check == nil {
		s.gr.Check = &codec.GobChecker{MaxDepth: r.c.e.maxGobDepth(), MaxTypeBytes: r.c.e.maxPayload()}
	}
	s.gr.R, s.gr.N = r.c.br, r.c.e.maxPayload()
	s.gr.Check.Into = reflect.TypeOf(v) // the checker follows the reading gob takes into v
	defer func() {
		if p := recover(); p != nil { // encoding/gob is not hardened
			err = payloadError(errors.Errorf("decode gob session value: panic: %v", p))
		}
	}()
	if err := s.dec.Decode(v); err != nil {
		return payloadError(err)
	}
	return nil
}

// EncodeSession buffers v as the next value of the connection's gob session
// stream. The value is encoded whole before anything is buffered, so a value
// that cannot be encoded sends nothing of it. Such a failure still leaves the
// session stream unusable (the encoder may count type definitions as sent
// that the peer never got), so it is a *ProtocolError wrapping ErrInternal:
// one "ERR internal error" line, then the connection closes.
func (r *Request) EncodeSession(v any) error {
	enc, err := r.encodeSession(v)
	if err != nil {
		return err
	}
	_, err = r.RW.Write(enc)
	return err
}

// encodeSession encodes v with the session encoder; the bytes are valid until
// the next encoding.
func (r *Request) encodeSession(v any) ([]byte, error) {
	s := r.c.session()
	s.encBuf.Reset()
	if err := s.enc.Encode(v); err != nil {
		r.c.e.logger().Error("encode gob session value", "command", r.Command, "remote", r.RemoteAddr, "err", err)
		return nil, &ProtocolError{Err: ErrInternal}
	}
	return s.encBuf.Bytes(), nil
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
		enc, err := r.encodeSession(resp)
		if err != nil {
			return err
		}
		r.RW.WriteString("OK\n")
		_, err = r.RW.Write(enc)
		return err
	})
}
