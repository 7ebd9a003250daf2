package endpoint_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/internal/testpki"
)

// hangTimeout is the generous deadline after which a test gives up waiting and
// reports a hang. It is never a performance bound.
const hangTimeout = 10 * time.Second

// transports are the networks every core request/reply test runs over, as
// yamux's testConnTypes runs its tests over several kinds of connection.
// "tls" is TLS over TCP, with certificates made for the run (testPKI).
var transports = []string{"tcp", "unix", "tls"}

// netOf is the network a transport listens and dials on.
func netOf(transport string) string {
	if transport == "tls" {
		return "tcp"
	}
	return transport
}

// testPKI is the run's certificate authority, a server certificate for
// 127.0.0.1 and a client certificate ("alice"), made on first use.
var testPKI = sync.OnceValue(func() (p struct {
	ca     *testpki.CA
	server tls.Certificate
	client tls.Certificate
}) {
	var err error
	if p.ca, err = testpki.NewCA("endpoint test CA"); err != nil {
		panic(err)
	}
	if p.server, err = p.ca.Server(); err != nil {
		panic(err)
	}
	if p.client, err = p.ca.Client("alice"); err != nil {
		panic(err)
	}
	return p
})

// serverTLS is the test servers' TLS configuration.
func serverTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{testPKI().server}, MinVersion: tls.VersionTLS12}
}

