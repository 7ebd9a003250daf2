package endpoint_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// STATS and Endpoint.Stats count a known mix of requests, errors, members,
// refusals, panics and protocol errors exactly.
func TestStatsCountsExactly(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.MaxConns = 2
		e.HandleFunc("BOOM", func(context.Context, *endpoint.Request) error { panic("boom") })
	})
	a := s.dial(t)
	a.write("PING\nPING\nNOPE\nSTRING\nhi\n")
	a.expect("PONG")
	a.expect("PONG")
	a.expectErr("unknown command")
	a.expect("OK hi")
	for range 2 { // two members, who leave the request/reply count
		m := s.dial(t)
		m.write("CHAT\n")
		if line, err := m.readLine(); err != nil || !strings.HasPrefix(line, "client id: ") {
			t.Fatalf("CHAT: %q, %v", line, err)
		}
	}
	d := s.dial(t)
	d.ping()
	over := s.dial(t) // the third request/reply connection: refused
	over.expect("ERR too many connections")
	over.expectClosed()
	d.write("STATS\n")
	d.expect("connections=4 members=2 requests=7 errors=2 accepted=5 refused=1 panics=0 protocol_errors=0 slow_members=0")

	a.write("BOOM\n") // a panic closes a
	a.expect("ERR internal error")
	a.expectClosed()
	d.write(strings.Repeat("x", endpoint.DefaultMaxLineBytes+2))
	d.expectErr("line too long")
	d.expectClosed()

	st := s.E.Stats()
	for name, want := range map[string][2]int64{"PING": {3, 0}, "STRING": {1, 0}, "CHAT": {2, 0}, "STATS": {1, 0}, "BOOM": {1, 1}, "unknown": {1, 1}} {
		if got := st.Commands[name]; got.Requests != want[0] || got.Errors != want[1] {
			t.Errorf("%s: %d requests, %d errors; want %d, %d", name, got.Requests, got.Errors, want[0], want[1])
		}
	}
	if st.Panics != 1 || st.ProtocolErrors[endpoint.KindLineTooLong] != 1 || st.Errors != 4 {
		t.Errorf("panics %d, line too long %d, errors %d; want 1, 1, 4", st.Panics, st.ProtocolErrors[endpoint.KindLineTooLong], st.Errors)
	}
	ping := st.Commands["PING"].Latency
	var inBuckets int64
	for _, n := range ping.Counts {
		inBuckets += n
	}
	if ping.Count < 2 || inBuckets != ping.Count || ping.Sum <= 0 {
		t.Errorf("PING latency: %d in buckets, count %d, sum %v; want at least the two that waited", inBuckets, ping.Count, ping.Sum)
	}
}

// Middleware wraps every command, the built-ins included, first installed
// outermost; an error it returns is the request's ERR line; for CHAT its
// after part runs when the member leaves.
func TestMiddleware(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	log := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	left := make(chan struct{}, 1)
	mw := func(name string) endpoint.Middleware {
		return func(next endpoint.Handler) endpoint.Handler {
			return endpoint.HandlerFunc(func(ctx context.Context, req *endpoint.Request) error {
				if name == "auth" && req.Command == "HELP" {
					return errors.New("not allowed")
				}
				log(name + ">" + req.Command)
				err := next.ServeCommand(ctx, req)
				log(name + "<" + req.Command)
				if req.Command == "CHAT" && name == "outer" {
					left <- struct{}{}
				}
				return err
			})
		}
	}
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.Use(mw("outer"), mw("auth")) })
	c := s.dial(t)
	c.ping()
	c.write("HELP\n")
	c.expect("ERR not allowed")
	c.ping() // the connection goes on
	mu.Lock()
	got := slices.Clone(trace)
	mu.Unlock()
	want := []string{"outer>PING", "auth>PING", "auth<PING", "outer<PING", "outer>HELP", "outer<HELP", "outer>PING", "auth>PING", "auth<PING", "outer<PING"}
	if !slices.Equal(got, want) {
		t.Fatalf("trace %q, want %q", got, want)
	}
	m := s.dial(t)
	m.write("CHAT\n")
	m.readLine()
	select {
	case <-left:
		t.Fatal("CHAT's middleware finished while the member is still in the room")
	default:
	}
	m.write("/quit\n")
	select {
	case <-left:
	case <-time.After(hangTimeout):
		t.Fatal("CHAT's middleware did not finish when the member left")
	}
	defer func() {
		if recover() == nil {
			t.Error("Use after serving did not panic")
		}
	}()
	s.E.Use(mw("late"))
}

// ConnState reports a connection's states in order.
func TestConnState(t *testing.T) {
	var mu sync.Mutex
	states := map[string][]endpoint.ConnState{}
	closed := make(chan struct{}, 2)
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.ConnState = func(c net.Conn, st endpoint.ConnState) {
			mu.Lock()
			states[c.RemoteAddr().String()] = append(states[c.RemoteAddr().String()], st)
			mu.Unlock()
			if st == endpoint.StateClosed {
				closed <- struct{}{}
			}
		}
	})
	c := s.dial(t)
	c.ping()
	c.ping()
	c.Close()
	m := s.dial(t)
	m.write("CHAT\n")
	m.readLine()
	m.write("/quit\n")
	for range 2 {
		select {
		case <-closed:
		case <-time.After(hangTimeout):
			t.Fatal("no closed state")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	N, A, I, H, C := endpoint.StateNew, endpoint.StateActive, endpoint.StateIdle, endpoint.StateHijacked, endpoint.StateClosed
	if got, want := states[c.LocalAddr().String()], []endpoint.ConnState{N, A, I, A, I, A, I, A, C}; !slices.Equal(got, want) {
		t.Errorf("request/reply connection: %v, want %v", got, want)
	}
	if got, want := states[m.LocalAddr().String()], []endpoint.ConnState{N, A, I, A, H, C}; !slices.Equal(got, want) {
		t.Errorf("chat member: %v, want %v", got, want)
	}
}

// Serving a pipelined STRING allocates nothing on the server, with stats
// counted and a middleware installed.
func TestDispatchAllocatesNothing(t *testing.T) {
	e := &endpoint.Endpoint{Logger: discardLogger()}
	e.Use(func(next endpoint.Handler) endpoint.Handler {
		return endpoint.HandlerFunc(func(ctx context.Context, req *endpoint.Request) error {
			return next.ServeCommand(ctx, req)
		})
	})
	handlers.Register(e)
	l := listen(t, "tcp")
	go e.Serve(l)
	t.Cleanup(func() { e.Close() })
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hangTimeout))
	const batch = 128
	req := []byte(strings.Repeat("STRING\n"+strings.Repeat("p", 64)+"\n", batch))
	want := batch * len("OK "+strings.Repeat("p", 64)+"\n")
	buf := make([]byte, 64<<10)
	round := func() {
		conn.Write(req)
		for got := 0; got < want; {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
	round() // warm: pools filled, routes cached
	if allocs := testing.AllocsPerRun(20, round); allocs/batch > 0.05 {
		t.Fatalf("%.2f allocations per batch of %d requests, want none", allocs, batch)
	}
}
