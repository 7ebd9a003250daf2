//go:build unix

package endpoint

import (
	"net"
	"syscall"
)

// readinessWaiter returns a func that blocks, within the connection's read
// deadline, until rwc has input (or an error or end of input) to read, reading
// none of it; nil if rwc is not a socket. Peeking at one byte without waiting
// either finds input, or fails with EAGAIN, after which the runtime's poller
// is sure to report the next arrival.
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
	ready := func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	}
	return func() error { return raw.Read(ready) }
}
