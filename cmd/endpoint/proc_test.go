package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every wait in the tests: for a log line, a reply, an exit.
const waitTimeout = 15 * time.Second

// A proc is one run of the endpoint binary, whose output the test watches.
type proc struct {
	cmd    *exec.Cmd
	stdout *output
	stderr *output
	exited chan struct{} // closed once the process has exited and its output is in
	err    error         // what Wait returned; set before exited is closed
}

// start runs the endpoint binary with args. The process is killed at the end
// of the test if it is still running.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	return startIn(t, nil, args...)
}

// startIn is start with stdin as the process's standard input (nil: empty).
func startIn(t testing.TB, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:    exec.Command(binPath, args...),
		stdout: newOutput(),
		stderr: newOutput(),
		exited: make(chan struct{}),
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.stdout, p.stderr
	// A binary built with -race sleeps a second before exiting, unless told
	// otherwise; its races are reported all the same.
	p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=20")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start endpoint: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// listenRE matches the endpoint's "listening" log line.
var listenRE = regexp.MustCompile(`level=INFO msg=listening network=(\S+) addr=(\S+)`)

// addr waits for the "listening" log line on standard error and returns the
// address it names.
func (p *proc) addr(t testing.TB) string {
	t.Helper()
	return p.waitLog(t, listenRE)[2]
}

// waitLog waits for a line of standard error that matches re and returns its
// submatches.
func (p *proc) waitLog(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	m, err := p.stderr.waitFor(re, p.exited)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, p.stderr)
	}
	return m
}

// signal sends sig to the process.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		t.Fatalf("endpoint still running after %v\nstderr:\n%s", waitTimeout, p.stderr)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	}
	t.Fatalf("endpoint: %v\nstderr:\n%s", p.err, p.stderr)
	return -1
}

// stop sends sig, waits for the exit and checks that it is a clean one: status
// 0 and the shutdown logged.
func (p *proc) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	p.signal(t, sig)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after %v, want 0\nstderr:\n%s", code, sig, p.stderr)
	}
	if log := p.stderr.String(); !strings.Contains(log, `msg="shutting down"`) {
		t.Fatalf("log does not say shutting down after %v:\n%s", sig, log)
	}
}

// An output collects what a process writes and lets tests wait for a line.
type output struct {
	mu      sync.Mutex // protects the following
	buf     bytes.Buffer
	changed chan struct{} // closed, and replaced, at every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

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

// waitFor waits until a whole line matches re and returns its submatches. It
// gives up when done is closed (the writer has finished) with no line matching,
// or after waitTimeout.
func (o *output) waitFor(re *regexp.Regexp, done <-chan struct{}) ([]string, error) {
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	finished := false
	for {
		o.mu.Lock()
		text, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			for line := range strings.Lines(text[:i+1]) {
				if m := re.FindStringSubmatch(line); m != nil {
					return m, nil
				}
			}
		}
		if finished {
			return nil, errors.New("no line matches " + re.String() + " and the process has exited")
		}
		select {
		case <-changed:
		case <-done:
			finished = true // look once more: all output is in
		case <-timeout.C:
			return nil, errors.New("no line matches " + re.String() + " after " + waitTimeout.String())
		}
	}
}

// poll calls cond until it is true, failing the test after waitTimeout. It is
// for what gives no signal to wait on, such as a line written to a file.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, waitTimeout)
		}
		<-tick.C
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
