package endpoint_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// roomServer serves, on loopback TCP, a JOIN command that puts the connection
// in room for the rest of its life and drops whatever it writes, plus the
// handlers in extra. It is what an embedding program builds on the room API.
// A value arrives on the returned channel each time a member has left.
func roomServer(tb testing.TB, room *endpoint.Room, configure func(*endpoint.Endpoint), extra map[string]endpoint.HandlerFunc) (string, <-chan struct{}) {
	tb.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(e)
	}
	left := make(chan struct{}, 10000)
	e.HandleFunc("JOIN", func(_ context.Context, req *endpoint.Request) error {
		s, err := req.Hijack()
		if err != nil {
			return err
		}
		room.Join(s, "joined")
		defer func() {
			room.Leave(s)
			left <- struct{}{}
		}()
		for {
			if _, err := s.ReadLine(); err != nil {
				return nil
			}
		}
	})
	for name, h := range extra {
		e.HandleFunc(name, h)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go e.Serve(l)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
	})
	return l.Addr().String(), left
}

// joinRoom connects and sends JOIN, returning once the member is in the room.
func joinRoom(tb testing.TB, addr string) (net.Conn, *bufio.Reader) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "JOIN\n"); err != nil {
		tb.Fatal(err)
	}
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := r.ReadString('\n'); line != "joined\n" {
		tb.Fatalf("after JOIN got %q, %v; want joined", line, err)
	}
	conn.SetReadDeadline(time.Time{})
	return conn, r
}

func TestRoomBroadcastExceptAndLeave(t *testing.T) {
	var room endpoint.Room
	addr, left := roomServer(t, &room, nil, nil)
	a, ra := joinRoom(t, addr)
	_, rb := joinRoom(t, addr)
	if n := room.Broadcast("to all", nil); n != 2 {
		t.Fatalf("Broadcast queued for %d, want 2", n)
	}
	for _, r := range []*bufio.Reader{ra, rb} {
		if line, _ := r.ReadString('\n'); line != "to all\n" {
			t.Fatalf("got %q, want to all", line)
		}
	}
	if room.Broadcast("two\nlines", nil) != 0 {
		t.Fatal("a line with a newline was queued: it would split into two lines on the wire")
	}
	if room.Len() != 2 {
		t.Fatalf("room has %d members after a refused line, want 2", room.Len())
	}
	a.Close()
	<-left
	if room.Len() != 1 {
		t.Fatalf("room has %d members after one left, want 1", room.Len())
	}
	if n := room.Broadcast("after", nil); n != 1 {
		t.Fatalf("Broadcast queued for %d after a member left, want 1", n)
	}
	if line, _ := rb.ReadString('\n'); line != "after\n" {
		t.Fatalf("got %q, want after", line)
	}
}

func TestMaxHandlersBoundsConcurrencyAndDropsNothing(t *testing.T) {
	const limit, clients = 2, 6
	var running, peak atomic.Int32
	started := make(chan struct{}, clients)
	release := make(chan struct{})
	addr, _ := roomServer(t, new(endpoint.Room), func(e *endpoint.Endpoint) { e.MaxHandlers = limit },
		map[string]endpoint.HandlerFunc{
			"HOLD": func(_ context.Context, req *endpoint.Request) error {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				started <- struct{}{}
				<-release
				running.Add(-1)
				return req.WriteLine("held")
			},
		})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := endpoint.Dial(context.Background(), "tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if reply, err := c.Call(context.Background(), "HOLD"); err != nil || reply != "held" {
				errs <- fmt.Errorf("HOLD = %q, %v", reply, err)
			}
		}()
	}
	for range limit {
		<-started
	}
	// No signal marks a handler that did not start: give a third the time
	// it would need, then check that none did.
	select {
	case <-started:
		t.Fatalf("a handler started beyond MaxHandlers=%d", limit)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrent handlers %d, want %d", p, limit)
	}
}

func TestHijackGivesBackItsHandlerSlot(t *testing.T) {
	var room endpoint.Room
	addr, _ := roomServer(t, &room, func(e *endpoint.Endpoint) { e.MaxHandlers = 1 }, nil)
	joinRoom(t, addr) // holds its connection for ever, but not the only slot
	c, err := endpoint.Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if reply, err := c.Call(ctx, "PING"); err != nil || reply != "PONG" {
		t.Fatalf("PING while a member is hijacked = %q, %v", reply, err)
	}
}

func TestStreamLinesNeverLandInsideAReply(t *testing.T) {
	// A handler writes a reply in pieces, then hijacks; lines pushed from
	// elsewhere at the same time must come after the whole reply.
	var room endpoint.Room
	pushed := make(chan struct{})
	addr, _ := roomServer(t, &room, nil, map[string]endpoint.HandlerFunc{
		"SLOWJOIN": func(_ context.Context, req *endpoint.Request) error {
			w := req.RW.Writer
			w.WriteString("part one, ")
			room.Broadcast("pushed while replying", nil) // not a member yet: nobody gets it
			w.WriteString("part two\n")
			s, err := req.Hijack()
			if err != nil {
				return err
			}
			room.Join(s, "")
			defer room.Leave(s)
			close(pushed)
			for {
				if _, err := s.ReadLine(); err != nil {
					return nil
				}
			}
		},
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "SLOWJOIN\n")
	<-pushed
	room.Broadcast("pushed after", nil)
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"part one, part two\n", "pushed after\n"} {
		if line, err := r.ReadString('\n'); line != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}

// BenchmarkBroadcast1000 measures one broadcast to 1,000 members, from the
// call until every reading member has the line; one more member never reads,
// and is disconnected without slowing the others.
func BenchmarkBroadcast1000(b *testing.B) {
	const members = 1000
	var room endpoint.Room
	addr, _ := roomServer(b, &room, func(e *endpoint.Endpoint) { e.SendQueueLen = 64 }, nil)
	var remaining atomic.Int64
	delivered := make(chan struct{}, 1)
	for range members {
		_, r := joinRoom(b, addr)
		go func() {
			for {
				if _, err := r.ReadSlice('\n'); err != nil {
					return
				}
				if remaining.Add(-1) == 0 {
					delivered <- struct{}{}
				}
			}
		}()
	}
	joinRoom(b, addr) // never reads
	line := strings.Repeat("x", 100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		remaining.Store(members)
		room.Broadcast(line, nil)
		<-delivered
	}
	b.StopTimer()
	b.ReportMetric(float64(room.Len()), "members-left")
}
