package natsbroker_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/natsbroker"
	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

// startNATS runs an embedded NATS server on 127.0.0.1, on port (0: a random
// one), until the test ends.
func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = -1 // RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(waitTimeout) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// logSink collects log text and signals each write.
type logSink struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// waitFor waits until the log has n lines containing substr.
func (s *logSink) waitFor(t testing.TB, n int, substr string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		s.mu.Lock()
		got, ch := strings.Count(s.b.String(), substr), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("log has %d lines with %q, want %d:\n%s", got, substr, n, s.b.String())
		}
	}
}

// A node is an endpoint serving CHAT in a room that spans the nodes of one
// NATS server.
type node struct {
	name   string
	addr   string
	chat   *handlers.Chat
	broker *natsbroker.Broker
	log    *logSink
	stop   func() // shuts the node down, closing its members and its NATS connection
}

func startNode(t testing.TB, natsURL, name, room string) *node {
	t.Helper()
	n := &node{name: name, log: newLogSink()}
	logger := slog.New(slog.NewTextHandler(n.log, nil))
	b, err := natsbroker.Connect(natsbroker.Options{URL: natsURL, Node: name, Logger: logger, ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.broker = b
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	n.chat = handlers.Register(e)
	n.chat.Logger = slog.New(slog.DiscardHandler)
	n.chat.Node = name
	r := n.chat.Room()
	r.Broker, r.Name = b, room
	if err := r.Connect(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = l.Addr().String()
	served := make(chan struct{})
	go func() { e.Serve(l); close(served) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			e.Shutdown(ctx)
			<-served
			r.Close()
			b.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// A member is a chat connection to a node.
type member struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	id   string
}

func (n *node) join(t testing.TB) *member {
	t.Helper()
	conn, err := net.DialTimeout("tcp", n.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := &member{t: t, conn: conn, r: bufio.NewReader(conn)}
	m.send("CHAT\n")
	id, ok := strings.CutPrefix(m.line(), "client id: ")
	if !ok || id != n.name+"/"+conn.LocalAddr().String() {
		t.Fatalf("client id %q, want %s/%s", id, n.name, conn.LocalAddr())
	}
	m.id = id
	return m
}

func (m *member) send(s string) {
	m.t.Helper()
	m.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(m.conn, s); err != nil {
		m.t.Fatalf("write: %v", err)
	}
}

func (m *member) line() string {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	s, err := m.r.ReadString('\n')
	if err != nil {
		m.t.Fatalf("member %s: read: %q, %v", m.id, s, err)
	}
	return strings.TrimSuffix(s, "\n")
}

// expect reads one line and fails unless it is want.
func (m *member) expect(want string) {
	m.t.Helper()
	if got := m.line(); got != want {
		m.t.Fatalf("member %s got %q, want %q", m.id, got, want)
	}
}

// TestThreeNodesEveryLineOnceInOrder: a member on each of three nodes, two
// on the first, each writing 1,000 lines at once: every other member gets
// every line exactly once, each writer's in the order written, and no
// member gets its own.
func TestThreeNodesEveryLineOnceInOrder(t *testing.T) {
	ns := startNATS(t, 0)
	url := ns.ClientURL()
	nodes := []*node{startNode(t, url, "n1", "chat"), startNode(t, url, "n2", "chat"), startNode(t, url, "n3", "chat")}
	members := []*member{nodes[0].join(t), nodes[0].join(t), nodes[1].join(t), nodes[2].join(t)}
	const lines = 1000
	var wg sync.WaitGroup
	errs := make(chan error, len(members)*2)
	for i, m := range members {
		wg.Add(2)
		go func() { // write
			defer wg.Done()
			var b strings.Builder
			for k := range lines {
				fmt.Fprintf(&b, "%d %d\n", i, k)
			}
			m.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
			if _, err := io.WriteString(m.conn, b.String()); err != nil {
				errs <- err
			}
		}()
		go func() { // read the others' lines
			defer wg.Done()
			next := make(map[string]int) // by writer's id: the next line wanted
			m.conn.SetReadDeadline(time.Now().Add(waitTimeout))
			for range (len(members) - 1) * lines {
				s, err := m.r.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("member %s: %v after %v", m.id, err, next)
					return
				}
				id, text, ok := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(s, "\n"), "("), ") ")
				w, k, ok2 := strings.Cut(text, " ")
				wi, err1 := strconv.Atoi(w)
				ki, err2 := strconv.Atoi(k)
				switch {
				case !ok || !ok2 || err1 != nil || err2 != nil || members[wi].id != id:
					errs <- fmt.Errorf("member %s got %q", m.id, s)
					return
				case wi == i:
					errs <- fmt.Errorf("member %s got its own line %q", m.id, s)
					return
				case ki != next[id]:
					errs <- fmt.Errorf("member %s got %q from %s, want line %d", m.id, s, id, next[id])
					return
				}
				next[id]++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Nothing more: a line before the marker would be a duplicate.
	members[0].send("end\n")
	for _, m := range members[1:] {
		m.expect("(" + members[0].id + ") end")
	}
}

// TestTwoRoomsDoNotMix: nodes of two rooms on one NATS server hear only
// their own room.
func TestTwoRoomsDoNotMix(t *testing.T) {
	ns := startNATS(t, 0)
	url := ns.ClientURL()
	a1, a2 := startNode(t, url, "a1", "alpha"), startNode(t, url, "a2", "alpha")
	b1, b2 := startNode(t, url, "b1", "beta"), startNode(t, url, "b2", "beta")
	ma1, ma2, mb1, mb2 := a1.join(t), a2.join(t), b1.join(t), b2.join(t)
	ma1.send("in alpha\n")
	mb1.send("in beta\n")
	ma2.expect("(" + ma1.id + ") in alpha")
	mb2.expect("(" + mb1.id + ") in beta")
	// Then a marker each way: had a line of the other room arrived, it
	// would come before the marker.
	ma1.send("alpha marker\n")
	mb1.send("beta marker\n")
	ma2.expect("(" + ma1.id + ") alpha marker")
	mb2.expect("(" + mb1.id + ") beta marker")
}

// TestNATSRestartMidChat: the NATS server stopped while members chat: each
// node's local room goes on; the nodes reconnect by themselves, log both
// events, and cross-node delivery resumes.
func TestNATSRestartMidChat(t *testing.T) {
	ns := startNATS(t, 0)
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	n1, n2 := startNode(t, url, "n1", "chat"), startNode(t, url, "n2", "chat")
	a, b, c := n1.join(t), n1.join(t), n2.join(t)
	a.send("before\n")
	b.expect("(" + a.id + ") before")
	c.expect("(" + a.id + ") before")

	ns.Shutdown()
	ns.WaitForShutdown()
	n1.log.waitFor(t, 1, "nats disconnected")
	n2.log.waitFor(t, 1, "nats disconnected")
	for k := range 5 { // the local room never stops
		a.send(fmt.Sprintf("during %d\n", k))
		b.expect(fmt.Sprintf("(%s) during %d", a.id, k))
	}

	startNATS(t, port)
	n1.log.waitFor(t, 1, "nats reconnected")
	n2.log.waitFor(t, 1, "nats reconnected")
	// The reconnect handler runs once the subscriptions are sent again, and
	// a flush through each connection confirms the server has them.
	a.send("after\n")
	b.expect("(" + a.id + ") after")
	got := c.line()
	for strings.HasPrefix(got, "("+a.id+") during") { // at most once: none of these, or some
		got = c.line()
	}
	if want := "(" + a.id + ") after"; got != want {
		t.Fatalf("member on n2 got %q, want %q", got, want)
	}
	c.send("back\n")
	a.expect("(" + c.id + ") back")
	b.expect("(" + c.id + ") back")
}

// TestNATSDownAtStart: a node whose NATS server is not up yet serves its
// local room, and joins the others once the server comes up.
func TestNATSDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	n1 := startNode(t, url, "n1", "chat")
	n1.log.waitFor(t, 1, "nats server not reachable")
	a, b := n1.join(t), n1.join(t)
	a.send("local\n")
	b.expect("(" + a.id + ") local")
	startNATS(t, port)
	n1.log.waitFor(t, 1, "nats connected")
	n2 := startNode(t, url, "n2", "chat")
	c := n2.join(t)
	a.send("across\n")
	b.expect("(" + a.id + ") across")
	c.expect("(" + a.id + ") across")
}

func TestMalformedURL(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:4222", "nats://", "nats://[::1"} {
		if _, err := natsbroker.Connect(natsbroker.Options{URL: u, Node: "n"}); err == nil {
			t.Errorf("Connect(%q) succeeded", u)
		}
	}
}

// TestNodeKilledMidChat: one of three nodes goes away while members on all
// of them chat: its members are closed, and the other two nodes go on as
// one room.
func TestNodeKilledMidChat(t *testing.T) {
	ns := startNATS(t, 0)
	url := ns.ClientURL()
	n1, n2, n3 := startNode(t, url, "n1", "chat"), startNode(t, url, "n2", "chat"), startNode(t, url, "n3", "chat")
	a, b, c := n1.join(t), n2.join(t), n3.join(t)
	a.send("one\n")
	b.expect("(" + a.id + ") one")
	c.expect("(" + a.id + ") one")
	b.send("from n2\n") // a line in flight as its node goes
	n2.stop()
	b.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadAll(b.r); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("member of the stopped node: %v, want the connection closed", err)
	}
	for k := range 100 {
		a.send(fmt.Sprintf("still %d\n", k))
	}
	// At most once: n2's last line may have made it, or not.
	skip := func(m *member) string {
		got := m.line()
		if got == "("+b.id+") from n2" {
			got = m.line()
		}
		return got
	}
	if got, want := skip(c), "("+a.id+") still 0"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k := 1; k < 100; k++ {
		c.expect(fmt.Sprintf("(%s) still %d", a.id, k))
	}
	c.send("from n3\n")
	if got, want := skip(a), "("+c.id+") from n3"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestNoGoroutinesLeftAfterShutdown: nodes shut down, and the NATS server
// with them, leave no goroutine behind.
func TestNoGoroutinesLeftAfterShutdown(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ns := startNATS(t, 0)
	n1, n2 := startNode(t, ns.ClientURL(), "n1", "chat"), startNode(t, ns.ClientURL(), "n2", "chat")
	a, b := n1.join(t), n2.join(t)
	a.send("hi\n")
	b.expect("(" + a.id + ") hi")
	a.conn.Close()
	b.conn.Close()
	n1.stop()
	n2.stop()
	ns.Shutdown()
	ns.WaitForShutdown()
	if err := goleak.Find(ignore); err != nil {
		t.Fatal(err)
	}
}
