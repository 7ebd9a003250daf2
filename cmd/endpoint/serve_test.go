package main

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// freePort returns a TCP port on 127.0.0.1 that nothing listens on just now.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort().String()
}

// socketPath returns a path for a unix socket in a fresh temporary directory.
func socketPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "ep.sock")
}

// expectCommands checks that a HELP reply lists the built-in commands, those
// that handlers.Register adds among them.
func expectCommands(t testing.TB, help string) {
	t.Helper()
	names, ok := strings.CutPrefix(help, "commands: ")
	for _, want := range []string{"GOB", "HELP", "PING", "STRING"} {
		if !ok || !slices.Contains(strings.Fields(names), want) {
			t.Fatalf("HELP replied %q, which does not list %s", help, want)
		}
	}
}

// exercise checks the built-in commands on a connection, pipelined requests
// and telnet's CRLF included.
func exercise(w *wire) {
	w.t.Helper()
	w.send("PING\n")
	w.expect("PONG")
	w.send("STRING\nhello, world\n")
	w.expect("OK hello, world")
	w.sendGob(nested)
	w.expect(nestedReply)
	w.send("HELP\n")
	expectCommands(w.t, w.line())
	w.send(" ping \r\n\r\n\nSTRING\r\nbye\r\nnope\n")
	w.expect("PONG")
	w.expect("OK bye")
	w.expect(`ERR unknown command "nope"`)
	w.send("PING\n") // still served after the error
	w.expect("PONG")
}

func TestServesTCPOnTheChosenPort(t *testing.T) {
	t.Parallel()
	want := freePort(t)
	p := start(t, "-addr", want)
	m := p.waitLog(t, listenRE)
	if m[1] != "tcp" || m[2] != want {
		t.Fatalf("logged listening on %s %s, want tcp %s", m[1], m[2], want)
	}
	exercise(dial(t, "tcp", want))
	p.stop(t, syscall.SIGTERM)
}

func TestServesUnixSocket(t *testing.T) {
	t.Parallel()
	path := socketPath(t)
	p := start(t, "-network", "unix", "-addr", path)
	m := p.waitLog(t, listenRE)
	if m[1] != "unix" || m[2] != path {
		t.Fatalf("logged listening on %s %s, want unix %s", m[1], m[2], path)
	}
	exercise(dial(t, "unix", path))
	p.stop(t, syscall.SIGTERM)
}

func TestServesConnectionsAtOnce(t *testing.T) {
	t.Parallel()
	p := start(t, "-addr", "127.0.0.1:0")
	addr := p.addr(t)
	a, b := dial(t, "tcp", addr), dial(t, "tcp", addr)
	a.send("STRING\n") // a's request is half sent: b must not wait for it
	b.send("PING\n")
	b.expect("PONG")
	a.send("from a\n")
	a.expect("OK from a")
	p.stop(t, syscall.SIGTERM)
}
