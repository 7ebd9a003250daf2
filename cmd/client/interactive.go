package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/term"
)

// historyMax bounds the history file: at start it is cut to its last
// historyMax lines.
const historyMax = 1000

// A session is one run of client -i over one raw connection (DialConn). On a
// terminal (tty true) it reads lines through an x/term Terminal over rw, with
// line editing, history and tab completion, and asks one request at a time;
// otherwise it reads rw as lines of requests and pipelines them all, printing
// the replies to rw in input order. Errors of the session go to stderr.
type session struct {
	rw      io.ReadWriter
	tty     bool
	stderr  io.Writer
	conn    net.Conn
	br      *bufio.Reader
	timeout time.Duration // bound on each reply's wait; 0: none
	history string        // history file; "": none
	chat    bool          // enter chat mode at once (-chat)
	status  int           // 1 once a reply was ERR or a line was refused
	refused atomic.Bool   // batch: the writer refused a line
	stop    chan struct{} // batch: closed when the reader gives up
	keys    *keys         // terminal: the keys, which the chat reader can end
	joined  bool          // the server made the connection a member at once
	width   int           // terminal: its size when the session began; 0: 80x24
	height  int
	// commands are the names in HELP's reply: Tab completes them, and a
	// name not among them is sent without its TEXT, since the server
	// answers ERR unknown command and would read the TEXT as a request.
	commands []string
}

// interactive runs client -i: it dials, reads the greeting if asked, and
// runs a session over stdin and stdout, on a terminal in raw mode.
func interactive(ctx context.Context, cfg *config, stdin io.Reader, stdout, stderr io.Writer) int {
	addr := dialAddress(cfg.network, cfg.connect)
	out := &printer{ctx: ctx, addr: addr, stdout: stdout, stderr: stderr}
	d, err := cfg.tls.dialer()
	if err != nil {
		fmt.Fprintf(stderr, "client: %v\n", err)
		return 2
	}
	dctx := ctx
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeoutCause(ctx, cfg.timeout,
			errors.Errorf("no connection within -timeout %v", cfg.timeout))
		defer cancel()
	}
	conn, err := d.DialConn(dctx, cfg.network, addr)
	if err != nil {
		out.ctx = dctx
		return out.failure(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{rw: struct {
		io.Reader
		io.Writer
	}{stdin, stdout}, stderr: stderr, conn: conn, br: bufio.NewReader(conn),
		timeout: cfg.timeout, history: cfg.history, chat: cfg.chat}
	restore := func() {}
	defer func() { restore() }()
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		old, err := term.MakeRaw(int(f.Fd()))
		if err != nil {
			fmt.Fprintf(stderr, "client: %v\n", err)
			return 2
		}
		restore = func() { term.Restore(int(f.Fd()), old) }
		s.tty = true
		if w, h, err := term.GetSize(int(f.Fd())); err == nil {
			s.width, s.height = w, h
		}
	}
	if cfg.greet {
		line, err := s.readReply()
		if err != nil {
			return out.failure(err)
		}
		if strings.HasPrefix(line, "ERR ") {
			fmt.Fprintln(stdout, line)
			return 1
		}
		s.print(line)
	}
	if err := s.run(); err != nil {
		restore() // the message goes to a cooked terminal
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return out.failure(err)
	}
	return s.status
}

// print writes one line to the session's output.
func (s *session) print(line string) {
	if s.tty {
		io.WriteString(s.rw, line+"\r\n") // raw mode
		return
	}
	io.WriteString(s.rw, line+"\n")
}

// readReply reads one reply line, bounded by s.timeout.
func (s *session) readReply() (string, error) {
	if s.timeout > 0 && s.br.Buffered() == 0 {
		s.conn.SetReadDeadline(time.Now().Add(s.timeout))
	}
	line, err := s.br.ReadString('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", errors.Errorf("no reply within -timeout %v", s.timeout)
		}
		if errors.Is(err, io.EOF) {
			return "", errors.New("the server closed the connection")
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// parseLine parses one input line into the bytes of its request: NAME, then the
// words after it joined by spaces as its one payload line (none for a name
// that is not one of s.commands). blank is true for a
// line with no words; err refuses the payloads checkPayload rules out.
func (s *session) parseLine(line string) (req, name string, blank bool, err error) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return "", "", true, nil
	}
	name = words[0]
	if err := checkPayload(name, len(words) > 1); err != nil {
		return "", name, false, err
	}
	if len(words) == 1 || !s.known(name) {
		return name + "\n", name, false, nil
	}
	return name + "\n" + strings.Join(words[1:], " ") + "\n", name, false, nil
}

