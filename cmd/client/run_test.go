package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
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
		{[]string{"-h"}, 0, "usage: client"},
		{[]string{"-no-such-flag"}, 2, "-no-such-flag"},
		{[]string{"-network", "udp"}, 2, "-network must be tcp or unix"},
		{[]string{"-network", "unix"}, 2, "-connect PATH"},
		{[]string{"-connect", ""}, 2, "-connect must not be empty"},
		{[]string{"-timeout", "-1s"}, 2, "-timeout must not be negative"},
		{[]string{"two words"}, 2, `command name "two words"`},
		{[]string{"STRING", "two\nlines"}, 2, "line break"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || stdout.Len() > 0 {
			t.Errorf("run %q: status %d, stdout %q, stderr:\n%s\nwant status %d and %q",
				tc.args, code, &stdout, &stderr, tc.code, tc.want)
		}
	}
}

func TestRunInProcess(t *testing.T) {
	t.Parallel()
	_, addr := serveInProcess(t, "unix", nil)
	for _, tc := range []struct {
		args []string
		out  string
		code int
	}{
		{nil, defaultOutput, 0},
		{[]string{"STRING", "in", "process"}, "OK in process\n", 0},
		{[]string{"NOPE"}, "ERR unknown command \"NOPE\"\n", 1},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-network", "unix", "-connect", addr}, tc.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || stdout.String() != tc.out || stderr.Len() > 0 {
			t.Errorf("run %q: status %d, stdout %q, stderr %q; want status %d and stdout %q",
				tc.args, code, &stdout, &stderr, tc.code, tc.out)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	_, addr := serveInProcess(t, "tcp", nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("stopped by the test")) // as main's signal context does on SIGINT
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-connect", addr, "PING"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || stdout.Len() > 0 {
		t.Fatalf("status %d, stdout %q; want 2 and nothing", code, &stdout)
	}
	if line := oneLine(t, "stderr", stderr.String()); !strings.Contains(line, addr) || !strings.Contains(line, "stopped by the test") {
		t.Fatalf("stderr %q does not name %s and the cause", line, addr)
	}
}
