//go:build !unix

package endpoint

import (
	"net"
	"syscall"
)

// Here no conn is treated as a socket: an idle connection waits in a read,
// keeping its buffers, and a draining one is given drainWait to hand over
// input that has already arrived.

func socketOf(net.Conn) syscall.RawConn { return nil }
func (c *conn) waitReadable() error     { return nil }
func (c *conn) peekReady(uintptr) bool  { return true }
func (c *conn) peekNow() bool           { return false }
