package endpoint_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"go.uber.org/goleak"
)

// poolServer is an endpoint with the built-ins that a test can stop and
// start again on the same address.
type poolServer struct {
	t      *testing.T
	addr   string
	e      *endpoint.Endpoint
	served chan error
}

func newPoolServer(t *testing.T, addr string) *poolServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &poolServer{t: t, addr: l.Addr().String(), served: make(chan error, 1)}
	s.e = &endpoint.Endpoint{Logger: discardLogger()}
	handlers.Register(s.e)
	go func() { s.served <- s.e.Serve(l) }()
	t.Cleanup(s.stop)
	return s
}

// stop closes the endpoint and its connections and waits for Serve.
func (s *poolServer) stop() {
	if s.e == nil {
		return
	}
	s.e.Close()
	select {
	case <-s.served:
	case <-time.After(hangTimeout):
		s.t.Errorf("Serve did not return within %v", hangTimeout)
	}
	s.e = nil
}

func (s *poolServer) requests() int64 { return s.e.Stats().Requests }

func quickPool(addrs []string) *endpoint.Pool {
	return endpoint.NewPool("tcp", addrs, endpoint.PoolConfig{
		ConnsPerAddr:  2,
		HealthEvery:   20 * time.Millisecond,
		HealthTimeout: time.Second,
		MinBackoff:    5 * time.Millisecond,
		MaxBackoff:    50 * time.Millisecond,
	})
}

// TestPoolRidesOutARestart runs calls from several goroutines over three
// servers while one of them is stopped and started again on its address: no
// call hangs, calls carry on over the other two, the errors are those of
// calls written to the stopped server, and the restarted one is used again.
func TestPoolRidesOutARestart(t *testing.T) {
	servers := []*poolServer{newPoolServer(t, "127.0.0.1:0"), newPoolServer(t, "127.0.0.1:0"), newPoolServer(t, "127.0.0.1:0")}
	addrs := []string{servers[0].addr, servers[1].addr, servers[2].addr}
	p := quickPool(addrs)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()

	// Round-robin: 30 calls reach every server.
	for range 30 {
		if reply, err := p.Call(ctx, "STRING", "rr"); err != nil || reply != "OK rr" {
			t.Fatalf("call: %q, %v", reply, err)
		}
	}
	for i, s := range servers {
		if s.requests() == 0 {
			t.Fatalf("server %d got none of 30 calls", i)
		}
	}

	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
				reply, err := p.Call(cctx, "PING")
				ccancel()
				switch {
				case err == nil && reply == "PONG":
					ok.Add(1)
				case errors.Is(err, endpoint.ErrConnBroken), errors.Is(err, endpoint.ErrClientClosed):
					failed.Add(1) // written to the server that stopped
				default:
					t.Errorf("call: %q, %v", reply, err)
					return
				}
			}
		}()
	}
	waitOK := func(what string, n int64) {
		t.Helper()
		for target := ok.Load() + n; ok.Load() < target; {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: only %d calls succeeded", what, ok.Load())
			case <-time.After(time.Millisecond):
			}
		}
	}
	waitOK("before the stop", 200)
	servers[1].stop()
	waitOK("with one server stopped", 500)
	restarted := newPoolServer(t, addrs[1])
	for restarted.requests() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the restarted server is not used again")
		case <-time.After(time.Millisecond):
		}
	}
	waitOK("after the restart", 200)
	close(stop)
	wg.Wait()
	t.Logf("%d calls answered, %d failed on the stopped server", ok.Load(), failed.Load())
}

// TestPoolSilentServer checks that a server that accepts and never answers
// hangs no call: each ends with its context, and the calls to the other
// server are answered.
func TestPoolSilentServer(t *testing.T) {
	good := newPoolServer(t, "127.0.0.1:0")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	p := quickPool([]string{good.addr, l.Addr().String()})
	defer p.Close()
	var answered, timedOut int
	for range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		reply, err := p.Call(ctx, "PING")
		cancel()
		switch {
		case err == nil && reply == "PONG":
			answered++
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, endpoint.ErrClientClosed), errors.Is(err, endpoint.ErrConnBroken):
			timedOut++
		default:
			t.Fatalf("call: %q, %v", reply, err)
		}
		if d := time.Since(start); d > hangTimeout {
			t.Fatalf("a call took %v", d)
		}
	}
	if answered == 0 {
		t.Fatalf("no call answered by the good server (%d ended with their contexts)", timedOut)
	}
}

