package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A serverProc is a server running in its own process, a child of this one.
type serverProc struct {
	Name  string
	Addr  string // where it listens, on loopback
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string   // the lines it writes on standard output
	done  chan struct{} // closed when the process has exited
	err   error         // why it exited; set before done is closed
}

// Timeouts of a server process's start and stop.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 15 * time.Second // a CPU profile is written on the way out
)

// startServer runs the bench binary exe (this one, or a baseline's) in its
// serve mode to run the named server on a free loopback port, and waits until
// it listens. If cpuProfile is set, the process writes a CPU profile there as
// it stops. extra are more serve flags.
func startServer(exe, name, cpuProfile string, maxLife time.Duration, extra ...string) (*serverProc, error) {
	args := []string{"-serve", name, "-addr", "127.0.0.1:0", "-max-life", maxLife.String()}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	args = append(args, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out := &lineWriter{ch: make(chan string, 16)}
	cmd.Stdout = out
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{Name: name, cmd: cmd, in: in, lines: out.ch, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-p.lines:
		addr, ok := strings.CutPrefix(line, listeningPrefix)
		if !ok {
			p.Kill()
			return nil, fmt.Errorf("server %s: unexpected first line %q", name, line)
		}
		p.Addr = addr
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("server %s exited before listening: %v", name, p.err)
	case <-time.After(startTimeout):
		p.Kill()
		return nil, fmt.Errorf("server %s did not listen within %v", name, startTimeout)
	}
}

// Stop asks the server to exit by closing its standard input, and kills it
// if it has not exited within stopTimeout.
func (p *serverProc) Stop() error {
	p.in.Close()
	select {
	case <-p.done:
		return p.err
	case <-time.After(stopTimeout):
		p.Kill()
		return fmt.Errorf("server %s did not stop within %v; killed", p.Name, stopTimeout)
	}
}

// Kill ends the server at once and waits for it to be gone.
func (p *serverProc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// RSS returns the server's resident set size in bytes, from VmRSS in
// /proc/PID/status.
func (p *serverProc) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
}

// MemStats asks the server for the Go runtime's view of its memory.
func (p *serverProc) MemStats() (goMem, error) {
	var m goMem
	if _, err := io.WriteString(p.in, memStatsCommand+"\n"); err != nil {
		return m, err
	}
	timeout := time.After(startTimeout)
	for {
		select {
		case line := <-p.lines:
			if js, ok := strings.CutPrefix(line, memStatsPrefix); ok {
				return m, json.Unmarshal([]byte(js), &m)
			}
		case <-p.done:
			return m, fmt.Errorf("server %s exited: %v", p.Name, p.err)
		case <-timeout:
			return m, fmt.Errorf("server %s: no memory statistics within %v", p.Name, startTimeout)
		}
	}
}

// lineWriter is a process's standard output: it hands on each line, and
// drops lines that nobody is waiting for once its channel is full.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	ch  chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		select {
		case w.ch <- line:
		default:
		}
	}
	if len(w.buf) > 64<<10 { // no newline in sight: not a line protocol
		w.buf = nil
	}
	return len(p), nil
}
