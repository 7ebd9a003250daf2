package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

func TestRunGreeting(t *testing.T) {
	t.Parallel()
	_, addr := serveInProcess(t, "tcp", func(e *endpoint.Endpoint) {
		e.Greeting = "hello from the test endpoint"
		handlers.Register(e)
	})
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"PING"}, "hello from the test endpoint\nPONG\n"},
		{[]string{"STRING", "after", "greeting"}, "hello from the test endpoint\nOK after greeting\n"},
		{nil, "hello from the test endpoint\n" + defaultOutput},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-connect", addr, "-greeting"}, tc.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != 0 || stdout.String() != tc.out || stderr.Len() > 0 {
			t.Errorf("run %q: status %d, stdout %q, stderr %q; want 0 and %q", args, code, &stdout, &stderr, tc.out)
		}
	}
}

// TestRunGreetingRefused checks that an ERR line in place of the greeting
// is printed as a reply is, with status 1.
func TestRunGreetingRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(waitTimeout))
		io.WriteString(conn, "ERR too many connections\n")
		io.Copy(io.Discard, conn)
	}()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-connect", l.Addr().String(), "-greeting", "PING"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || stdout.String() != "ERR too many connections\n" || stderr.Len() > 0 {
		t.Fatalf("status %d, stdout %q, stderr %q; want 1 and the ERR line", code, &stdout, &stderr)
	}
}
