package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

const hangTimeout = 10 * time.Second

// serveBuiltins serves an Endpoint with the built-in handlers on loopback TCP
// until the test ends, and returns its address.
func serveBuiltins(tb testing.TB, configure func(*endpoint.Endpoint)) (*endpoint.Endpoint, string) {
	tb.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	if configure != nil {
		configure(e)
	}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	tb.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			tb.Errorf("connections still open after Close: %v", err)
		}
		<-served
	})
	return e, l.Addr().String()
}

// wire is a raw client connection.
type wire struct {
	tb testing.TB
	c  net.Conn
	r  *bufio.Reader
}

func dialWire(tb testing.TB, addr string) *wire {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, hangTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hangTimeout))
	return &wire{tb: tb, c: c, r: bufio.NewReader(c)}
}

func (w *wire) send(b []byte) {
	w.tb.Helper()
	if _, err := w.c.Write(b); err != nil {
		w.tb.Fatal(err)
	}
}

func (w *wire) expect(want string) {
	w.tb.Helper()
	line, err := w.r.ReadString('\n')
	if err != nil || line != want+"\n" {
		w.tb.Fatalf("reply %q, %v; want %q", line, err, want)
	}
}

// expectErrThenClose reads an ERR line, then the end of the connection.
func (w *wire) expectErrThenClose(substr string) {
	w.tb.Helper()
	line, err := w.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ERR ") || !strings.Contains(line, substr) {
		w.tb.Fatalf("reply %q, %v; want an ERR line with %q", line, err, substr)
	}
	rest, err := io.ReadAll(w.r)
	if len(rest) > 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		w.tb.Fatalf("after the ERR line: %q, %v; want the connection closed", rest, err)
	}
}

func TestRegisterAddsStringAndGob(t *testing.T) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
	for _, name := range []string{"GOB", "HELP", "PING", "STRING"} {
		if !slices.Contains(e.Commands(), name) {
			t.Errorf("Commands() = %q lacks %s", e.Commands(), name)
		}
	}
}

func TestString(t *testing.T) {
	_, addr := serveBuiltins(t, func(e *endpoint.Endpoint) { e.MaxLineBytes = 32 })
	w := dialWire(t, addr)
	for payload, want := range map[string]string{
		"hello":                   "OK hello",
		"":                        "OK",
		"CRLF\r":                  "OK CRLF",
		"  inner  spaces  ":       "OK   inner  spaces  ",
		"ERR looks like an error": "OK ERR looks like an error",
		strings.Repeat("x", 32):   "OK " + strings.Repeat("x", 32),
	} {
		w.send([]byte("STRING\n" + payload + "\n"))
		w.expect(want)
	}
	w.send([]byte("STRING\n" + strings.Repeat("x", 33) + "\nPING\n"))
	w.expectErrThenClose("line too long")
}

func TestGob(t *testing.T) {
	_, addr := serveBuiltins(t, nil)
	w := dialWire(t, addr)
	for _, tc := range []struct {
		v    handlers.GobPayload
		want string
	}{
		{handlers.GobPayload{N: 42, S: "outer", M: map[string]int{"x": 1}, P: []byte("bytes"),
			C: &handlers.GobPayload{N: 1, S: "inner", C: &handlers.GobPayload{N: 2}}}, `OK N=42 S="outer"`},
		{handlers.GobPayload{N: -1 << 40, S: "tab\there \"q\"\nnl", C: &handlers.GobPayload{}}, `OK N=-1099511627776 S="tab\there \"q\"\nnl"`},
		{handlers.GobPayload{}, `OK N=0 S=""`},
	} {
		var b bytes.Buffer
		b.WriteString("GOB\n")
		if err := codec.EncodeGob(&b, tc.v); err != nil {
			t.Fatal(err)
		}
		w.send(b.Bytes())
		w.expect(tc.want)
	}
	var b bytes.Buffer
	b.WriteString("GOB\n")
	codec.EncodeGob(&b, []string{"not", "the", "struct"})
	b.WriteString("PING\n")
	w.send(b.Bytes())
	w.expectErrThenClose("invalid payload")
}
