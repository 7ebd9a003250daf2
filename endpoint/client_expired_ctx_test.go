package endpoint_test

import (
	"context"
	"errors"
	"testing"
)

// A call made with a context that has already ended fails on its own and
// leaves the Client working: it must not take the write slot and then have
// its context cut the shared connection's write.
func TestClientCallWithExpiredContextKeepsClientUsable(t *testing.T) {
	s := startServer(t, "tcp", nil)
	cl := s.client(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20000 {
		if r, err := cl.Call(done, "PING"); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: call with an expired context = %q, %v; want context.Canceled (or PONG)", i, r, err)
		}
		if r, err := cl.Call(context.Background(), "PING"); err != nil || r != "PONG" {
			t.Fatalf("round %d: the next call = %q, %v; want PONG: a call with an already-cancelled context broke the client", i, r, err)
		}
	}
}