// run asks HELP for the server's commands, then runs the session.
//
// A server that makes every connection a member (cmd/endpoint -chat) answers
// HELP with its client id line, having taken HELP for a chat line: the
// session is then in chat mode from the start. (-chat skips HELP; against
// such a server its CHAT is a chat line.)
func (s *session) run() error {
	if !s.chat {
		if _, err := io.WriteString(s.conn, "HELP\n"); err != nil {
			return err
		}
		line, err := s.readReply()
		if err != nil {
			return err
		}
		if names, ok := strings.CutPrefix(line, "commands:"); ok {
			s.commands = strings.Fields(names)
		}
		if strings.HasPrefix(line, "client id: ") {
			s.print(line)
			s.joined = true
		}
	}
	if s.tty {
		return s.terminal()
	}
	return s.batch()
}

// A pending request is one written whose reply is still to be read. chat is
// non-nil for CHAT: the reader says on it whether the room took the member.
type pending struct {
	chat chan bool
}

// batch pipelines the input lines' requests: a writer goroutine writes them as
// fast as they are read, the reader prints the replies in order. After a CHAT
// the room took, the rest of the input goes to the room, pushed lines are
// printed as they come, and at the end of the input the session sends /quit
// and prints what comes until the server closes the connection.
func (s *session) batch() error {
	queue := make(chan pending, 4096)
	s.stop = make(chan struct{})
	var werr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		werr = s.writeRequests(queue)
	}()
	out := bufio.NewWriter(s.rw)
	defer out.Flush()
	// chat prints the pushed lines until the server closes the member
	// (after the /quit sent at the end of the input, or on its own), and
	// ends the session at once, whatever the writer waits for.
	chat := func() error {
		out.Flush()
		s.conn.SetReadDeadline(time.Time{})
		s.printPushed(out)
		s.conn.Close()
		close(s.stop)
		if s.refused.Load() {
			s.status = 1
		}
		return nil
	}
	if s.joined {
		return chat()
	}
	for p := range queue {
		if len(queue) == 0 {
			out.Flush()
		}
		line, err := s.readReply()
		if err != nil {
			// The connection is gone: stop at once, whatever the
			// writer is waiting for (more input, say); it fails its
			// next write or queuing and ends.
			s.conn.Close()
			close(s.stop)
			return err
		}
		fmt.Fprintln(out, line)
		if strings.HasPrefix(line, "ERR ") {
			s.status = 1
		}
		if p.chat == nil {
			continue
		}
		in := !strings.HasPrefix(line, "ERR ")
		p.chat <- in
		if in {
			return chat()
		}
	}
	wg.Wait()
	if s.refused.Load() {
		s.status = 1
	}
	return werr
}

// printPushed prints the lines the room pushes until the server closes the
// connection.
func (s *session) printPushed(out *bufio.Writer) {
	for {
		line, err := s.br.ReadString('\n')
		if line != "" {
			out.WriteString(strings.TrimRight(line, "\r\n") + "\n")
		}
		if s.br.Buffered() == 0 {
			out.Flush()
		}
		if err != nil {
			return // the server closed the member, as /quit asks
		}
	}
}

