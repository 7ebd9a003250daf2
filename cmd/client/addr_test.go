package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

func TestDialAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ network, connect, want string }{
		{"tcp", "localhost", "localhost:61000"},
		{"tcp", "example.com:8080", "example.com:8080"},
		{"tcp", "example.com:", "example.com:61000"},
		{"tcp", "127.0.0.1", "127.0.0.1:61000"},
		{"tcp", "127.0.0.1:5000", "127.0.0.1:5000"},
		{"tcp", ":5000", ":5000"},
		{"tcp", "::1", "[::1]:61000"},
		{"tcp", "[::1]", "[::1]:61000"},
		{"tcp", "[::1]:5000", "[::1]:5000"},
		{"tcp", "fe80::1%lo", "[fe80::1%lo]:61000"},
		{"tcp6", "2001:db8::1", "[2001:db8::1]:61000"},
		{"unix", "/run/ep.sock", "/run/ep.sock"},
		{"unix", "rel:ative", "rel:ative"},
	} {
		if got := dialAddress(tc.network, tc.connect); got != tc.want {
			t.Errorf("dialAddress(%q, %q) = %q, want %q", tc.network, tc.connect, got, tc.want)
		}
	}
}

func TestConnectForms(t *testing.T) {
	t.Parallel()
	_, v4 := serveInProcess(t, "tcp", nil)
	l6, err := endpoint.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	v6 := l6.Addr().String()
	serveOn(t, l6, nil)
	_, port, _ := net.SplitHostPort(v4)
	for _, connect := range []string{v4, v6, "localhost:" + port} {
		runClient(t, "-connect", connect, "PING").expect(t, "PONG\n", 0)
	}
	runClient(t, "-network", "tcp6", "-connect", v6, "PING").expect(t, "PONG\n", 0)
}

// TestDefaultPort checks that a -connect without a port dials port 61000. It
// serves that port itself when it can; when something else already does (an
// endpoint started by hand, say), the client must reach that instead.
func TestDefaultPort(t *testing.T) {
	// Not parallel: no other test uses the default port.
	for _, tc := range []struct{ listen, connect string }{
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
		{"::1", "[::1]"},
	} {
		t.Run(tc.connect, func(t *testing.T) {
			addr := net.JoinHostPort(tc.listen, endpoint.DefaultPort)
			want := "PONG\n"
			if l, err := net.Listen("tcp", addr); err == nil {
				serveOn(t, l, nil)
			} else {
				want = ping(t, addr)
			}
			runClient(t, "-connect", tc.connect, "PING").expect(t, want, 0)
		})
	}
}

// ping sends PING to addr and returns the reply line, "\n" included.
func ping(t testing.TB, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("cannot serve %s, and nothing answers on it: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(c, "PING\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("something that does not answer PING owns %s: %v", addr, err)
	}
	return line
}
