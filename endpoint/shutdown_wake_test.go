package endpoint_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// gateConn is a real loopback TCP connection (it still implements
// syscall.Conn and CloseWrite, by embedding) that lets the test hold one write
// and see when Shutdown wakes the connection with a past read deadline.
type gateConn struct {
	*net.TCPConn
	gate     chan struct{} // closed by the test to let the gated write through
	entered  chan struct{} // closed when the gated write starts
	woken    chan struct{} // closed when a past read deadline is set
	enterOne sync.Once
	wakeOne  sync.Once
}

func (c *gateConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("GATED")) {
		c.enterOne.Do(func() { close(c.entered) })
		<-c.gate
	}
	return c.TCPConn.Write(p)
}

func (c *gateConn) SetReadDeadline(t time.Time) error {
	err := c.TCPConn.SetReadDeadline(t)
	if !t.IsZero() && t.Before(time.Now()) {
		c.wakeOne.Do(func() { close(c.woken) })
	}
	return err
}

type gateListener struct {
	net.Listener
	conns chan *gateConn
}

func (l *gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &gateConn{TCPConn: c.(*net.TCPConn), gate: make(chan struct{}),
		entered: make(chan struct{}), woken: make(chan struct{})}
	l.conns <- gc
	return gc, nil
}

// Shutdown wakes a connection that waits for its next request, even when
// the wake lands while the connection is still writing out its previous
// reply and has yet to set its own deadline for the wait: the connection
// checks for the wake after setting it, so it cannot overwrite it.
func TestShutdownWakesConnectionStillFlushingItsReply(t *testing.T) {
	const idle = 20 * time.Second // armIdle's tolerance: idle/64 = 312ms
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	e.HandleFunc("GATED", func(_ context.Context, req *endpoint.Request) error {
		return req.WriteLine("GATED")
	})
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &gateListener{Listener: tl, conns: make(chan *gateConn, 1)}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		e.Shutdown(ctx)
		<-served
	})

	client, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	gc := <-l.conns
	if _, err := client.Write([]byte("GATED\n")); err != nil {
		t.Fatal(err)
	}
	// The handler has replied; the connection marked itself idle and is
	// flushing the reply in waitIdle.
	<-gc.entered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(ctx) }()
	<-gc.woken // Shutdown has set the past read deadline
	// Not a wait for a signal: armIdle leaves a deadline within idle/64 of
	// the one it wants, so the flush must take longer than that for
	// armIdle to set the socket's deadline again.
	time.Sleep(idle/64 + 200*time.Millisecond)
	close(gc.gate)

	buf := make([]byte, 64)
	client.SetReadDeadline(time.Now().Add(hangTimeout))
	if n, err := client.Read(buf); err != nil || string(buf[:n]) != "GATED\n" {
		t.Fatalf("reply %q, %v; want GATED", buf[:n], err)
	}
	start := time.Now()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown returned %v after %v; the connection was idle and should have been closed at once (its wake was overwritten by its own deadline)", err, time.Since(start).Round(time.Millisecond))
	}
}
