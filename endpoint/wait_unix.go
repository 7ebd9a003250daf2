//go:build unix

package endpoint

import (
	"net"
	"syscall"
)

// socketOf returns the socket under rwc when rwc is exactly a *net.TCPConn or
// a *net.UnixConn, or nil. Any other conn, even one that embeds such a
// connection (a TLS session, a byte counter, a sniffer that has consumed
// bytes), is only ever read through its own Read, never around it.
func socketOf(rwc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := rwc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable blocks, within the read deadline, until the socket has input
// (or an error or end of input) to read, reading none of it, so that an idle
// connection needs no read buffer.
//
// It first peeks at one byte without waiting. That either finds input, or
// fails with EAGAIN, after which the runtime's poller is sure to report the
// next arrival; when it does, the wait is over without another look. So an
// idle wait costs the same two calls as a plain read's EAGAIN and read.
func (c *conn) waitReadable() error {
	c.peeks = 0
	return c.sock.Read(c.ready)
}

// peekReady is the callback of waitReadable: it is called before waiting, and
// again each time the poller wakes it; true ends the wait.
func (c *conn) peekReady(fd uintptr) bool {
	c.peeks++
	if c.peeks > 1 {
		return true // the poller reports input
	}
	return !c.peekWouldBlock(fd)
}

// peekNow reports, without waiting and whatever the deadline, whether input
// (or end of input, or an error) is there to read.
func (c *conn) peekNow() bool {
	ready := false
	if err := c.sock.Control(func(fd uintptr) { ready = !c.peekWouldBlock(fd) }); err != nil {
		return false
	}
	return ready
}

func (c *conn) peekWouldBlock(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err != syscall.EINTR {
			return err == syscall.EAGAIN
		}
	}
}
