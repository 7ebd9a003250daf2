package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// A wire is a client connection that speaks the protocol by hand, as nc does.
type wire struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects to the endpoint at addr; the connection is closed at the end
// of the test. Every read and write on it fails after waitTimeout.
func dial(t testing.TB, network, addr string) *wire {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, waitTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitTimeout))
	return &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes s as it is.
func (w *wire) send(s string) {
	w.t.Helper()
	if _, err := io.WriteString(w.conn, s); err != nil {
		w.t.Fatalf("write %q: %v", s, err)
	}
}

// sendGob writes a GOB request with v as its payload.
func (w *wire) sendGob(v handlers.GobPayload) {
	w.t.Helper()
	w.send("GOB\n")
	if err := codec.EncodeGob(w.conn, v); err != nil {
		w.t.Fatalf("write gob: %v", err)
	}
}

// line reads one line, without its "\n".
func (w *wire) line() string {
	w.t.Helper()
	s, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("read a line: got %q, %v", s, err)
	}
	return s[:len(s)-1]
}

// expect reads one line and checks that it is want.
func (w *wire) expect(want string) {
	w.t.Helper()
	if got := w.line(); got != want {
		w.t.Fatalf("got line %q, want %q", got, want)
	}
}

// expectClosed checks that the endpoint closes the connection with nothing
// more to read.
func (w *wire) expectClosed() {
	w.t.Helper()
	s, err := w.r.ReadString('\n')
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.t.Fatalf("connection still open after %v", waitTimeout)
	}
	if s != "" || err == nil {
		w.t.Fatalf("read %q, %v; want the connection closed", s, err)
	}
}

// nested is a GOB payload nested one level through C, every field filled.
var nested = handlers.GobPayload{
	N: 42, S: "outer", M: map[string]int{"a": 1, "b": 2}, P: []byte{0, 1, 2},
	C: &handlers.GobPayload{N: 7, S: "inner", M: map[string]int{"c": 3}, P: []byte("p")},
}

// nestedReply is the endpoint's reply to nested.
const nestedReply = `OK N=42 S="outer"`
