package endpoint_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"go.uber.org/goleak"
)

// blocker is a handler that blocks until released or until its context ends,
// and tells the test when it has started and how it ended.
type blocker struct {
	entered  chan struct{} // one value per request that reached the handler
	release  chan struct{} // closed to let the handlers reply
	returned chan error    // one value per request: nil, or the context's error
}

func newBlocker(tb testing.TB) *blocker {
	b := &blocker{entered: make(chan struct{}, 100), release: make(chan struct{}), returned: make(chan error, 100)}
	// Cleanups run last-registered first: this one, registered after the
	// server's, lets a still-blocked handler go before the server stops.
	tb.Cleanup(b.unblock)
	return b
}

func (b *blocker) unblock() {
	select {
	case <-b.release:
	default:
		close(b.release)
	}
}

func (b *blocker) ServeCommand(ctx context.Context, req *endpoint.Request) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		b.returned <- nil
		return req.WriteLine("released")
	case <-ctx.Done():
		b.returned <- ctx.Err()
		return ctx.Err()
	}
}

// waitEntered waits for a request to reach the handler.
func (b *blocker) waitEntered(tb testing.TB) {
	tb.Helper()
	select {
	case <-b.entered:
	case <-time.After(hangTimeout):
		tb.Fatal("the handler was never called")
	}
}

// shutdownAsync calls Shutdown with ctx on another goroutine.
func shutdownAsync(e *endpoint.Endpoint, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(ctx) }()
	return done
}

func waitErr(tb testing.TB, ch <-chan error, what string) error {
	tb.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(hangTimeout):
		tb.Fatalf("%s did not return within %v", what, hangTimeout)
		return nil
	}
}

func TestServeReturnsErrEndpointClosed(t *testing.T) {
	for _, stop := range []string{"Shutdown", "Close"} {
		t.Run(stop, func(t *testing.T) {
			s := startServer(t, "tcp", nil)
			s.connected(t)
			if stop == "Shutdown" {
				if err := s.E.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			} else if err := s.E.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.waitServe(t); !errors.Is(err, endpoint.ErrEndpointClosed) {
				t.Fatalf("Serve returned %v, want ErrEndpointClosed", err)
			}
			// The listener is closed: nobody answers on its address.
			if c, err := net.DialTimeout("tcp", s.Addr, hangTimeout); err == nil {
				c.Close()
				t.Error("the listener still accepts connections")
			}
			// Serving again is refused at once, and closes the listener.
			l := listen(t, "tcp")
			if err := s.E.Serve(l); !errors.Is(err, endpoint.ErrEndpointClosed) {
				t.Errorf("Serve after %s returned %v, want ErrEndpointClosed", stop, err)
			}
			if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("listener passed to Serve after %s: Accept = %v, want net.ErrClosed", stop, err)
			}
			if err := s.E.ListenAndServe("tcp", "127.0.0.1:0"); !errors.Is(err, endpoint.ErrEndpointClosed) {
				t.Errorf("ListenAndServe after %s returned %v, want ErrEndpointClosed", stop, err)
			}
		})
	}
}

func TestCloseIsIdempotentAndClosesConnections(t *testing.T) {
	s := startServer(t, "tcp", nil)
	a := s.connected(t)
	b := s.dial(t)
	b.write("STRING\n") // in the middle of a request
	for i := range 3 {
		if err := s.E.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	a.expectClosed()
	b.expectErrLinesThenClosed()
}

func TestShutdownWaitsForRequestInFlight(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		b := newBlocker(t)
		s := startServer(t, network, func(e *endpoint.Endpoint) { e.Handle("BLOCK", b) })
		c := s.dial(t)
		c.write("BLOCK\nPING\n") // a PING queued behind it has reached the server too
		b.waitEntered(t)

		done := shutdownAsync(s.E, context.Background())
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while a request was in flight", err)
		case <-time.After(100 * time.Millisecond):
		}
		// New connections are not served meanwhile.
		if nc, err := net.DialTimeout(network, s.Addr, hangTimeout); err == nil {
			late := &rawConn{Conn: nc, tb: t, r: bufio.NewReader(nc)}
			nc.Write([]byte("PING\n"))
			if line, err := late.readLine(); err == nil {
				t.Errorf("a connection made during Shutdown was served: %q", line)
			}
			nc.Close()
		}

		b.unblock()
		c.expect("released")
		c.expect("PONG")
		c.expectClosed()
		if err := waitErr(t, done, "Shutdown"); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := <-b.returned; err != nil {
			t.Fatalf("the handler's context ended (%v) before it could reply", err)
		}
	})
}

