package endpoint_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// gatedConn holds its first Write until gate is closed, and counts Writes.
type gatedConn struct {
	net.Conn
	entered chan struct{} // closed when the first Write starts
	gate    chan struct{}
	writes  atomic.Int32
}

func (g *gatedConn) Write(p []byte) (int, error) {
	if g.writes.Add(1) == 1 {
		close(g.entered)
		<-g.gate
	}
	return g.Conn.Write(p)
}

// TestClientCoalescesWrites checks that calls made while a write is in
// progress leave their requests for the writer: while the first call's write
// is held, 20 more calls queue theirs, and all 20 go out in one more write.
func TestClientCoalescesWrites(t *testing.T) {
	s := startServer(t, "tcp", nil)
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedConn{Conn: conn, entered: make(chan struct{}), gate: make(chan struct{})}
	c := endpoint.NewClient(g)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	call := func(text string) {
		defer wg.Done()
		reply, err := c.Call(ctx, "STRING", text)
		if err == nil && reply != "OK "+text {
			t.Errorf("reply %q to %q", reply, text)
		}
		errs <- err
	}
	wg.Add(1)
	go call("first")
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("the first call never wrote")
	}
	for i := range n {
		wg.Add(1)
		go call(string(rune('a' + i)))
	}
	// Wait, bounded, for the calls to queue their requests behind the
	// held write.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for c.QueuedForTest() < n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("only %d of %d calls queued", c.QueuedForTest(), n)
		}
	}
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if w := g.writes.Load(); w != 2 {
		t.Fatalf("%d writes for %d calls, want 2: the held one and one for the rest", w, n+1)
	}
}
