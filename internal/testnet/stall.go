// Package testnet holds listeners for the project's tests that make a peer
// misbehave in ways a real socket only does depending on its buffer sizes.
package testnet

import (
	"net"
	"sync"
)

// A StallListener wraps the connections it accepts so that, once Stall has
// named a connection's peer, every write to it blocks until the connection is
// closed: the server then sees a peer that never reads, whatever the size of
// the kernel's socket buffers.
type StallListener struct {
	net.Listener

	mu    sync.Mutex // protects stall
	stall map[string]bool
}

// Listen returns a StallListener on a loopback TCP port.
func Listen() (*StallListener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &StallListener{Listener: l, stall: map[string]bool{}}, nil
}

// Stall makes every later write to the peer at addr (a client's local
// address) block until the server closes that connection.
func (l *StallListener) Stall(addr net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stall[addr.String()] = true
}

func (l *StallListener) stalled(addr net.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stall[addr.String()]
}

// Accept accepts a connection and wraps it.
func (l *StallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, l: l, closed: make(chan struct{})}, nil
}

type stallConn struct {
	net.Conn
	l      *StallListener
	once   sync.Once
	closed chan struct{}
}

func (c *stallConn) Write(p []byte) (int, error) {
	if c.l.stalled(c.RemoteAddr()) {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
