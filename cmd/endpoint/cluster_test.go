package main

import (
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// startNATS runs an embedded NATS server on a random port of 127.0.0.1.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
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

// TestClusterTwoNodes: two endpoints with -nats and the same -room are one
// chat room; IDs are NODE/IP:PORT in client id:, in delivered lines and in
// the table.
func TestClusterTwoNodes(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	p1 := start(t, "-chat", "-addr", "127.0.0.1:0", "-nats", ns.ClientURL(), "-room", "lobby", "-node", "n1")
	p2 := start(t, "-chat", "-addr", "127.0.0.1:0", "-nats", ns.ClientURL(), "-room", "lobby", "-node", "n2")
	a, b := dial(t, "tcp", p1.addr(t)), dial(t, "tcp", p2.addr(t))
	p1.waitLog(t, regexp.MustCompile(`msg="chat room spans the nodes of NATS" room=lobby node=n1`))
	p2.waitLog(t, regexp.MustCompile(`msg="chat room spans the nodes of NATS" room=lobby node=n2`))
	idA, _ := strings.CutPrefix(a.line(), "client id: ")
	idB, _ := strings.CutPrefix(b.line(), "client id: ")
	if !strings.HasPrefix(idA, "n1/127.0.0.1:") || !strings.HasPrefix(idB, "n2/127.0.0.1:") {
		t.Fatalf("ids %q and %q, want n1/IP:PORT and n2/IP:PORT", idA, idB)
	}
	a.send("hello from n1\n")
	b.expect("(" + idA + ") hello from n1")
	b.send("hello from n2\n")
	a.expect("(" + idB + ") hello from n2")
	p1.stop(t, syscall.SIGTERM)
	p2.stop(t, syscall.SIGTERM)
	if got := fieldsOf(p1.stdout.String()); !strings.Contains(got, idA+" 1 0 false") {
		t.Fatalf("n1's table %q lacks %s", got, idA)
	}
}

// TestClusterNATSDownAtStart: a node whose NATS server is not there serves
// its local room and says so.
func TestClusterNATSDownAtStart(t *testing.T) {
	t.Parallel()
	p := start(t, "-chat", "-addr", "127.0.0.1:0", "-nats", "nats://127.0.0.1:"+strings.TrimPrefix(freePort(t), "127.0.0.1:"), "-node", "alone")
	addr := p.addr(t)
	p.waitLog(t, regexp.MustCompile(`nats server not reachable`))
	a, b := dial(t, "tcp", addr), dial(t, "tcp", addr)
	idA, _ := strings.CutPrefix(a.line(), "client id: ")
	b.line()
	a.send("local\n")
	b.expect("(" + idA + ") local")
	p.stop(t, syscall.SIGTERM)
}

// TestClusterMalformedURL: one line and status 2.
func TestClusterMalformedURL(t *testing.T) {
	t.Parallel()
	p := start(t, "-nats", "http://example.com")
	if code := p.wait(t); code != 2 {
		t.Fatalf("exit status %d, want 2", code)
	}
	if got := p.stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "-nats") {
		t.Fatalf("standard error %q, want one line about -nats", got)
	}
}
