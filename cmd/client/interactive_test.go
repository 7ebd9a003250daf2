package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// runBounded runs the program with args and stdin, failing the test if it
// does not return within waitTimeout.
func runBounded(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), args, stdin, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("client %q did not return within %v", args, waitTimeout)
	}
	return code, out.String(), errOut.String()
}

// TestBatch10000 pipes 10,000 requests to client -i and checks every reply,
// in input order.
func TestBatch10000(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	var in strings.Builder
	var want strings.Builder
	for i := range 10000 {
		switch i % 100 {
		case 0:
			in.WriteString("ping\n")
			want.WriteString("PONG\n")
		case 50:
			in.WriteString("\n   \n") // blank lines are skipped
			fallthrough
		default:
			fmt.Fprintf(&in, "STRING line %d  of   the batch\n", i)
			fmt.Fprintf(&want, "OK line %d of the batch\n", i)
		}
	}
	start := time.Now()
	code, stdout, stderr := runBounded(t, strings.NewReader(in.String()), "-i", "-connect", addr)
	t.Logf("10,000 requests in %v", time.Since(start))
	if code != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %q", code, stderr)
	}
	if stdout != want.String() {
		got, exp := strings.Split(stdout, "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(got), len(exp)) {
			if got[i] != exp[i] {
				t.Fatalf("reply %d: got %q, want %q (%d lines, want %d)", i, got[i], exp[i], len(got), len(exp))
			}
		}
		t.Fatalf("got %d lines, want %d", len(got), len(exp))
	}
}

// TestBatchRefusesAndErrs: GOB and STRING without TEXT are refused on
// standard error and the session goes on; an ERR reply is printed; the status
// is 1.
func TestBatchRefusesAndErrs(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	in := "PING\nGOB\nSTRING\nNOPE x\nHELP\nSTRING after\n"
	code, stdout, stderr := runBounded(t, strings.NewReader(in), "-i", "-connect", addr)
	want := "PONG\nERR unknown command \"NOPE\"\ncommands: CHAT GOB HELP PING STATS STRING\nOK after\n"
	if code != 1 || stdout != want {
		t.Fatalf("status %d, stdout %q; want 1, %q", code, stdout, want)
	}
	if !strings.Contains(stderr, "client: GOB: GOB takes a gob value") || !strings.Contains(stderr, "client: STRING: STRING needs TEXT") {
		t.Fatalf("stderr %q", stderr)
	}
}

// TestBatchChat: CHAT in the input makes the rest of it chat lines; the
// session prints the pushed lines and, at the end of the input, quits.
func TestBatchChat(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	other, otherID := joinChat(t, addr)
	in := "PING\nCHAT\nhello room\n"
	code, stdout, stderr := runBounded(t, strings.NewReader(in), "-i", "-connect", addr)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "PONG\nclient id: ") {
		t.Fatalf("status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	id := strings.TrimSpace(strings.TrimPrefix(stdout, "PONG\nclient id: "))
	if got := other.line(t); got != "("+id+") hello room" {
		t.Fatalf("the other member got %q (it is %s)", got, otherID)
	}
}

// A member is a raw chat connection.
type member struct {
	conn net.Conn
	br   *bufio.Reader
}

func (m *member) line(t *testing.T) string {
	t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	l, err := m.br.ReadString('\n')
	if err != nil {
		t.Fatalf("member read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// joinChat connects a member to the room at addr and returns it and its ID.
func joinChat(t *testing.T, addr string) (*member, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := &member{conn: c, br: bufio.NewReader(c)}
	io.WriteString(c, "CHAT\n")
	l := m.line(t)
	id, ok := strings.CutPrefix(l, "client id: ")
	if !ok {
		t.Fatalf("CHAT: %q", l)
	}
	return m, id
}

// A screen is the terminal side of a session under test: keys are written to
// it (an io.Pipe, read by the session's Terminal) and everything the session
// writes is kept, with a signal for each write.
type screen struct {
	keys  *io.PipeReader
	typer *io.PipeWriter
	mu    sync.Mutex
	out   []byte
	wrote chan struct{} // a token after each write
}

func newScreen() *screen {
	r, w := io.Pipe()
	return &screen{keys: r, typer: w, wrote: make(chan struct{}, 1)}
}

func (s *screen) Read(p []byte) (int, error) { return s.keys.Read(p) }

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.out = append(s.out, p...)
	s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *screen) bytes() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.out)
}

// waitFor waits until the output holds want and returns the output.
func (s *screen) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		if out := s.bytes(); strings.Contains(out, want) {
			return out
		}
		select {
		case <-s.wrote:
		case <-deadline:
			t.Fatalf("the screen never showed %q; it shows %q", want, s.bytes())
		}
	}
}

