package endpoint_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

func TestClientGreeting(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) { e.Greeting = "welcome to the test" })
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		d := endpoint.Dialer{Greeting: true}
		if network == "tls" {
			d.TLSConfig = clientTLS()
		}
		c, err := d.Dial(ctx, netOf(network), s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if g := c.Greeting(); g != "welcome to the test" {
			t.Fatalf("Greeting() = %q", g)
		}
		for range 3 {
			if reply, err := c.Call(ctx, "PING"); reply != "PONG" || err != nil {
				t.Fatalf("PING after the greeting: %q, %v", reply, err)
			}
		}
	})
}

// fakeGreeter accepts one connection, writes greeting (nothing when empty),
// then reads until the peer closes, which it reports on the channel.
func fakeGreeter(t *testing.T, greeting string) (addr string, peerClosed <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	done := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(hangTimeout))
		if greeting != "" {
			io.WriteString(conn, greeting)
		}
		_, err = io.Copy(io.Discard, conn)
		done <- err
	}()
	return l.Addr().String(), done
}

// TestClientUnexpectedGreetingBreaks checks that a greeting the Client was
// not told of breaks the connection rather than answer a call.
func TestClientUnexpectedGreetingBreaks(t *testing.T) {
	addr, peerClosed := fakeGreeter(t, "hello, I greet\n")
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	c, err := endpoint.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := <-peerClosed; err != nil {
		t.Fatalf("the Client did not close the connection: %v", err)
	}
	_, err = c.Call(ctx, "PING")
	if !errors.Is(err, endpoint.ErrConnBroken) || !strings.Contains(err.Error(), "hello, I greet") {
		t.Fatalf("call after an unasked greeting: %v, want ErrConnBroken naming the line", err)
	}
}

// TestClientGreetingRefusal checks that an ERR line in place of the
// greeting fails Dial with that error.
func TestClientGreetingRefusal(t *testing.T) {
	addr, _ := fakeGreeter(t, "ERR too many connections\n")
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	d := endpoint.Dialer{Greeting: true}
	c, err := d.Dial(ctx, "tcp", addr)
	var re *endpoint.RemoteError
	if err == nil {
		c.Close()
	}
	if !errors.As(err, &re) || !errors.Is(err, endpoint.ErrTooManyConns) || re.Command != "greeting" {
		t.Fatalf("Dial: %v, want the greeting's RemoteError", err)
	}
}

// TestClientGreetingNeverSent checks that Dial waiting for a greeting that
// never comes ends with its context, and that a greeting cut short fails.
func TestClientGreetingNeverSent(t *testing.T) {
	addr, _ := fakeGreeter(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	d := endpoint.Dialer{Greeting: true}
	start := time.Now()
	c, err := d.Dial(ctx, "tcp", addr)
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > hangTimeout {
		t.Fatalf("Dial took %v", d)
	}

	addr, _ = fakeGreeter(t, "half a gree")
	ctx2, cancel2 := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel2()
	// The fake server keeps the connection open, so close it from our
	// side of the test: the Dialer's Timeout bounds the wait too.
	d.Timeout = 50 * time.Millisecond
	if c, err := d.Dial(ctx2, "tcp", addr); err == nil {
		c.Close()
		t.Fatal("Dial took half a line for a greeting")
	}
}
