package endpoint_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// serveOn serves a fresh endpoint with the built-in handlers on l until the
// test ends.
func serveOn(tb testing.TB, l net.Listener) *endpoint.Endpoint {
	tb.Helper()
	e := &endpoint.Endpoint{Logger: discardLogger()}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	tb.Cleanup(func() {
		e.Shutdown(context.Background())
		<-served
	})
	return e
}

func TestListenReplacesStaleUnixSocket(t *testing.T) {
	path := socketPath(t)
	// A crashed run leaves its socket file behind: listen, then close
	// without unlinking.
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the stale socket file is not there: %v", err)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("the stale socket answers")
	}

	l, err := endpoint.Listen("unix", path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	serveOn(t, l)
	dialRaw(t, "unix", path).ping()

	// The socket file is removed when the listener closes.
	l.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after the listener closed: %v", err)
	}
}

func TestListenLeavesLiveUnixSocketAlone(t *testing.T) {
	path := socketPath(t)
	l, err := endpoint.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	before := dialRaw(t, "unix", path)
	before.ping()

	if l2, err := endpoint.Listen("unix", path); err == nil {
		l2.Close()
		t.Fatal("Listen took over the socket of a live server")
	}
	// The live server still owns its socket: old and new connections work.
	before.ping()
	dialRaw(t, "unix", path).ping()
}

func TestListenLeavesOtherFilesAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-socket")
	if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := endpoint.Listen("unix", path); err == nil {
		l.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Fatalf("the file was changed: %q, %v", b, err)
	}
}

func TestListenAndServe(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = socketPath(t)
		}
		sink := newLogSink()
		e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(sink, nil)), TLSConfig: serverTLS()}
		served := make(chan error, 1)
		go func() {
			if network == "tls" {
				served <- e.ListenAndServeTLS("tcp", addr)
			} else {
				served <- e.ListenAndServe(network, addr)
			}
		}()
		t.Cleanup(func() { e.Close() })
		// Serve logs "listening" once its listener is known.
		sink.waitFor(t, 1, "listening")
		a := e.Addr()
		if a == nil {
			t.Fatal("Addr() = nil while serving")
		}
		dialRaw(t, network, a.String()).ping()
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := waitErr(t, served, "ListenAndServe"); !errors.Is(err, endpoint.ErrEndpointClosed) {
			t.Fatalf("ListenAndServe returned %v, want ErrEndpointClosed", err)
		}
	})
}
