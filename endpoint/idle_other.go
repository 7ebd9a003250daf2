//go:build !unix

package endpoint

import (
	"net"
	"syscall"
)

// Here a connection is not treated as a socket: idle connections keep their
// buffers, replies are written out before every read, and a draining
// connection serves only what it has buffered.

func socketOf(net.Conn) syscall.RawConn     { return nil }
func (c *conn) waitReadable() error         { return nil }
func (c *conn) peekReady(uintptr) bool      { return true }
func (c *conn) readNow([]byte) (int, error) { return 0, errWouldBlock }

type nowRead struct{ read func(uintptr) }

func (r *nowRead) readFd(uintptr) {}
