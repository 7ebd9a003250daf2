package endpoint

import (
	"bufio"
	"fmt"
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
		return nil, &ProtocolError{Err: err}
	}
	return line, nil
}

// DecodeGob reads one self-describing gob value (written by a fresh
// gob.Encoder) into v, bounded by the endpoint's MaxPayloadBytes and
// MaxGobDepth and checked by codec's gob firewall before encoding/gob sees
// it. Any failure is a *ProtocolError, for the stream cannot be
// resynchronised after it.
func (r *Request) DecodeGob(v any) error {
	if err := codec.DecodeGobDepth(r.c.br, r.c.e.maxPayload(), r.c.e.maxGobDepth(), v); err != nil {
		return payloadError(err)
	}
	return nil
}

// payloadError is the *ProtocolError for a payload that could not be read:
// a limit's or the firewall's error as it is, a read's as it is, and
// ErrBadPayload for anything encoding/gob said (its text names Go types, and
// stays in the log).
func payloadError(err error) error {
	if !errors.Is(err, codec.ErrPayloadTooLarge) && !errors.Is(err, codec.ErrGobRefused) && !revealing(err) {
		err = fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return &ProtocolError{Err: err}
}

// WriteLine buffers s and a "\n" as the reply. It fails, writing nothing, if s
// contains a newline, and with ErrHijacked once the connection is hijacked.
func (r *Request) WriteLine(s string) error {
	if r.c.stream != nil {
		return ErrHijacked
	}
	return codec.WriteLine(r.c.bw, s)
}

// Hijack takes the connection over for the rest of its life, as a chat member
// does, and returns it as a Stream: from then on the handler reads lines with
// Stream.ReadLine and anyone may write lines with Stream.Send. Writes to the
// Request (WriteLine, RW.Writer) fail with ErrHijacked from then on. The idle
// timeout no longer applies (dead peers are found by TCP keep-alive and
// failed writes), the handler's MaxHandlers slot is given back, the
// connection is counted against MaxMembers instead of MaxConns, Shutdown
// closes it instead of waiting for it, and it closes when the handler
// returns.
//
// Hijack fails with ErrRoomFull when MaxMembers connections are hijacked
// already; the connection then stays as it was, serving requests.
func (r *Request) Hijack() (*Stream, error) {
	c := r.c
	if c.stream != nil {
		return c.stream, nil
	}
	if !c.e.hijacked(c) {
		return nil, ErrRoomFull
	}
	c.count(&c.last.stats, false) // answered: from here on it is a Stream
	c.releaseSlot()
	c.rwc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	c.bw.Flush() // the handler's writes so far go out before any pushed line
	c.rwc.SetDeadline(time.Time{})
	c.rdl, c.wdl = 0, 0
	s := newStream(c)
	c.req.RW.Writer = newHijackedWriter()
	c.mu.Lock()
	c.stream = s
	c.setStateLocked(StateHijacked)
	c.mu.Unlock()
	if c.e.shuttingDown() {
		s.close(false)
	}
	return s, nil
}

// newHijackedWriter returns a hijacked Request's RW.Writer: every write fails
// with ErrHijacked, so that a handler writing after Hijack learns of it
// rather than racing with the Stream's writer.
func newHijackedWriter() *bufio.Writer {
	w := bufio.NewWriterSize(failWriter{}, 16)
	w.Write(make([]byte, 32)) // too big to buffer: the error sticks
	return w
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, ErrHijacked }