// writeRequests writes the input's requests, queuing one pending reply for
// each, and flushes whenever the input has nothing more buffered.
func (s *session) writeRequests(queue chan<- pending) error {
	in := bufio.NewReaderSize(s.rw, 64<<10)
	w := bufio.NewWriterSize(s.conn, 64<<10)
	chatting := s.joined
	if s.chat {
		var err error
		if chatting, err = s.enterChat(w, queue); err != nil {
			return err
		}
	}
	for {
		line, rerr := in.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		switch {
		case chatting:
			if line != "" {
				w.WriteString(line + "\n")
			}
		default:
			req, name, blank, err := s.parseLine(line)
			switch {
			case blank:
			case err != nil:
				fmt.Fprintf(s.stderr, "client: %s: %v\n", line, err)
				s.refused.Store(true)
			case strings.EqualFold(name, "CHAT"):
				var err error
				if chatting, err = s.enterChat(w, queue); err != nil {
					return err
				}
			default:
				if _, err := w.WriteString(req); err != nil {
					return err
				}
				select {
				case queue <- pending{}:
				case <-s.stop:
					return nil
				}
			}
		}
		if rerr != nil || in.Buffered() == 0 {
			if chatting && rerr != nil {
				w.WriteString("/quit\n")
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if rerr != nil {
			return nil
		}
	}
}

// enterChat sends CHAT and waits for the reader to say whether the room took
// the member.
func (s *session) enterChat(w *bufio.Writer, queue chan<- pending) (bool, error) {
	w.WriteString("CHAT\n")
	if err := w.Flush(); err != nil {
		return false, err
	}
	ch := make(chan bool, 1)
	select {
	case queue <- pending{chat: ch}:
	case <-s.stop:
		return false, nil
	}
	select {
	case in := <-ch:
		return in, nil
	case <-s.stop:
		return false, nil
	}
}

// terminal runs the session on a terminal: one request at a time, the reply
// printed before the next prompt, until the input ends (Ctrl-D or Ctrl-C).
func (s *session) terminal() error {
	s.keys = newKeys(s.rw)
	defer s.keys.stop()
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{s.keys, s.rw}, "> ")
	if s.width > 0 {
		t.SetSize(s.width, s.height)
	}
	h := loadHistory(s.history, s.stderr)
	t.History = h
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		return complete(s.commands, line, pos, key)
	}
	if s.joined {
		t.AutoCompleteCallback = nil
		return s.chatLoop(t)
	}
	if s.chat {
		return s.chatTerminal(t)
	}
	for {
		line, err := t.ReadLine()
		if err != nil {
			io.WriteString(s.rw, "\r\n") // Ctrl-D or Ctrl-C: end the prompt's line
			return nil
		}
		req, name, blank, err := s.parseLine(line)
		switch {
		case blank:
			continue
		case err != nil:
			fmt.Fprintf(t, "client: %v\n", err)
			s.status = 1
			continue
		}
		if _, err := io.WriteString(s.conn, req); err != nil {
			return err
		}
		reply, err := s.readReply()
		if err != nil {
			return err
		}
		fmt.Fprintln(t, reply)
		if strings.HasPrefix(reply, "ERR ") {
			s.status = 1
			continue
		}
		if strings.EqualFold(name, "CHAT") {
			t.AutoCompleteCallback = nil
			return s.chatLoop(t)
		}
	}
}

// chatTerminal sends CHAT (for -chat) and runs the chat loop.
func (s *session) chatTerminal(t *term.Terminal) error {
	if _, err := io.WriteString(s.conn, "CHAT\n"); err != nil {
		return err
	}
	reply, err := s.readReply()
	if err != nil {
		return err
	}
	fmt.Fprintln(t, reply)
	if strings.HasPrefix(reply, "ERR ") {
		s.status = 1
		return nil
	}
	return s.chatLoop(t)
}

// chatLoop sends each typed line to the room and shows the pushed lines as
// they arrive: Terminal.Write clears the prompt and the partial line, writes
// the pushed line and redraws them. /quit leaves, and ends the session.
func (s *session) chatLoop(t *term.Terminal) error {
	s.conn.SetReadDeadline(time.Time{})
	t.SetPrompt("chat> ")
	var quitting atomic.Bool // /quit sent: the server's close is expected
	var closed atomic.Bool   // the server closed the member unasked
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := s.br.ReadString('\n')
			if line != "" {
				fmt.Fprintln(t, strings.TrimRight(line, "\r\n"))
			}
			if err != nil {
				if !quitting.Load() {
					closed.Store(true)
					s.keys.stop() // ReadLine returns: nothing to wait for
				}
				return
			}
		}
	}()
	for {
		line, err := t.ReadLine()
		if closed.Load() {
			io.WriteString(s.rw, "\r\n")
			return errors.New("the server closed the chat connection")
		}
		if err != nil {
			line = "/quit" // Ctrl-D or Ctrl-C leave the room too
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		quit := strings.EqualFold(strings.TrimSpace(line), "/quit")
		quitting.Store(quit)
		if _, werr := io.WriteString(s.conn, line+"\n"); werr != nil {
			return nil // closed: the reader has said so
		}
		if quit {
			<-done // the server closes the member
			return nil
		}
	}
}

