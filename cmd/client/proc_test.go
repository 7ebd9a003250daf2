package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every wait in the tests.
const waitTimeout = 15 * time.Second

// A result is what a run of the client binary printed, and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// runClient runs the client binary with args and waits for it to exit.
func runClient(t testing.TB, args ...string) result {
	t.Helper()
	r, err := tryClient(args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryClient runs the client binary with args and waits for it to exit. It
// fails when the binary cannot run, or runs longer than waitTimeout.
func tryClient(args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, clientBin, args...)
	cmd.Env = binEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("client %q still running after %v\nstderr:\n%s", args, waitTimeout, r.stderr)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		r.code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("client %q: %v\nstderr:\n%s", args, err, r.stderr)
	}
	return r, nil
}

// expect checks that the client printed want to stdout, nothing to stderr,
// and exited with code.
func (r result) expect(t testing.TB, want string, code int) {
	t.Helper()
	if r.stdout != want || r.stderr != "" || r.code != code {
		t.Fatalf("client printed\n%q\nand to stderr\n%q\nand exited %d; want\n%q\nand status %d",
			r.stdout, r.stderr, r.code, want, code)
	}
}

// expectFailure checks that the client printed nothing to stdout and one line
// to stderr that contains each of want, and exited with status 2.
func (r result) expectFailure(t testing.TB, want ...string) {
	t.Helper()
	if r.code != 2 || r.stdout != "" {
		t.Fatalf("client exited %d and printed %q, want status 2 and nothing\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	line := oneLine(t, "stderr", r.stderr)
	if !strings.HasPrefix(line, "client: ") {
		t.Errorf("stderr %q does not start with the program's name", line)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("stderr %q does not contain %q", line, w)
		}
	}
}

// oneLine checks that s is exactly one line, and no panic or stack trace.
func oneLine(t testing.TB, what, s string) string {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || len(s) < 2 {
		t.Fatalf("%s is not one line:\n%q", what, s)
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(s, bad) {
			t.Fatalf("%s has %q in it:\n%s", what, bad, s)
		}
	}
	return strings.TrimSuffix(s, "\n")
}

// listenRE matches the endpoint's "listening" log line.
var listenRE = regexp.MustCompile(`level=INFO msg=listening network=\S+ addr=(\S+)\n`)

// startEndpoint runs the endpoint binary with args and returns the address it
// listens on. It is stopped with SIGTERM at the end of the test, and must then
// exit with status 0.
func startEndpoint(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(endpointBin, args...)
	cmd.Env = binEnv()
	stderr := &output{changed: make(chan struct{})}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("endpoint: %v\nstderr:\n%s", waitErr, stderr)
			}
		case <-time.After(waitTimeout):
			cmd.Process.Kill()
			<-exited
			t.Errorf("endpoint still running %v after SIGTERM", waitTimeout)
		}
	})
	m, err := stderr.waitFor(listenRE, exited)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr)
	}
	return m[1]
}

// An output collects what a process writes and lets tests wait for a line.
type output struct {
	mu      sync.Mutex // protects the following
	buf     bytes.Buffer
	changed chan struct{} // closed, and replaced, at every write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until what has been written matches re and returns the
// submatches. It gives up when done is closed (the writer has finished)
// with no match, or after waitTimeout.
func (o *output) waitFor(re *regexp.Regexp, done <-chan struct{}) ([]string, error) {
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	finished := false
	for {
		o.mu.Lock()
		text, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		if m := re.FindStringSubmatch(text); m != nil {
			return m, nil
		}
		if finished {
			return nil, errors.New("nothing matches " + re.String() + " and the process has exited")
		}
		select {
		case <-changed:
		case <-done:
			finished = true // look once more: all output is in
		case <-timeout.C:
			return nil, errors.New("nothing matches " + re.String() + " after " + waitTimeout.String())
		}
	}
}
