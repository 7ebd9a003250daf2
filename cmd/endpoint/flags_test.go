package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/handlers"
)

func TestGreeting(t *testing.T) {
	t.Parallel()
	t.Run("set", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-addr", "127.0.0.1:0", "-greeting", "welcome, stranger")
		w := dial(t, "tcp", p.addr(t))
		w.expect("welcome, stranger") // before any request
		w.send("PING\n")
		w.expect("PONG")
		p.stop(t, syscall.SIGTERM)
	})
	t.Run("off by default", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-addr", "127.0.0.1:0")
		w := dial(t, "tcp", p.addr(t))
		w.send("PING\n")
		w.expect("PONG") // the first line is the reply
		p.stop(t, syscall.SIGTERM)
	})
}

func TestLogFile(t *testing.T) {
	t.Parallel()
	logFile := filepath.Join(t.TempDir(), "endpoint.log")
	const earlier = "a line from an earlier run\n"
	if err := os.WriteFile(logFile, []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	readLog := func() string {
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	p := start(t, "-addr", "127.0.0.1:0", "-log", logFile)
	var addr string
	poll(t, "listening logged", func() bool {
		m := listenRE.FindStringSubmatch(readLog())
		if m != nil {
			addr = m[2]
		}
		return m != nil
	})
	w := dial(t, "tcp", addr)
	w.send("PING\n")
	w.expect("PONG")
	remote := regexp.QuoteMeta(w.conn.LocalAddr().String())
	opened := regexp.MustCompile(`msg="connection opened" remote=` + remote + `\n`)
	closed := regexp.MustCompile(`msg="connection closed" remote=` + remote + `\n`)
	poll(t, "connection opened logged", func() bool { return opened.MatchString(readLog()) })
	w.conn.Close()
	poll(t, "connection closed logged", func() bool { return closed.MatchString(readLog()) })

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	log := readLog()
	if !strings.HasPrefix(log, earlier) {
		t.Errorf("the log file was not appended to: it starts %.80q", log)
	}
	if !shuttingDownRE.MatchString(log) {
		t.Errorf("the log file does not say shutting down:\n%s", log)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("logged to stderr as well as to the file:\n%s", s)
	}
}

func TestLimitFlags(t *testing.T) {
	t.Parallel()
	t.Run("max-line", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-addr", "127.0.0.1:0", "-max-line", "16")
		addr := p.addr(t)
		w := dial(t, "tcp", addr)
		w.send("STRING\n" + strings.Repeat("a", 16) + "\n")
		w.expect("OK " + strings.Repeat("a", 16))
		w.send("STRING\n" + strings.Repeat("b", 17) + "\n")
		expectErr(w)
		w.expectClosed()

		w = dial(t, "tcp", addr)
		w.send(strings.Repeat("C", 17) + "\n")
		expectErr(w)
		w.expectClosed()
		p.stop(t, syscall.SIGTERM)
	})
	t.Run("max-payload", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-addr", "127.0.0.1:0", "-max-payload", "300")
		w := dial(t, "tcp", p.addr(t))
		w.sendGob(nested)
		w.expect(nestedReply)
		w.sendGob(handlers.GobPayload{N: 1, P: bytes.Repeat([]byte{'x'}, 400)})
		expectErr(w)
		w.expectClosed()
		p.stop(t, syscall.SIGTERM)
	})
	t.Run("max-conns", func(t *testing.T) {
		t.Parallel()
		p := start(t, "-addr", "127.0.0.1:0", "-max-conns", "1")
		addr := p.addr(t)
		first := dial(t, "tcp", addr)
		first.send("PING\n")
		first.expect("PONG")
		second := dial(t, "tcp", addr)
		if got := second.line(); !strings.HasPrefix(got, "ERR ") || !strings.Contains(got, "too many connections") {
			t.Fatalf("a connection over -max-conns got %q, want an ERR line", got)
		}
		second.expectClosed()
		first.send("PING\n") // the first one is still served
		first.expect("PONG")
		p.stop(t, syscall.SIGTERM)
	})
	t.Run("idle-timeout", func(t *testing.T) {
		t.Parallel()
		const idle = 300 * time.Millisecond
		p := start(t, "-addr", "127.0.0.1:0", "-idle-timeout", idle.String())
		w := dial(t, "tcp", p.addr(t))
		w.send("PING\n")
		w.expect("PONG")
		begin := time.Now()
		w.expect("ERR idle timeout")
		w.expectClosed() // by the endpoint, long before the test's own deadline
		if waited := time.Since(begin); waited < idle/2 {
			t.Fatalf("closed after %v, before the idle timeout of %v", waited, idle)
		}
		p.stop(t, syscall.SIGTERM)
	})
}

// expectErr reads one line and checks that it is an error reply.
func expectErr(w *wire) {
	w.t.Helper()
	if got := w.line(); !strings.HasPrefix(got, "ERR ") {
		w.t.Fatalf("got %q, want an ERR line", got)
	}
}
