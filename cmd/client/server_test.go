package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// serveInProcess serves an endpoint with the commands that setup registers (nil:
// the built-in ones, as handlers.Register adds them) on a fresh listener: TCP on 127.0.0.1 or a unix socket in a
// temporary directory. It returns the endpoint and the address to dial. The
// endpoint is closed at the end of the test.
func serveInProcess(t testing.TB, network string, setup func(*endpoint.Endpoint)) (*endpoint.Endpoint, string) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "ep.sock")
	}
	l, err := endpoint.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, l, setup), l.Addr().String()
}

// serveOn serves an endpoint with the commands that setup registers (nil: the
// built-in ones) on l until the end of the test.
func serveOn(t testing.TB, l net.Listener, setup func(*endpoint.Endpoint)) *endpoint.Endpoint {
	t.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	if setup == nil {
		setup = func(e *endpoint.Endpoint) { handlers.Register(e) }
	}
	setup(e)
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	t.Cleanup(func() {
		e.Close()
		if err := <-served; !errors.Is(err, endpoint.ErrEndpointClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// A request is what a fake server received on its one connection.
type request struct {
	bytes string
	err   error
}

// fakeServer accepts one connection on a fresh TCP listener, reads a line,
// replies with reply and a "\n", then reads until the peer closes. It sends
// everything it read on the returned channel, so that a test can check every
// byte the client sent.
func fakeServer(t testing.TB, reply string) (addr string, received <-chan request) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan request, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			ch <- request{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(waitTimeout))
		br := bufio.NewReader(conn)
		first, err := br.ReadString('\n')
		if err != nil {
			ch <- request{bytes: first, err: err}
			return
		}
		if _, err := io.WriteString(conn, reply+"\n"); err != nil {
			ch <- request{bytes: first, err: err}
			return
		}
		rest, err := io.ReadAll(br)
		ch <- request{bytes: first + string(rest), err: err}
	}()
	return l.Addr().String(), ch
}
