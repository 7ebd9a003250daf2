package endpoint

// This test is internal: it replaces acceptSleep to watch the pauses.

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// tempError is an accept error that says it is temporary, as EMFILE does.
type tempError struct{}

func (tempError) Error() string   { return "accept: too many open files (injected)" }
func (tempError) Timeout() bool   { return false }
func (tempError) Temporary() bool { return true }

// flakyListener is a real listener whose Accept fails with tempError before
// the first connection (first times) and again after it (then times).
type flakyListener struct {
	net.Listener
	mu          sync.Mutex // protects the following
	first, then int
	accepted    bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.first > 0 {
		l.first--
		l.mu.Unlock()
		return nil, tempError{}
	}
	if l.accepted && l.then > 0 {
		l.then--
		l.mu.Unlock()
		return nil, tempError{}
	}
	l.mu.Unlock()
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.accepted = true
		l.mu.Unlock()
	}
	return c, err
}

func TestAcceptBacksOffOnTemporaryErrors(t *testing.T) {
	var mu sync.Mutex
	var pauses []time.Duration
	saved := acceptSleep
	acceptSleep = func(_ context.Context, d time.Duration) {
		mu.Lock()
		pauses = append(pauses, d)
		mu.Unlock()
	}
	t.Cleanup(func() { acceptSleep = saved }) // after Serve has returned, below

	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &flakyListener{Listener: real, first: 12, then: 3}
	e := &Endpoint{Logger: slog.New(slog.DiscardHandler)}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	t.Cleanup(func() {
		e.Close()
		select {
		case err := <-served:
			if !errors.Is(err, ErrEndpointClosed) {
				t.Errorf("Serve returned %v, want ErrEndpointClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return")
		}
	})

	// The server keeps accepting through the errors: a connection made
	// now, and one made after the second burst, are both served.
	ping := func() {
		t.Helper()
		c, err := net.DialTimeout("tcp", real.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("PING\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(c).ReadString('\n'); line != "PONG\n" {
			t.Fatalf("PING = %q, %v", line, err)
		}
	}
	ping()
	ping()

	ms := time.Millisecond
	want := []time.Duration{
		// 5ms, doubling, capped at 1s
		5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second, time.Second, time.Second,
		// a connection accepted resets the pause
		5 * ms, 10 * ms, 20 * ms,
	}
	mu.Lock()
	got := slices.Clone(pauses)
	mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("pauses after temporary accept errors:\n got %v\nwant %v", got, want)
	}
}

func TestAcceptStopsOnPermanentError(t *testing.T) {
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &Endpoint{Logger: slog.New(slog.DiscardHandler)}
	real.Close() // Accept now fails, and not temporarily
	err = e.Serve(real)
	if err == nil || errors.Is(err, ErrEndpointClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve on a failing listener returned %v, want the accept error", err)
	}
}
