package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests call run in the test process, so that the race detector sees
// the program's own goroutines.

func TestRunRejectsBadCommandLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"-h"}, 0, "usage: endpoint"},
		{[]string{"-no-such-flag"}, 2, "-no-such-flag"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-network", "udp"}, 2, "-network must be tcp or unix"},
		{[]string{"-network", "unix"}, 2, "-addr PATH"},
		{[]string{"-max-line", "0"}, 2, "-max-line must be positive"},
		{[]string{"-max-payload", "-1"}, 2, "-max-payload must be positive"},
		{[]string{"-idle-timeout", "-1s"}, 2, "-idle-timeout must not be negative"},
		{[]string{"-max-conns", "-1"}, 2, "-max-conns must not be negative"},
		{[]string{"-shutdown-timeout", "-1s"}, 2, "-shutdown-timeout must not be negative"},
		{[]string{"-greeting", "two\nlines"}, 2, "-greeting must be one line"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run %q: status %d, stderr:\n%s\nwant status %d and %q", tc.args, code, &stderr, tc.code, tc.want)
		}
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	path := socketPath(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := newOutput()
	done := make(chan struct{})
	code := -1
	go func() {
		defer close(done)
		code = run(ctx, []string{"-network", "unix", "-addr", path, "-idle-timeout", "0", "-max-conns", "0"},
			strings.NewReader(""), &stdout, stderr)
	}()
	if _, err := stderr.waitFor(listenRE, done); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr)
	}
	w := dial(t, "unix", path)
	w.send("PING\nSTRING\nin process\n")
	w.expect("PONG")
	w.expect("OK in process")

	cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("run did not return after its context was cancelled\nstderr:\n%s", stderr)
	}
	if code != 0 {
		t.Fatalf("run returned %d, want 0\nstderr:\n%s", code, stderr)
	}
	w.expectClosed()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file still there after run returned: %v", err)
	}
	for _, re := range []*regexp.Regexp{shuttingDownRE, regexp.MustCompile(`msg=stopped`)} {
		if !re.MatchString(stderr.String()) {
			t.Errorf("log has no line matching %s:\n%s", re, stderr)
		}
	}
}