// typeKeys types keys, bounded.
func (s *screen) typeKeys(t *testing.T, keys string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := io.WriteString(s.typer, keys); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("the session never read the keys %q", keys)
	}
}

// startTerminal runs a terminal session over a screen, connected to addr, and
// returns the screen and the session's end.
func startTerminal(t *testing.T, addr, history string, chat bool) (*screen, <-chan error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	scr := newScreen()
	var stderr bytes.Buffer
	s := &session{rw: scr, tty: true, stderr: &stderr, conn: conn, br: bufio.NewReader(conn),
		timeout: waitTimeout, history: history, chat: chat}
	done := make(chan error, 1)
	go func() { done <- s.run() }()
	t.Cleanup(func() { scr.typer.Close() })
	return scr, done
}

func waitEnd(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("session: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the session did not end")
	}
}

// TestTerminalChatRedrawsHalfTypedLine: a line pushed while one is half typed
// is shown, and the prompt and the half-typed line are redrawn after it.
func TestTerminalChatRedrawsHalfTypedLine(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	other, otherID := joinChat(t, addr)
	scr, done := startTerminal(t, addr, "", true)
	out := scr.waitFor(t, "chat> ")
	if !strings.Contains(out, "client id: ") {
		t.Fatalf("no client id line: %q", out)
	}
	scr.typeKeys(t, "half typ")
	scr.waitFor(t, "chat> half typ")
	io.WriteString(other.conn, "hello from the other member\n")
	want := "(" + otherID + ") hello from the other member\r\nchat> half typ"
	scr.waitFor(t, want)
	scr.typeKeys(t, "ed\r")
	if got := other.line(t); !strings.HasSuffix(got, ") half typed") {
		t.Fatalf("the other member got %q", got)
	}
	scr.typeKeys(t, "/quit\r")
	waitEnd(t, done)
}

// TestTerminalHistoryAcrossSessions: a second session with the same history
// file recalls the first one's lines with the up-arrow key; Tab completes a
// command name from HELP's reply.
func TestTerminalHistoryAcrossSessions(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	hist := filepath.Join(t.TempDir(), "history")

	scr, done := startTerminal(t, addr, hist, false)
	scr.waitFor(t, "> ")
	scr.typeKeys(t, "STRING first session\r")
	scr.waitFor(t, "OK first session")
	scr.typeKeys(t, "PING\r")
	scr.waitFor(t, "PONG")
	scr.typeKeys(t, "\x04") // Ctrl-D
	waitEnd(t, done)
	if data, _ := os.ReadFile(hist); string(data) != "STRING first session\nPING\n" {
		t.Fatalf("history file: %q", data)
	}

	scr, done = startTerminal(t, addr, hist, false)
	scr.waitFor(t, "> ")
	scr.typeKeys(t, "\x1b[A\x1b[A\r") // up twice: the first session's first line
	scr.waitFor(t, "OK first session")
	scr.typeKeys(t, "str\tcompleted\r")
	scr.waitFor(t, "OK completed")
	scr.typeKeys(t, "\x04")
	waitEnd(t, done)
}

// TestHistoryBounded: a history file of more lines than historyMax is cut to
// its last historyMax lines.
func TestHistoryBounded(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "history")
	var b strings.Builder
	for i := range historyMax + 500 {
		fmt.Fprintf(&b, "PING %d\n", i)
	}
	os.WriteFile(hist, []byte(b.String()), 0o600)
	h := loadHistory(hist, io.Discard)
	if h.Len() != historyMax || h.At(0) != fmt.Sprintf("PING %d", historyMax+499) || h.At(historyMax-1) != "PING 500" {
		t.Fatalf("len %d, newest %q, oldest %q", h.Len(), h.At(0), h.At(h.Len()-1))
	}
	data, _ := os.ReadFile(hist)
	if n := strings.Count(string(data), "\n"); n != historyMax {
		t.Fatalf("the file keeps %d lines", n)
	}
}

