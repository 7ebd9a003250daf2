//go:build !unix

package endpoint

import "net"

// readinessWaiter returns nil: here idle connections keep their buffers.
func readinessWaiter(net.Conn) func() error { return nil }
