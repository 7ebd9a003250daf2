//go:build !unix

package endpoint_test

import "syscall"

// smallBuffer leaves the socket's buffers as they are where socket options
// are not set here.
func smallBuffer(int) func(network, address string, c syscall.RawConn) error { return nil }