// clientTLS is the test clients' TLS configuration: the server is verified
// against the run's authority.
func clientTLS() *tls.Config {
	return &tls.Config{RootCAs: testPKI().ca.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// forEachTransport runs f as a subtest once per transport.
func forEachTransport(t *testing.T, f func(t *testing.T, network string)) {
	t.Helper()
	for _, network := range transports {
		t.Run(network, func(t *testing.T) { f(t, network) })
	}
}

// logSink collects an endpoint's log output. Writes come from the endpoint's
// goroutines, so it is guarded by a mutex, and waiters are woken on every write.
type logSink struct {
	mu      sync.Mutex // protects the following
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// count reports how many log lines contain every one of substrs.
func (s *logSink) count(substrs ...string) int {
	n := 0
	for _, line := range strings.Split(s.String(), "\n") {
		if containsAll(line, substrs...) {
			n++
		}
	}
	return n
}

// waitFor waits until at least n log lines contain every one of substrs.
func (s *logSink) waitFor(tb testing.TB, n int, substrs ...string) {
	tb.Helper()
	deadline := time.NewTimer(hangTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if s.count(substrs...) >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("no %d log lines with %q after %v; log:\n%s", n, substrs, hangTimeout, s)
		}
	}
}

func containsAll(s string, substrs ...string) bool {
	for _, sub := range substrs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// testServer is an Endpoint with the built-in handlers, serving on a real
// listener of one transport.
type testServer struct {
	E       *endpoint.Endpoint
	Network string
	Addr    string
	Log     *logSink

	served   chan error
	wrap     func(net.Listener) net.Listener
	serveMu  sync.Mutex
	serveErr error
	serveEnd bool
}

// startServer starts an Endpoint on a fresh listener of the given network
// ("tcp" on 127.0.0.1:0, or "unix" in a temporary directory). configure, if
// not nil, runs before the built-in handlers are registered, so it may set
// any field. The endpoint is closed, and its connections waited for, at
// cleanup.
func startServer(tb testing.TB, network string, configure func(*endpoint.Endpoint)) *testServer {
	tb.Helper()
	return startServerWith(tb, network, func(e *endpoint.Endpoint) {
		if configure != nil {
			configure(e)
		}
		handlers.Register(e)
	})
}

// startServerWith is startServer with no handlers but those setup registers.
func startServerWith(tb testing.TB, network string, setup func(*endpoint.Endpoint)) *testServer {
	tb.Helper()
	return startServerWrapped(tb, network, nil, setup)
}

// startServerWrapped is startServerWith on the listener wrap makes of a
// fresh one; wrap may be nil.
func startServerWrapped(tb testing.TB, network string, wrap func(net.Listener) net.Listener, setup func(*endpoint.Endpoint)) *testServer {
	tb.Helper()
	s := &testServer{Network: network, Log: newLogSink(), served: make(chan error, 1), wrap: wrap}
	s.E = &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(s.Log, nil))}
	if network == "tls" {
		s.E.TLSConfig = serverTLS() // setup may change it
	}
	setup(s.E)
	l := listen(tb, network)
	if s.wrap != nil {
		l = s.wrap(l)
	}
	s.Addr = l.Addr().String()
	go func() {
		if network == "tls" {
			s.served <- s.E.ServeTLS(l)
		} else {
			s.served <- s.E.Serve(l)
		}
	}()
	tb.Cleanup(func() { s.stop(tb) })
	return s
}

// stop closes the endpoint and waits for Serve to return and for every
// connection goroutine to end (Shutdown after Close waits for them).
func (s *testServer) stop(tb testing.TB) {
	tb.Helper()
	s.E.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := s.E.Shutdown(ctx); err != nil {
		tb.Errorf("connections still open %v after Close: %v", hangTimeout, err)
	}
	if err := s.waitServe(tb); !errors.Is(err, endpoint.ErrEndpointClosed) {
		tb.Errorf("Serve returned %v, want ErrEndpointClosed", err)
	}
}

// waitServe waits for Serve to return and returns its error.
func (s *testServer) waitServe(tb testing.TB) error {
	tb.Helper()
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	if s.serveEnd {
		return s.serveErr
	}
	select {
	case s.serveErr = <-s.served:
		s.serveEnd = true
		return s.serveErr
	case <-time.After(hangTimeout):
		tb.Fatalf("Serve did not return within %v", hangTimeout)
		return nil
	}
}

// listen returns a listener on a fresh address of network.
func listen(tb testing.TB, network string) net.Listener {
	tb.Helper()
	var l net.Listener
	var err error
	switch network {
	case "tcp", "tls":
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		l, err = endpoint.Listen("unix", socketPath(tb))
	default:
		tb.Fatalf("unknown network %q", network)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// socketPath returns a path for a unix socket in a temporary directory, short
// enough for the kernel's limit on socket paths (about 108 bytes).
func socketPath(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if len(dir) > 80 {
		var err error
		if dir, err = os.MkdirTemp("", "ep"); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	return filepath.Join(dir, "ep.sock")
}

// client dials the server with an endpoint.Client, closed at cleanup.
func (s *testServer) client(tb testing.TB) *endpoint.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	d := endpoint.Dialer{}
	if s.Network == "tls" {
		d.TLSConfig = clientTLS()
	}
	c, err := d.Dial(ctx, netOf(s.Network), s.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a client connection that speaks bytes, for checking the wire
// exactly. Its methods that take no testing.TB must be called from the test's
// own goroutine only.
type rawConn struct {
	net.Conn
	tb testing.TB
	r  *bufio.Reader
}

// dial opens a raw connection to the server, closed at cleanup.
func (s *testServer) dial(tb testing.TB) *rawConn {
	tb.Helper()
	return dialRaw(tb, s.Network, s.Addr)
}

func dialRaw(tb testing.TB, network, addr string) *rawConn {
	tb.Helper()
	var c net.Conn
	var err error
	if network == "tls" {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: hangTimeout}, "tcp", addr, clientTLS())
	} else {
		c, err = net.DialTimeout(network, addr, hangTimeout)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, tb: tb, r: bufio.NewReader(c)}
}

// connected opens a raw connection and checks that the server serves it, so
// that the connection is known to be accepted and idle.
func (s *testServer) connected(tb testing.TB) *rawConn {
	tb.Helper()
	c := s.dial(tb)
	c.ping()
	return c
}

// write sends s.
func (c *rawConn) write(s string) {
	c.tb.Helper()
	c.SetWriteDeadline(time.Now().Add(hangTimeout))
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.tb.Fatalf("write %.40q: %v", s, err)
	}
}

// readLine reads one line within hangTimeout and returns it without its "\n".
func (c *rawConn) readLine() (string, error) {
	c.SetReadDeadline(time.Now().Add(hangTimeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		if line != "" {
			return line, errors.Join(io.ErrUnexpectedEOF, err)
		}
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// expect reads one line and fails unless it is want.
func (c *rawConn) expect(want string) {
	c.tb.Helper()
	got, err := c.readLine()
	if err != nil {
		c.tb.Fatalf("reading reply: %v (partial %.80q); want %.80q", err, got, want)
	}
	if got != want {
		c.tb.Fatalf("reply %.200q, want %.200q", got, want)
	}
}

// expectErr reads one line and fails unless it is an ERR reply containing
// every one of substrs. It returns the line.
func (c *rawConn) expectErr(substrs ...string) string {
	c.tb.Helper()
	got, err := c.readLine()
	if err != nil {
		c.tb.Fatalf("reading reply: %v (partial %.80q); want an ERR line", err, got)
	}
	if !strings.HasPrefix(got, "ERR ") || !containsAll(got, substrs...) {
		c.tb.Fatalf("reply %.200q, want an ERR line containing %q", got, substrs)
	}
	return got
}

// ping sends PING and expects PONG.
func (c *rawConn) ping() {
	c.tb.Helper()
	c.write("PING\n")
	c.expect("PONG")
}

// expectClosed fails unless the server closes the connection, with nothing
// more sent, within hangTimeout.
func (c *rawConn) expectClosed() {
	c.tb.Helper()
	c.SetReadDeadline(time.Now().Add(hangTimeout))
	rest, err := io.ReadAll(c.r)
	if len(rest) > 0 {
		c.tb.Fatalf("got %.200q, want the connection closed", rest)
	}
	if err != nil && !isClosed(err) {
		c.tb.Fatalf("want the connection closed, got %v", err)
	}
}

// expectIdleTimeout fails unless the server sends "ERR idle timeout" and then
// closes the connection, within hangTimeout.
func (c *rawConn) expectIdleTimeout() {
	c.tb.Helper()
	c.SetReadDeadline(time.Now().Add(hangTimeout))
	if line, err := c.readLine(); err != nil || line != "ERR idle timeout" {
		c.tb.Fatalf("got %q, %v; want ERR idle timeout", line, err)
	}
	c.expectClosed()
}

// expectErrLinesThenClosed fails unless the server closes the connection
// within hangTimeout, having sent nothing but ERR lines (a server may say why
// it closes; it may also have no chance to).
func (c *rawConn) expectErrLinesThenClosed() {
	c.tb.Helper()
	for {
		line, err := c.readLine()
		if err != nil {
			if !isClosed(err) {
				c.tb.Fatalf("want the connection closed, got %v", err)
			}
			return
		}
		if !strings.HasPrefix(line, "ERR ") {
			c.tb.Fatalf("got %q, want the connection closed", line)
		}
	}
}

// isClosed reports whether err from a read means that the peer closed the
// connection: EOF, or a reset when it closed with our bytes still unread.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// sendAsync writes data from another goroutine, for requests that may be
// larger than the socket buffers while the server stops reading them; the
// write's error is not the test's concern, since the server may close first.
// The returned channel is closed when the write is over.
func (c *rawConn) sendAsync(data []byte) <-chan struct{} {
	done := make(chan struct{})
	c.SetWriteDeadline(time.Now().Add(hangTimeout))
	go func() {
		defer close(done)
		c.Conn.Write(data)
	}()
	c.tb.Cleanup(func() { c.Close(); <-done })
	return done
}

// discardLogger drops every log line.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