// known reports whether name is one of the server's commands, or whether
// HELP did not say.
func (s *session) known(name string) bool {
	if s.commands == nil {
		return true
	}
	for _, c := range s.commands {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// complete completes, on Tab, the command name before the cursor when only
// one of names begins with it (in any case), or to the longest prefix the
// names it could be share.
func complete(names []string, line string, pos int, key rune) (string, int, bool) {
	if key != '\t' || strings.ContainsAny(line[:pos], " \t") {
		return "", 0, false
	}
	prefix := strings.ToUpper(line[:pos])
	var match []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			match = append(match, n)
		}
	}
	if len(match) == 0 {
		return "", 0, false
	}
	common := match[0]
	for _, m := range match[1:] {
		for !strings.HasPrefix(m, common) {
			common = common[:len(common)-1]
		}
	}
	if len(match) == 1 {
		common += " "
	}
	return common + line[pos:], len(common), true
}

// A fileHistory is the Terminal's history, kept in a file: loaded at start
// (its last historyMax lines), each new line appended to it.
type fileHistory struct {
	path   string
	lines  []string // oldest first
	stderr io.Writer
}

// loadHistory reads the history file at path ("" for none), cutting it to
// its last historyMax lines.
func loadHistory(path string, stderr io.Writer) *fileHistory {
	h := &fileHistory{path: path, stderr: stderr}
	if path == "" {
		return h
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return h // none yet
	}
	for l := range strings.Lines(string(data)) {
		if l = strings.TrimRight(l, "\r\n"); l != "" {
			h.lines = append(h.lines, l)
		}
	}
	if len(h.lines) > historyMax {
		h.lines = h.lines[len(h.lines)-historyMax:]
		text := strings.Join(h.lines, "\n") + "\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			fmt.Fprintf(stderr, "client: history: %v\n", err)
		}
	}
	return h
}

func (h *fileHistory) Add(entry string) {
	if entry == "" || strings.ContainsAny(entry, "\r\n") {
		return
	}
	h.lines = append(h.lines, entry)
	if len(h.lines) > historyMax {
		h.lines = h.lines[1:]
	}
	if h.path == "" {
		return
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.WriteString(entry + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(h.stderr, "client: history: %v\n", err)
		h.path = "" // say it once
	}
}

func (h *fileHistory) Len() int { return len(h.lines) }

func (h *fileHistory) At(idx int) string { return h.lines[len(h.lines)-1-idx] }

// defaultHistory is the history file used unless -history says otherwise.
func defaultHistory() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return home + string(os.PathSeparator) + ".endpoint_client_history"
}

// keys reads a terminal's input on a goroutine of its own, so that the
// session can end a ReadLine that waits for a key (when the server closes a
// chat member) with stop.
type keys struct {
	chunks  chan chunk
	done    chan struct{}
	once    sync.Once
	pending []byte
	err     error
}

type chunk struct {
	b   []byte
	err error
}

func newKeys(r io.Reader) *keys {
	k := &keys{chunks: make(chan chunk), done: make(chan struct{})}
	go func() {
		for {
			b := make([]byte, 256)
			n, err := r.Read(b)
			select {
			case k.chunks <- chunk{b[:n], err}:
			case <-k.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return k
}

func (k *keys) Read(p []byte) (int, error) {
	for len(k.pending) == 0 {
		if k.err != nil {
			return 0, k.err
		}
		select {
		case c := <-k.chunks:
			k.pending, k.err = c.b, c.err
		case <-k.done:
			return 0, io.EOF
		}
	}
	n := copy(p, k.pending)
	k.pending = k.pending[n:]
	return n, nil
}

// stop ends the reads: Read returns io.EOF from now on.
func (k *keys) stop() { k.once.Do(func() { close(k.done) }) }
