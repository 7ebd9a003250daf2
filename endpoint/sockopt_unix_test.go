//go:build unix

package endpoint_test

import "syscall"

// smallBuffer returns a dialer Control that sets the socket buffer option
// (syscall.SO_SNDBUF or SO_RCVBUF) to 4 KiB before connecting.
func smallBuffer(opt int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 4096)
		})
		return serr
	}
}
