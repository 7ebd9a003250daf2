package endpoint_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// gateConn is a real loopback TCP connection, wrapped (the endpoint reads it
// only through its Read), that lets the test hold one write.
type gateConn struct {
	*net.TCPConn
	gate     chan struct{} // closed by the test to let the gated write through
	entered  chan struct{} // closed when the gated write starts
	enterOne sync.Once
}

func (c *gateConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("GATED")) {
		c.enterOne.Do(func() { close(c.entered) })
		<-c.gate
	}
	return c.TCPConn.Write(p)
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
		entered: make(chan struct{})}
	l.conns <- gc
	return gc, nil
}

// Shutdown closes a connection that is still writing out its last reply when
// Shutdown looks at it, once the reply is out: the connection is not idle
// then, so Shutdown cannot wake it, and it must see the shutdown by itself
// when it goes idle. The hook orders the race, with no sleep: Shutdown has
// looked at every connection before the write may finish.
func TestShutdownClosesConnectionStillFlushingItsReply(t *testing.T) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: time.Hour}
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
	woke := make(chan struct{})
	endpoint.SetTestHookShutdownWoken(func() { close(woke) })
	t.Cleanup(func() {
		endpoint.SetTestHookShutdownWoken(nil)
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
	<-gc.entered // the connection is writing out the reply
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(ctx) }()
	<-woke
	close(gc.gate)

	client.SetReadDeadline(time.Now().Add(hangTimeout))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "GATED\n" {
		t.Fatalf("read %q, %v; want the reply, then the connection closed", got, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v; the connection should have closed once its reply was out", err)
	}
}