func TestComplete(t *testing.T) {
	names := []string{"CHAT", "GOB", "HELP", "PING", "STATS", "STRING"}
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{"st", "ST", true}, {"str", "STRING ", true}, {"p", "PING ", true}, {"x", "", false}, {"STRING a", "", false},
	} {
		got, pos, ok := complete(names, tc.line, len(tc.line), '\t')
		if ok != tc.ok || got != tc.want || (ok && pos != len(tc.want)) {
			t.Errorf("complete(%q) = %q, %d, %v; want %q, %v", tc.line, got, pos, ok, tc.want, tc.ok)
		}
	}
}

// TestInteractiveWithNameIsUsageError: -i and -chat take no NAME.
func TestInteractiveWithNameIsUsageError(t *testing.T) {
	for _, args := range [][]string{{"-i", "PING"}, {"-chat", "STRING", "x"}} {
		code, stdout, stderr := runBounded(t, strings.NewReader(""), args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "give no NAME") || !strings.Contains(stderr, usageLine) {
			t.Errorf("%q: status %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestBatchServerCloses: a server that answers HELP and one PING, then closes,
// ends a batch whose input never ends with status 2, at once.
func TestBatchServerCloses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		br.ReadString('\n')
		io.WriteString(c, "commands: HELP PING\n")
		br.ReadString('\n')
		io.WriteString(c, "PONG\n")
	}()
	in, typer := io.Pipe() // input that never ends
	t.Cleanup(func() { typer.Close() })
	go io.WriteString(typer, "PING\nPING\nPING\n")
	code, stdout, stderr := runBounded(t, in, "-i", "-timeout", "0", "-connect", l.Addr().String())
	if code != 2 || stdout != "PONG\n" || !strings.Contains(stderr, "closed the connection") {
		t.Fatalf("status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestTerminalChatServerCloses: when the server closes the member, a session
// waiting for a key ends with an error, without another key.
func TestTerminalChatServerCloses(t *testing.T) {
	e, addr := serveInProcess(t, "tcp", nil)
	scr, done := startTerminal(t, addr, "", true)
	scr.waitFor(t, "chat> ")
	e.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "closed the chat connection") {
			t.Fatalf("session: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the session did not end")
	}
}

// TestBatchProcess: the binary, as in client -i < requests.txt, with its
// standard input a file.
func TestBatchProcess(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", nil)
	path := filepath.Join(t.TempDir(), "requests.txt")
	var in, want strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, "STRING %d\n", i)
		fmt.Fprintf(&want, "OK %d\n", i)
	}
	if err := os.WriteFile(path, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, clientBin, "-i", "-connect", addr)
	cmd.Env = binEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != want.String() || stderr.Len() != 0 {
		t.Fatalf("client -i < requests.txt: %v; %d bytes out (want %d), stderr %q", err, stdout.Len(), want.Len(), stderr.String())
	}
}

// TestInteractiveAgainstChatServer: against a server that makes every
// connection a member (cmd/endpoint -chat), -i is in chat mode from the start,
// piped and on a terminal.
func TestInteractiveAgainstChatServer(t *testing.T) {
	_, addr := serveInProcess(t, "tcp", func(e *endpoint.Endpoint) {
		e.FirstCommand = "CHAT"
		handlers.Register(e)
	})
	other, _ := joinChat(t, addr) // its CHAT is a chat line here, to no one

	code, stdout, stderr := runBounded(t, strings.NewReader("piped line\n"), "-i", "-connect", addr)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "client id: ") {
		t.Fatalf("piped: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for {
		if got := other.line(t); strings.HasSuffix(got, ") piped line") {
			break
		}
	}

	scr, done := startTerminal(t, addr, "", false)
	scr.waitFor(t, "chat> ")
	scr.typeKeys(t, "typed line\r")
	for {
		if got := other.line(t); strings.HasSuffix(got, ") typed line") {
			break
		}
	}
	scr.typeKeys(t, "/quit\r")
	waitEnd(t, done)
}
