package endpoint_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// A client that trickles a request's payload, a byte at a time within the
// idle timeout of the last, must still finish the request within the idle
// timeout of its start: each read must not get a fresh deadline.
func TestTrickledRequestIsClosedAfterIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() { e.Close() })

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // returns when the server closes
		close(closed)
	}()
	start := time.Now()
	io.WriteString(conn, "STRING\n")
	// 30 bytes, one every idle/3: 3 s in all, ten times the idle timeout.
	tick := time.NewTicker(idle / 3)
	defer tick.Stop()
	for i := range 30 {
		select {
		case <-closed:
			// Measured, not counted in ticks: the third tick falls due
			// just as the timeout does. The endpoint may keep a deadline
			// up to 1/64 of the timeout early (see armFor).
			if d := time.Since(start); d < idle-idle/64 {
				t.Fatalf("closed %v after the request began (%d bytes), before the idle timeout could have passed", d, i)
			}
			return
		case <-tick.C:
			conn.Write([]byte{'x'})
		}
	}
	t.Fatal("the server waited for the whole trickled payload: each read got a fresh deadline")
}

// A connection that is served steadily, request after request, is not closed
// by the idle timeout, however long it lasts in all.
func TestBusyConnectionOutlivesIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() { e.Close() })
	c, err := endpoint.Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for end := time.Now().Add(5 * idle); time.Now().Before(end); {
		if r, err := c.Call(context.Background(), "PING"); err != nil || r != "PONG" {
			t.Fatalf("PING = %q, %v after %v of steady use", r, err, time.Until(end))
		}
	}
}
