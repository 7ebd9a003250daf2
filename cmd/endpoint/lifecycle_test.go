package main

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestStopsCleanlyOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := start(t, "-addr", "127.0.0.1:0")
			addr := p.addr(t)
			w := dial(t, "tcp", addr)
			w.send("PING\n")
			w.expect("PONG")
			p.stop(t, sig) // status 0, "shutting down" logged
			w.expectClosed()
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Fatalf("%s still accepts connections after exiting", addr)
			}
		})
	}
}

func TestStaleSocketIsReplacedAndSocketRemovedAtShutdown(t *testing.T) {
	t.Parallel()
	path := socketPath(t)
	// A crashed run leaves its socket file behind: make one that way.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Fatalf("no stale socket file to start with: %v, %v", fi, err)
	}

	p := start(t, "-network", "unix", "-addr", path)
	p.addr(t)
	w := dial(t, "unix", path)
	w.send("PING\n")
	w.expect("PONG")
	p.stop(t, syscall.SIGTERM)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file still there after shutdown: %v", err)
	}
}

// cannotStart runs the endpoint with args, expecting it to give up with the
// exit status want and one line on standard error, which it returns.
func cannotStart(t *testing.T, want int, args ...string) string {
	t.Helper()
	p := start(t, args...)
	if code := p.wait(t); code != want {
		t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, want, p.stderr)
	}
	return oneLine(t, "stderr", p.stderr.String())
}

func TestCannotListen(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()

	t.Run("port taken", func(t *testing.T) {
		line := cannotStart(t, 1, "-addr", addr)
		if !strings.Contains(line, addr) || !strings.Contains(line, "address already in use") {
			t.Fatalf("stderr %q does not name %s and the cause", line, addr)
		}
	})
	t.Run("port taken, logging to a file", func(t *testing.T) {
		logFile := filepath.Join(t.TempDir(), "log")
		line := cannotStart(t, 1, "-addr", addr, "-log", logFile)
		if !strings.Contains(line, "address already in use") {
			t.Fatalf("stderr %q does not give the cause", line)
		}
		if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "address already in use") {
			t.Fatalf("the log file does not record the failure:\n%s", b)
		}
	})
	t.Run("live server on the socket", func(t *testing.T) {
		path := socketPath(t)
		live, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		line := cannotStart(t, 1, "-network", "unix", "-addr", path)
		if !strings.Contains(line, path) || !strings.Contains(line, "address already in use") {
			t.Fatalf("stderr %q does not name %s and the cause", line, path)
		}
		c, err := net.Dial("unix", path) // the live server's socket is intact
		if err != nil {
			t.Fatalf("the live server's socket was broken: %v", err)
		}
		c.Close()
	})
	t.Run("file in the way", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "not-a-socket")
		if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		line := cannotStart(t, 1, "-network", "unix", "-addr", path)
		if !strings.Contains(line, path) {
			t.Fatalf("stderr %q does not name %s", line, path)
		}
		if b, err := os.ReadFile(path); string(b) != "keep me" {
			t.Fatalf("the file in the way was changed: %q, %v", b, err)
		}
	})
	t.Run("log file cannot be opened", func(t *testing.T) {
		logFile := filepath.Join(t.TempDir(), "no", "such", "dir", "log")
		line := cannotStart(t, 1, "-addr", "127.0.0.1:0", "-log", logFile)
		if !strings.Contains(line, logFile) {
			t.Fatalf("stderr %q does not name %s", line, logFile)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		p := start(t, "-max-line", "0")
		if code := p.wait(t); code != 2 {
			t.Fatalf("exit status %d, want 2", code)
		}
		if s := p.stderr.String(); !strings.Contains(s, "-max-line") || strings.Contains(s, "goroutine ") {
			t.Fatalf("stderr does not explain the bad flag:\n%s", s)
		}
	})
}

// Log lines of a shutdown: its start, and the listener closed.
var (
	shuttingDownRE     = regexp.MustCompile(`msg="shutting down"`)
	stoppedAcceptingRE = regexp.MustCompile(`msg="stopped accepting connections"`)
)

func TestShutdownAnswersRequestsThatHaveArrived(t *testing.T) {
	t.Parallel()
	p := start(t, "-addr", "127.0.0.1:0")
	addr := p.addr(t)
	a, b := dial(t, "tcp", addr), dial(t, "tcp", addr)
	for _, w := range []*wire{a, b} { // both served, and idle
		w.send("PING\n")
		w.expect("PONG")
	}

	a.send("PING\n")   // a whole request
	b.send("STRING\n") // a command line, its payload still to come
	p.signal(t, syscall.SIGTERM)
	// The listener is closed, and so b's payload comes after the shutdown
	// has begun.
	p.waitLog(t, stoppedAcceptingRE)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a new connection was accepted during shutdown")
	}
	b.send("sent after the signal\n")

	a.expect("PONG")
	a.expectClosed()
	b.expect("OK sent after the signal")
	b.expectClosed()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, p.stderr)
	}
}

func TestShutdownTimeoutClosesConnections(t *testing.T) {
	t.Parallel()
	p := start(t, "-addr", "127.0.0.1:0", "-shutdown-timeout", "250ms")
	w := dial(t, "tcp", p.addr(t))
	w.send("PING\n") // accepted and served
	w.expect("PONG")
	w.send("STRING\n") // and never the payload
	p.signal(t, syscall.SIGINT)
	w.expectClosed()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, p.stderr)
	}
	p.waitLog(t, regexp.MustCompile(`level=WARN msg="shutdown timed out.*timeout=250ms`))
}
