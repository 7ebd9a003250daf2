package endpoint

import (
	"errors"
	"os"
	"syscall"
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
	// bufio calls Read only when it has no input left to give: this is
	// where the deadline is kept up, and where the replies buffered so far
	// are written out before waiting for more.
	if c.readingCommand {
		c.setIdle() // the rest of a command line may be long in coming
	}
	now := time.Now()
	c.armFor(now)
	c.lastRead = now
	if c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			return 0, err
		}
	}
	if c.draining && c.waiting() {
		return r.readNow(p)
	}
	n, err := c.rwc.Read(p)
	if err != nil && c.waiting() && c.e.inShutdown.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		// Woken by Shutdown: take what has arrived, without blocking.
		c.draining = true
		return r.readNow(p)
	}
	return n, err
}

// readNow reads what has already arrived, without blocking.
func (r connReader) readNow(p []byte) (int, error) {
	sc, ok := r.c.rwc.(syscall.Conn)
	if !ok {
		return 0, errDrained
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, errDrained
	}
	var n int
	var rerr error
	if err := raw.Control(func(fd uintptr) { n, rerr = syscall.Read(int(fd), p) }); err != nil {
		return 0, errDrained
	}
	if rerr != nil || n <= 0 {
		return 0, errDrained
	}
	return n, nil
}
