package endpoint_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// The attacks of a hostile peer, each run with a bystander connection that
// must keep being served.

// gobMessages splits a gob stream into its messages' bodies.
func gobMessages(tb testing.TB, stream []byte) [][]byte {
	tb.Helper()
	var msgs [][]byte
	for len(stream) > 0 {
		n, size := gobUint(stream)
		if size == 0 || uint64(len(stream)-size) < n {
			tb.Fatalf("bad gob framing")
		}
		msgs = append(msgs, stream[size:size+int(n)])
		stream = stream[size+int(n):]
	}
	return msgs
}

func gobUint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}

func appendGobUint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	var be []byte
	for ; v > 0; v >>= 8 {
		be = append([]byte{byte(v)}, be...)
	}
	return append(append(b, byte(-int8(len(be)))), be...)
}

// frame joins message bodies into a gob stream.
func frame(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(appendGobUint(out, uint64(len(m))), m...)
	}
	return out
}

// mapBomb is a GOB payload, about a hundred bytes, whose M claims count
// entries: encoding/gob would make a map of that size before reading one.
func mapBomb(tb testing.TB, count uint64) []byte {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(handlers.GobPayload{M: map[string]int{"a": 1}}); err != nil {
		tb.Fatal(err)
	}
	msgs := gobMessages(tb, b.Bytes())
	value := msgs[len(msgs)-1]
	i := bytes.LastIndex(value, []byte{1, 1, 'a', 2})
	if i < 0 {
		tb.Fatal("no map in the value")
	}
	bomb := append(appendGobUint(bytes.Clone(value[:i]), count), value[i+1:]...)
	msgs[len(msgs)-1] = bomb
	return frame(msgs...)
}

// nestBomb is a GOB payload whose value nests depth levels through C: each
// level costs two bytes on the wire and a GobPayload in memory, and a frame
// of encoding/gob's recursion.
func nestBomb(tb testing.TB, depth int) []byte {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(handlers.GobPayload{C: &handlers.GobPayload{}}); err != nil {
		tb.Fatal(err)
	}
	msgs := gobMessages(tb, b.Bytes())
	value := msgs[len(msgs)-1]
	if !bytes.HasSuffix(value, []byte{5, 0, 0}) {
		tb.Fatalf("unexpected value encoding % x", value)
	}
	head := value[:len(value)-3]
	body := append(bytes.Clone(head), bytes.Repeat([]byte{5}, depth)...)
	body = append(body, bytes.Repeat([]byte{0}, depth+1)...)
	msgs[len(msgs)-1] = body
	return frame(msgs...)
}

// allocatedDuring returns the bytes the process allocated while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestGobBombsAreRefusedCheaply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload func(testing.TB) []byte
	}{
		{"a map of 3e8 entries in a hundred bytes", func(tb testing.TB) []byte { return mapBomb(tb, 3e8) }},
		{"a map of 1e9 entries", func(tb testing.TB) []byte { return mapBomb(tb, 1e9) }},
		{"a value nested 500,000 levels in 1 MiB", func(tb testing.TB) []byte { return nestBomb(tb, 500_000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxPayloadBytes = 2 << 20 })
			bystander := s.connected(t)
			payload := tc.payload(t)
			c := s.dial(t)
			alloc := allocatedDuring(func() {
				c.write("GOB\n" + string(payload))
				c.expectErr("gob payload refused")
				c.expectClosed()
			})
			t.Logf("%d-byte payload refused; the process allocated %d KiB meanwhile", len(payload), alloc>>10)
			if limit := uint64(8*len(payload)) + 8<<20; alloc > limit {
				t.Errorf("refusing a %d-byte payload allocated %d bytes, over %d", len(payload), alloc, limit)
			}
			bystander.ping()
		})
	}
}

// A typed command's gob session keeps the type definitions its peer sent for
// the connection's life: their total is bounded by the payload limit. Each
// call here sends a new type, of some 4 KiB of definition, that the
// handler's decoder accepts (its field N matches) and must remember.
func TestTypedSessionTypeDefinitionsAreBounded(t *testing.T) {
	type req struct{ N int }
	type resp struct{ N int }
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		e.MaxPayloadBytes = 16 << 10
		e.Handle("TYPED", endpoint.Typed(func(_ context.Context, r *req) (*resp, error) {
			return &resp{N: r.N}, nil
		}))
	})
	bystander := s.connected(t)
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	for i := range 100 {
		fields := []reflect.StructField{{Name: "N", Type: reflect.TypeFor[int]()}}
		for f := range 40 {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Pad%d_%d_%s", i, f, strings.Repeat("x", 80)), Type: reflect.TypeFor[int]()})
		}
		v := reflect.New(reflect.StructOf(fields)).Elem()
		v.Field(0).SetInt(int64(i))
		got, err := endpoint.CallTyped[resp](ctx, c, "TYPED", v.Interface())
		if err != nil {
			if !errors.Is(err, codec.ErrGobRefused) {
				t.Fatalf("call %d: %v, want the type definitions refused", i, err)
			}
			t.Logf("refused at call %d", i)
			if _, err := c.Call(ctx, "PING"); !errors.Is(err, endpoint.ErrConnBroken) {
				t.Fatalf("after the refusal: %v, want the connection closed", err)
			}
			bystander.ping()
			return
		}
		if got.N != i {
			t.Fatalf("call %d answered %d", i, got.N)
		}
	}
	t.Fatal("100 calls of 4 KiB type definitions each were accepted on one connection with a 16 KiB payload limit")
}

