package endpoint_test

import (
	"context"
	"errors"
	"testing"
)

// A call made with a context that has already ended must fail on its own,
// without disturbing the others (README: "A call abandoned this way does not
// disturb the others"). But send's select may take the free semaphore even
// though ctx is done, and then watchWrite's context.AfterFunc runs at once,
// on its own goroutine, setting a past write deadline that races with the
// Flush: when it wins, the Flush fails and fail() breaks the whole Client,
// failing every pending and later call with ErrConnBroken.
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
