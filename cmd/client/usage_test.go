package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRunRefusesPayloadMistakes checks that the command lines the built-in
// commands' payloads rule out are refused before anything is dialled: the
// address given has no listener, and nothing would answer within the test's
// bound, so a refusal that waited for the server could not pass.
func TestRunRefusesPayloadMistakes(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"STRING"}, "STRING needs TEXT"},
		{[]string{"string"}, "STRING needs TEXT"},
		{[]string{"GOB"}, "GOB takes a gob value"},
		{[]string{"gob", "x"}, "GOB takes a gob value"},
		{[]string{"PING", "extra", "words"}, "PING takes no TEXT"},
		{[]string{"ping", "extra"}, "PING takes no TEXT"},
		{[]string{"HELP", "me"}, "HELP takes no TEXT"},
		{[]string{"STATS", "now"}, "STATS takes no TEXT"},
		{[]string{"CHAT", "hello"}, "CHAT takes no TEXT"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-connect", addr, "-timeout", "0"}, tc.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.want) ||
			!strings.Contains(stderr.String(), usageLine) {
			t.Errorf("run %q: status %d, stdout %q, stderr:\n%s\nwant status 2, %q and the usage line",
				tc.args, code, &stdout, &stderr, tc.want)
		}
	}
}

// TestRunSendsTextOfOtherCommands checks that the TEXT of a command the
// client does not know is its one payload line, sent as given.
func TestRunSendsTextOfOtherCommands(t *testing.T) {
	t.Parallel()
	addr, received := fakeServer(t, "OK done")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-connect", addr, "ECHO2", "some", "words"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || stdout.String() != "OK done\n" || stderr.Len() > 0 {
		t.Fatalf("status %d, stdout %q, stderr %q; want 0 and the reply", code, &stdout, &stderr)
	}
	if r := <-received; r.bytes != "ECHO2\nsome words\n" {
		t.Fatalf("server received %q (%v), want the command and its payload line", r.bytes, r.err)
	}
}

// TestRunNoTimeoutServerCloses checks that with -timeout 0 the client does
// not hang on a server that accepts and closes, whether it closes at once or
// after reading the request: it reports the broken connection and exits 2.
// The test's own bound is the context given to run.
func TestRunNoTimeoutServerCloses(t *testing.T) {
	t.Parallel()
	for _, readFirst := range []bool{false, true} {
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
			if readFirst {
				conn.SetReadDeadline(time.Now().Add(waitTimeout))
				conn.Read(make([]byte, 64))
			}
			conn.Close()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"-connect", l.Addr().String(), "-timeout", "0", "PING"}, strings.NewReader(""), &stdout, &stderr)
		expired := ctx.Err() != nil
		cancel()
		if expired {
			t.Fatalf("readFirst %v: the client was still waiting after %v", readFirst, waitTimeout)
		}
		if code != 2 || stdout.Len() > 0 {
			t.Fatalf("readFirst %v: status %d, stdout %q; want 2 and nothing", readFirst, code, &stdout)
		}
		if line := oneLine(t, "stderr", stderr.String()); !strings.Contains(line, l.Addr().String()) {
			t.Fatalf("readFirst %v: stderr %q does not name the address", readFirst, line)
		}
	}
}

// closedAddr returns a loopback address that nothing listens on any more.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
