//go:build unix

package endpoint

import (
	"io"
	"net"
	"os"
	"syscall"
)

// socketOf returns rwc's raw socket, or nil if rwc is not a socket.
func socketOf(rwc net.Conn) syscall.RawConn {
	sc, ok := rwc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable blocks, within the connection's read deadline, until the
// socket has input (or an error or end of input) to read, reading none of it.
//
// It first peeks at one byte without waiting. That either finds input, or
// fails with EAGAIN, after which the runtime's poller is sure to report the
// next arrival; when it does, the wait is over without another look. (The
// first look cannot be skipped, even when the socket was last found empty:
// RawConn.Read forgets what the poller reported before it was called.) So an
// idle wait costs the same two calls as a plain read's EAGAIN and read.
func (c *conn) waitReadable() error {
	c.peeks = 0
	return c.raw.Read(c.ready)
}

// peekReady is the callback of waitReadable (stored in c.ready, so that
// passing it allocates nothing): it is called before waiting, and again each
// time the poller wakes it; true ends the wait.
func (c *conn) peekReady(fd uintptr) bool {
	c.peeks++
	if c.peeks > 1 {
		return true // the poller reports input
	}
	_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN
}

// readNow reads what has already arrived on the socket, without waiting and
// whatever the deadline: errWouldBlock when nothing has, io.EOF at the end of
// input.
func (c *conn) readNow(p []byte) (int, error) {
	c.now.p = p
	err := c.raw.Control(c.now.read)
	n, rerr := c.now.n, c.now.err
	c.now.p = nil
	if err != nil {
		return 0, err
	}
	switch {
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, os.NewSyscallError("read", rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// A nowRead is readNow's call to read(2), kept in the conn and made once, so
// that passing it to RawConn.Control allocates nothing.
type nowRead struct {
	p    []byte
	n    int
	err  error
	read func(fd uintptr)
}

func (r *nowRead) readFd(fd uintptr) {
	for {
		if r.n, r.err = syscall.Read(int(fd), r.p); r.err != syscall.EINTR {
			return
		}
	}
}