// TestPoolFailsFast checks that with every endpoint down, a call whose
// context never ends returns the dial error, and one with a deadline waits
// for it and names the dial error.
func TestPoolFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := quickPool([]string{addr})
	defer p.Close()
	done := make(chan error, 2)
	go func() {
		_, err := p.Call(context.Background(), "PING")
		done <- err
		_, err = p.Call(context.Background(), "PING")
		done <- err
	}()
	for range 2 {
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a call to a closed address succeeded")
			}
		case <-time.After(hangTimeout):
			t.Fatal("a call with a context that never ends waited for a dead endpoint")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Call(ctx, "PING"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call with a deadline: %v, want its deadline", err)
	}
}

// TestPoolRefusesCHATAndCloses checks that CHAT never gets a pooled
// connection, and that Close ends a call waiting for a connection.
func TestPoolRefusesCHATAndCloses(t *testing.T) {
	s := newPoolServer(t, "127.0.0.1:0")
	p := quickPool([]string{s.addr})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	for _, name := range []string{"CHAT", "chat", " Chat "} {
		if _, err := p.Call(ctx, name); err == nil {
			t.Fatalf("%q was given a pooled connection", name)
		}
	}
	if reply, err := p.Call(ctx, "PING"); err != nil || reply != "PONG" {
		t.Fatalf("PING: %q, %v", reply, err)
	}
	p.Close()
	if _, err := p.Call(ctx, "PING"); !errors.Is(err, endpoint.ErrPoolClosed) {
		t.Fatalf("call after Close: %v, want ErrPoolClosed", err)
	}

	// A call waiting for a connection that never comes ends with Close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p2 := quickPool([]string{addr})
	waiting := make(chan error, 1)
	go func() {
		_, err := p2.Call(ctx, "PING")
		waiting <- err
	}()
	p2.Close()
	select {
	case err := <-waiting:
		if err == nil {
			t.Fatal("a call succeeded against a closed address")
		}
	case <-ctx.Done():
		t.Fatal("a call waiting for a connection outlived Close")
	}
}

// TestPoolServerClosesAtRandom runs calls against a server that answers a
// random number of requests on each connection (none to three) and then
// closes it: every call returns, each with its reply or a broken
// connection's error, and the Pool keeps redialling.
func TestPoolServerClosesAtRandom(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	defer conns.Wait()
	defer l.Close()
	go func() {
		for n := 0; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn, answers int) {
				defer conns.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(hangTimeout))
				r := newReader(c)
				for range answers {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := c.Write([]byte("PONG\n")); err != nil {
						return
					}
				}
			}(c, n%4)
		}
	}()
	p := quickPool([]string{l.Addr().String()})
	defer p.Close()
	var answered, broken int
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		reply, err := p.Call(ctx, "PING")
		expired := ctx.Err() != nil
		cancel()
		switch {
		case expired:
			t.Fatalf("a call waited %v", hangTimeout)
		case err == nil && reply == "PONG":
			answered++
		case errors.Is(err, endpoint.ErrConnBroken), errors.Is(err, endpoint.ErrClientClosed):
			broken++
		default:
			t.Fatalf("call: %q, %v", reply, err)
		}
	}
	if answered == 0 {
		t.Fatalf("no call answered (%d broken)", broken)
	}
}

// TestPoolGreetingAndNoLeak checks a Pool over a server that greets (the
// Dialer expects it), and that Close leaves none of the Pool's goroutines
// behind.
func TestPoolGreetingAndNoLeak(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.Greeting = "pool greeting" })
	before := goleak.IgnoreCurrent()
	p := endpoint.NewPool("tcp", []string{s.Addr, s.Addr}, endpoint.PoolConfig{
		Dialer:       endpoint.Dialer{Greeting: true},
		ConnsPerAddr: 3,
		HealthEvery:  5 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if reply, err := p.Call(ctx, "STRING", "x"); err != nil || reply != "OK x" {
					t.Errorf("call: %q, %v", reply, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	p.Close()
	// The server's clock goroutine lives while it has connections, and
	// is the server's, not the Pool's.
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("github.com/endpoint-rpc/endpoint/endpoint.(*Endpoint).holdClockLocked.func1"))
}
