package endpoint_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// The wire contract closes a connection "that starts a request and does not
// finish it within" the idle timeout. A command line is part of the request,
// but while it is read connReader.Read calls setIdle, so armFor gives every
// read of it a fresh deadline: a client that trickles its command line a
// byte at a time keeps the connection (and, with MaxHandlers unset, a
// goroutine and 8 KiB of buffers) for up to MaxLineBytes idle timeouts.
func TestTrickledCommandLineIsClosedAfterIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		e.Shutdown(ctx)
	})

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan struct{})
	var got strings.Builder
	go func() {
		io.Copy(&got, conn) // returns when the server closes
		close(closed)
	}()
	start := time.Now()
	// A command line of 30 spaces then PING, one byte every idle/3: 3 s in
	// all, ten times the idle timeout.
	tick := time.NewTicker(idle / 3)
	defer tick.Stop()
	for i := range 30 {
		select {
		case <-closed:
			if d := time.Since(start); d < idle-idle/64 {
				t.Fatalf("closed %v after the request began (%d bytes), before the idle timeout", d, i)
			}
			return
		case <-tick.C:
			conn.Write([]byte{' '})
		}
	}
	conn.Write([]byte("PING\n"))
	conn.(*net.TCPConn).CloseWrite()
	<-closed
	t.Fatalf("the server waited %v for a trickled command line (idle timeout %v) and then answered %q: each read of a command line gets a fresh deadline",
		time.Since(start).Round(time.Millisecond), idle, got.String())
}

// A handler that takes longer than IdleTimeout loses its reply: the reply is
// flushed in waitIdle before armFor, under the deadline set when the command
// line was read (IdleTimeout after it), which has passed. The client sent its
// whole request at once and is reading; the contract says every request gets
// exactly one reply.
func TestSlowHandlerReplyIsNotDropped(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	e.HandleFunc("SLOW", func(ctx context.Context, req *endpoint.Request) error {
		// Not a wait for a signal: the handler must outlast the timeout.
		select {
		case <-time.After(idle + idle/2):
		case <-ctx.Done():
			return ctx.Err()
		}
		return req.WriteLine("DONE")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		e.Shutdown(ctx)
	})
	c := dialRaw(t, "tcp", l.Addr().String())
	c.write("SLOW\n")
	if got, err := c.readLine(); err != nil || got != "DONE" {
		t.Fatalf("reply %q, %v; want DONE (the reply was flushed under the deadline of the request's start, which had passed)", got, err)
	}
}

// A pipelined request behind a slow one gets a deadline already in the past:
// setActive takes the request's start from the latest socket read (the one
// that brought both command lines), so when the second request's handler
// reads its payload, armFor sets reqStart+IdleTimeout, long gone, and the
// read fails at once (Go does not even try a read past its deadline), though
// the payload arrived promptly and sits in the socket. The flush of the first
// reply, done in that same Read after armFor, fails too: both replies are lost.
func TestPipelinedRequestBehindSlowOneGetsFreshDeadline(t *testing.T) {
	const idle = 300 * time.Millisecond
	entered := make(chan struct{})
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), IdleTimeout: idle}
	handlers.Register(e)
	e.HandleFunc("SLOW", func(ctx context.Context, req *endpoint.Request) error {
		close(entered)
		select { // not a wait for a signal: the handler must outlast the timeout
		case <-time.After(idle + idle/2):
		case <-ctx.Done():
			return ctx.Err()
		}
		return req.WriteLine("DONE")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		e.Shutdown(ctx)
	})
	c := dialRaw(t, "tcp", l.Addr().String())
	c.write("SLOW\nSTRING\n")
	<-entered // both command lines were read together
	c.write("payload\n")
	for _, want := range []string{"DONE", "OK payload"} {
		if got, err := c.readLine(); err != nil || got != want {
			t.Fatalf("reply %q, %v; want %q", got, err, want)
		}
	}
}