func TestShutdownAnswersRequestsThatHaveArrived(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		// The interleaving of the connection's goroutine and Shutdown
		// varies from run to run; try it several times.
		for range 10 {
			s := startServer(t, network, nil)
			c := s.connected(t) // accepted, and idle
			c.write("PING\nSTRING\nlast words\n")
			done := shutdownAsync(s.E, context.Background())
			c.expect("PONG")
			c.expect("OK last words")
			c.expectClosed()
			if err := waitErr(t, done, "Shutdown"); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		}
	})
}

// TestShutdownAnswersRequestWithoutIdleTimeout: with no idle timeout, a
// command line that has arrived when Shutdown wakes its connection is served
// even though its payload comes later (the past deadline Shutdown set to wake
// the connection must not fail the payload read).
func TestShutdownAnswersRequestWithoutIdleTimeout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		// Whether the command line is read before or after the wake
		// varies; about half the rounds take the path under test.
		for range 20 {
			s := startServer(t, network, func(e *endpoint.Endpoint) { e.IdleTimeout = -1 })
			idle := s.connected(t)
			c := s.connected(t)
			c.write("STRING\n")
			done := shutdownAsync(s.E, context.Background())
			// Shutdown wakes every connection at once: when the idle
			// one has been closed, c has been woken too.
			idle.expectClosed()
			c.write("the payload\n")
			c.expect("OK the payload")
			c.expectClosed()
			if err := waitErr(t, done, "Shutdown"); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		}
	})
}

func TestShutdownClosesIdleConnectionsPromptly(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		// The default idle timeout is minutes: Shutdown must not wait for
		// it, nor for the long ctx.
		s := startServer(t, network, nil)
		var conns []*rawConn
		for range 5 {
			conns = append(conns, s.connected(t))
		}
		silent := s.dial(t) // never sent a byte
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		if err := waitErr(t, shutdownAsync(s.E, ctx), "Shutdown"); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		for _, c := range conns {
			c.expectClosed()
		}
		silent.expectClosed()
	})
}

func TestShutdownWithExpiredContext(t *testing.T) {
	for name, tc := range map[string]struct {
		mkctx func() (context.Context, context.CancelFunc)
		want  error
	}{
		"deadline": {func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		"cancelled": {func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBlocker(t)
			s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.Handle("BLOCK", b) })
			idle := s.connected(t)
			busy := s.dial(t)
			busy.write("BLOCK\n")
			b.waitEntered(t)

			ctx, cancel := tc.mkctx()
			defer cancel()
			err := waitErr(t, shutdownAsync(s.E, ctx), "Shutdown")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Shutdown = %v, want %v", err, tc.want)
			}
			// Every connection is closed, and the handler's context ended.
			idle.expectClosed()
			busy.expectErrLinesThenClosed()
			if err := waitErr(t, b.returned, "the handler"); !errors.Is(err, context.Canceled) {
				t.Fatalf("the handler ended with %v, want its context cancelled", err)
			}
			if err := s.waitServe(t); !errors.Is(err, endpoint.ErrEndpointClosed) {
				t.Fatalf("Serve returned %v, want ErrEndpointClosed", err)
			}
		})
	}
}

// TestNoGoroutinesLeftAfterShutdown runs a busy endpoint and shuts it down,
// then checks that no goroutine it or its clients started is still running.
// It must not run in parallel with other tests.
func TestNoGoroutinesLeftAfterShutdown(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ctx := context.Background()
	e := &endpoint.Endpoint{Logger: discardLogger()}
	b := &blocker{entered: make(chan struct{}, 10), release: make(chan struct{}), returned: make(chan error, 10)}
	e.Handle("BLOCK", b)
	l := listen(t, "tcp")
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()

	cl, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := cl.Call(ctx, "PING"); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := cl.Call(ctx, "BLOCK")
		blocked <- err
	}()
	b.waitEntered(t)
	idle := dialRaw(t, "tcp", l.Addr().String())
	idle.ping()

	done := shutdownAsync(e, ctx)
	b.unblock()
	if err := waitErr(t, done, "Shutdown"); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(t, blocked, "the blocked call"); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(t, served, "Serve"); !errors.Is(err, endpoint.ErrEndpointClosed) {
		t.Fatal(err)
	}
	cl.Close()
	idle.Close()
	goleak.VerifyNone(t, before)
}
