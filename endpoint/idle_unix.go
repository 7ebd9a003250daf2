//go:build unix

package endpoint

import (
	"net"
	"syscall"
)

// readinessWaiter returns a func that blocks, within the connection's read
// deadline, until rwc has input (or an error or end of input) to read, reading
// none of it; nil if rwc is not a socket.
//
// It first peeks at one byte without waiting. That either finds input, or
// fails with EAGAIN, after which the runtime's poller is sure to report the
// next arrival; when it does, the wait is over without another look. (The
// first look cannot be skipped, even when the socket was last found empty:
// RawConn.Read forgets what the poller reported before it was called.) So an
// idle wait costs the same two calls as a plain read's EAGAIN and read.
func readinessWaiter(rwc net.Conn) func() error {
	sc, ok := rwc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var b [1]byte
	var calls int
	// ready is called before waiting, and again each time the poller wakes
	// it; returning true ends the wait.
	ready := func(fd uintptr) bool {
		calls++
		if calls > 1 {
			return true // the poller reports input
		}
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	}
	return func() error {
		calls = 0
		return raw.Read(ready)
	}
}
