package endpoint_test

import (
	"bufio"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// memBus is an in-process stand-in for a broker's server: every node's
// memBroker publishes to it, and it calls the subscribers of other nodes.
type memBus struct {
	mu   sync.Mutex
	subs map[string]map[*memSub]struct{} // by room
}

type memSub struct {
	node    string
	deliver func(endpoint.Message)
	mu      sync.Mutex // one delivery at a time, as Subscribe promises
}

// memBroker is one node's Broker on a memBus.
type memBroker struct {
	bus  *memBus
	node string
}

func (b *memBroker) Publish(room string, m endpoint.Message) error {
	m.Node = b.node
	b.bus.mu.Lock()
	var to []*memSub
	for s := range b.bus.subs[room] {
		if s.node != b.node {
			to = append(to, s)
		}
	}
	b.bus.mu.Unlock()
	for _, s := range to {
		s.mu.Lock()
		s.deliver(m)
		s.mu.Unlock()
	}
	return nil
}

func (b *memBroker) Subscribe(room string, deliver func(endpoint.Message)) (func(), error) {
	s := &memSub{node: b.node, deliver: deliver}
	b.bus.mu.Lock()
	defer b.bus.mu.Unlock()
	if b.bus.subs == nil {
		b.bus.subs = make(map[string]map[*memSub]struct{})
	}
	if b.bus.subs[room] == nil {
		b.bus.subs[room] = make(map[*memSub]struct{})
	}
	b.bus.subs[room][s] = struct{}{}
	return func() {
		b.bus.mu.Lock()
		defer b.bus.mu.Unlock()
		delete(b.bus.subs[room], s)
	}, nil
}

// readWithin reads one line within a bounded time.
func readWithin(t *testing.T, r *bufio.Reader, c interface{ SetReadDeadline(time.Time) error }) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %q, %v", line, err)
	}
	return line
}

// TestRoomBrokerSpansNodes: two rooms of one name on two nodes, joined by a
// Broker, are one room: a line broadcast on either reaches the members of
// both, once each, and a room of another name hears nothing.
func TestRoomBrokerSpansNodes(t *testing.T) {
	bus := new(memBus)
	r1 := &endpoint.Room{Broker: &memBroker{bus, "n1"}, Name: "chat"}
	r2 := &endpoint.Room{Broker: &memBroker{bus, "n2"}, Name: "chat"}
	other := &endpoint.Room{Broker: &memBroker{bus, "n3"}, Name: "other"}
	for _, r := range []*endpoint.Room{r1, r2, other} {
		if err := r.Connect(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
	}
	if err := r1.Connect(); err == nil {
		t.Fatal("a second Connect succeeded")
	}
	addr1, _ := roomServer(t, r1, nil, nil)
	addr2, _ := roomServer(t, r2, nil, nil)
	addr3, _ := roomServer(t, other, nil, nil)
	a, ra := joinRoom(t, addr1)
	b, rb := joinRoom(t, addr2)
	c, rc := joinRoom(t, addr3)

	if n := r1.BroadcastFrom("n1/a", "(n1/a) one", nil); n != 1 {
		t.Fatalf("BroadcastFrom queued for %d local members, want 1", n)
	}
	r2.Broadcast("two", nil)
	other.Broadcast("elsewhere", nil)
	for _, want := range []string{"(n1/a) one\n", "two\n"} {
		if got := readWithin(t, ra, a); got != want {
			t.Fatalf("member on n1 got %q, want %q", got, want)
		}
		if got := readWithin(t, rb, b); got != want {
			t.Fatalf("member on n2 got %q, want %q", got, want)
		}
	}
	if got := readWithin(t, rc, c); got != "elsewhere\n" {
		t.Fatalf("member of the other room got %q, want only its own room's line", got)
	}

	// After Close, r2 is a room of its node alone.
	r2.Close()
	r1.Broadcast("not to n2", nil)
	r2.Broadcast("n2 only", nil)
	if got := readWithin(t, ra, a); got != "not to n2\n" {
		t.Fatalf("member on n1 got %q", got)
	}
	if got := readWithin(t, rb, b); got != "n2 only\n" {
		t.Fatalf("member on n2 got %q, want n2's line only (n1's after Close)", got)
	}
}

// TestRoomRemoteLineWithNewline: a line from another node that would split
// into two on the wire is dropped.
func TestRoomRemoteLineWithNewline(t *testing.T) {
	bus := new(memBus)
	r1 := &endpoint.Room{Broker: &memBroker{bus, "n1"}, Name: "chat"}
	if err := r1.Connect(); err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	addr, _ := roomServer(t, r1, nil, nil)
	a, ra := joinRoom(t, addr)
	evil := &memBroker{bus, "evil"}
	evil.Publish("chat", endpoint.Message{Text: "two\nlines"})
	evil.Publish("chat", endpoint.Message{Text: "fine"})
	if got := readWithin(t, ra, a); got != "fine\n" {
		t.Fatalf("got %q, want the line with a newline dropped", got)
	}
}
