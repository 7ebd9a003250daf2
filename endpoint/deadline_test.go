package endpoint_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// A request must arrive whole within the idle timeout of its start: a client
// that trickles it, a byte at a time within the timeout of the last, is closed
// all the same, whether it trickles the command line or the payload. Each
// read must not get a fresh deadline.
func TestTrickledRequestIsClosedAfterIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	for _, tc := range []struct{ name, start string }{
		{"command line", " "}, // spaces before a command name are allowed
		{"payload", "STRING\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.IdleTimeout = idle })
			conn, err := net.Dial("tcp", s.Addr)
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
			io.WriteString(conn, tc.start)
			// 30 more bytes, one every idle/3: 3 s in all, ten times
			// the idle timeout.
			tick := time.NewTicker(idle / 3)
			defer tick.Stop()
			for i := range 30 {
				select {
				case <-closed:
					// Measured, not counted in ticks: the third tick
					// falls due just as the timeout does. A deadline
					// may be kept up to 1/64 of the timeout early.
					if d := time.Since(start); d < idle-idle/64 {
						t.Fatalf("closed %v after the request began (%d bytes), before the idle timeout could have passed", d, i)
					}
					return
				case <-tick.C:
					conn.Write([]byte{' '})
				}
			}
			t.Fatalf("the server waited for the whole trickled %s: each read got a fresh deadline", tc.name)
		})
	}
}

// A connection that is served steadily, request after request, is not closed
// by the idle timeout, however long it lasts in all.
func TestBusyConnectionOutlivesIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.IdleTimeout = idle })
	c := s.client(t)
	for end := time.Now().Add(5 * idle); time.Now().Before(end); {
		if r, err := c.Call(context.Background(), "PING"); err != nil || r != "PONG" {
			t.Fatalf("PING = %q, %v after %v of steady use", r, err, time.Until(end))
		}
	}
}

// slowServer serves the built-ins and SLOW, whose handler outlasts the idle
// timeout (not a wait for a signal: outlasting it is the point) and then
// replies DONE; a value arrives on entered as each SLOW begins.
func slowServer(t *testing.T, idle time.Duration) (s *testServer, entered <-chan struct{}) {
	in := make(chan struct{}, 8)
	s = startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.IdleTimeout = idle
		e.HandleFunc("SLOW", func(ctx context.Context, req *endpoint.Request) error {
			in <- struct{}{}
			select {
			case <-time.After(idle + idle/2):
			case <-ctx.Done():
				return ctx.Err()
			}
			return req.WriteLine("DONE")
		})
	})
	return s, in
}

// A handler slower than the idle timeout still gets its reply out: the
// client sent its whole request and is reading, and every request gets
// exactly one reply. The reply is written under a fresh deadline.
func TestSlowHandlerReplyIsNotDropped(t *testing.T) {
	s, _ := slowServer(t, 300*time.Millisecond)
	c := dialRaw(t, "tcp", s.Addr)
	c.write("SLOW\n")
	if got, err := c.readLine(); err != nil || got != "DONE" {
		t.Fatalf("reply %q, %v; want DONE", got, err)
	}
}

// A request pipelined behind a slow one is served: its payload, which arrived
// promptly, is read although the slow request outlasted the idle timeout.
func TestPipelinedRequestBehindSlowOneIsServed(t *testing.T) {
	s, entered := slowServer(t, 300*time.Millisecond)
	c := dialRaw(t, "tcp", s.Addr)
	c.write("SLOW\nSTRING\n")
	<-entered // both command lines were read together
	c.write("payload\n")
	for _, want := range []string{"DONE", "OK payload"} {
		if got, err := c.readLine(); err != nil || got != want {
			t.Fatalf("reply %q, %v; want %q", got, err, want)
		}
	}
}