// Silent chat members never lock request/reply clients out: they count
// against MaxMembers, not MaxConns, and CHAT past MaxMembers is refused with
// the connection kept for requests.
func TestSilentMembersDoNotHoldConnSlots(t *testing.T) {
	const conns, members = 10, 10
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxConns = conns; e.MaxMembers = members })
	for range members {
		c := s.dial(t)
		c.write("CHAT\n")
		if line, err := c.readLine(); err != nil || !strings.HasPrefix(line, "client id: ") {
			t.Fatalf("CHAT: %q, %v", line, err)
		}
	}
	var clients []*rawConn
	for range conns - 1 {
		clients = append(clients, s.connected(t))
	}
	last := s.dial(t)
	last.write("CHAT\n")
	last.expect("ERR chat room full")
	last.ping() // still a request/reply connection
	for _, c := range clients {
		c.ping()
	}
	over := s.dial(t)
	if line, err := over.readLine(); err != nil || line != "ERR too many connections" {
		t.Fatalf("connection over MaxConns: %q, %v", line, err)
	}
}

// The refusal of a connection over MaxConns reaches a client that has
// already written requests: the server reads and discards them before
// closing, rather than reset the connection under the ERR line. The
// listener holds each connection back until its requests have arrived, so
// the server surely closes with input unread.
func TestTooManyConnsLineSurvivesWrittenRequests(t *testing.T) {
	gate := make(chan struct{})
	s := startServerWrapped(t, "tcp", func(l net.Listener) net.Listener {
		return &gatedListener{Listener: l, gate: gate, closed: make(chan struct{})}
	}, func(e *endpoint.Endpoint) {
		e.MaxConns = 1
		handlers.Register(e)
	})
	gate <- struct{}{}
	holder := s.connected(t)
	requests := strings.Repeat("PING\n", 10000)
	for round := range 10 {
		c, err := net.DialTimeout("tcp", s.Addr, hangTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(hangTimeout))
		if _, err := c.Write([]byte(requests)); err != nil {
			t.Fatal(err)
		}
		gate <- struct{}{} // now the server may accept it
		got, err := readLineFrom(c)
		c.Close()
		if got != "ERR too many connections" {
			t.Fatalf("round %d: got %q, %v; want the refusal", round, got, err)
		}
	}
	holder.ping()
}

// gatedListener accepts one connection each time gate receives.
type gatedListener struct {
	net.Listener
	gate      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *gatedListener) Accept() (net.Conn, error) {
	select {
	case <-l.gate:
		return l.Listener.Accept()
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *gatedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func readLineFrom(c net.Conn) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			return string(line), err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		line = append(line, b[0])
	}
}

// A command line over a small limit is refused as soon as the limit is
// passed, not when the idle timeout ends the request.
func TestOverlongLineRefusedAtOnceWhateverTheLimit(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxLineBytes = 1024; e.IdleTimeout = time.Hour })
	bystander := s.connected(t)
	for _, prefix := range []string{"", "STRING\n"} {
		c := s.dial(t)
		c.write(prefix + strings.Repeat("x", 3<<10)) // no newline, and the client waits
		c.expectErr("line too long (limit 1024 bytes)")
		c.expectClosed()
	}
	bystander.ping()
}

// Error lines carry nothing of the server's insides: an I/O error a handler
// returns becomes "internal error", and a request cut off by the idle
// timeout is told "idle timeout", not the socket's error.
func TestErrorLinesRevealNothing(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.IdleTimeout = 300 * time.Millisecond
		e.HandleFunc("OPEN", func(context.Context, *endpoint.Request) error {
			_, err := net.Dial("tcp", "127.0.0.1:1")
			return err
		})
		e.HandleFunc("MINE", func(context.Context, *endpoint.Request) error {
			return errors.New("no such key")
		})
	})
	c := s.connected(t)
	c.write("OPEN\nMINE\n")
	c.expect("ERR internal error")
	c.expect("ERR no such key")
	c.write("STRING\nhalf")
	c.expectIdleTimeout()
}

// Pipelined requests of many connections at once, with attackers among
// them, keep being answered in order.
func TestBystandersServedDuringFlood(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxLineBytes = 256 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.Addr, hangTimeout)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(hangTimeout))
			c.Write(append([]byte("GOB\n"), append(mapBomb(t, 1e9), strings.Repeat("y", 4096)...)...))
			readLineFrom(c)
		}()
	}
	b := s.connected(t)
	for range 100 {
		b.ping()
	}
	wg.Wait()
}
