package endpoint

import (
	"errors"
	"os"
	"time"
)

// connReader is what the connection's bufio.Reader reads from. Once the
// connection drains, a read for a command line does not block: it returns what
// has already arrived, or errDrained, so that requests already sent are served
// and then the connection closes. A payload read still blocks, within the
// deadline, since its command line has arrived and must be answered.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.state.Load() == stateHijacked {
		return c.rwc.Read(p) // no deadline; the Stream's writer owns bw
	}
	if c.draining && c.waiting() {
		return c.drainRead(p)
	}
	// Take what has already arrived, without waiting: in the middle of a
	// pipelined batch the rest of it usually has, and then neither the
	// clock nor the replies so far need attention.
	if c.raw != nil {
		if n, err := c.readNow(p); err != errWouldBlock {
			return n, err
		}
	}
	// The read must wait. The replies buffered so far go out first, since
	// the client may be waiting for them, then the read waits within the
	// request's deadline.
	if c.readingCommand {
		c.setIdle() // the rest of a command line may be long in coming
	}
	c.armRequest(time.Now())
	if c.readingCommand && c.woken() {
		return c.drainRead(p)
	}
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	n, err := c.rwc.Read(p)
	if err != nil && c.waiting() && c.e.inShutdown.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		// Woken by Shutdown: take what has arrived, without waiting.
		c.draining = true
		return c.drainRead(p)
	}
	return n, err
}

// drainRead reads, for a draining connection, what has already arrived;
// errDrained when nothing has, or the socket cannot say.
func (c *conn) drainRead(p []byte) (int, error) {
	if c.raw == nil {
		return 0, errDrained
	}
	n, err := c.readNow(p)
	if err != nil {
		return 0, errDrained
	}
	return n, nil
}

// errWouldBlock reports that reading would have to wait for input.
var errWouldBlock = errors.New("endpoint: read would block")
