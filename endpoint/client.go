package endpoint

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/gob"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// DefaultMaxReplyBytes bounds a reply line read by a Client.
const DefaultMaxReplyBytes = 1 << 20

// A Client calls commands on an endpoint over one connection. It is safe for
// many goroutines at once: their calls are pipelined, and replies are matched
// to calls in order. A call writes its request at once, unless another call
// is writing: then it leaves its request to that writer, which writes every
// request queued meanwhile in one write. For several connections, or several
// endpoints, see Pool. When the connection
// breaks, every pending call fails at once with an error wrapping ErrConnBroken.
//
// A Client expects one reply line per request (or a line and a gob value, for
// typed calls), so it is not for commands that take the connection over, such
// as CHAT. A server that sends a greeting needs a Client dialled with
// Dialer.Greeting; a greeting a Client was not told of breaks its connection
// (it cannot be the reply to anything).
type Client struct {
	conn     net.Conn
	greeting string // the server's greeting line, when the Dialer expected one

	// wmu protects the following: requests queued for writing. A call
	// appends its request to wbuf; if no call is writing, it becomes the
	// writer, and writes wbuf out, again and again, until it finds wbuf
	// empty. A call that finds a write in progress leaves its request for
	// the writer, so concurrent calls share write system calls. Calls
	// take wmu before mu, never the other way round.
	wmu     sync.Mutex
	wbuf    []byte // requests not yet handed to the connection
	spare   []byte // the buffer being written, or the one last written
	queued  uint64 // calls whose requests are in wbuf
	writing bool   // a call is writing; it will write wbuf too

	// cutMu protects the following: which write a context may cut short.
	cutMu  sync.Mutex
	cutGen uint64
	cut    bool

	mu      sync.Mutex // protects the following
	pending callQueue  // calls written and not yet answered, oldest first
	err     error      // why the client stopped; nil while it works
	sent    uint64     // calls whose requests have been handed to the connection
	// answerable is sent as it was when the reader last took bytes from the
	// connection: a reply line in those bytes can only answer one of those
	// calls, so a line beyond them was sent by the server unasked. Only
	// readReplies uses it.
	answerable uint64
	answered   uint64 // calls given a reply line; only readReplies uses it

	// The gob session codec of typed calls, made on first use: enc and
	// encBuf are used under wmu, dec and decGR by readReplies only.
	enc    *gob.Encoder
	encBuf bytes.Buffer
	dec    *gob.Decoder
	decGR  codec.GobReader

	readerDone chan struct{}
}

// Dial connects to the endpoint at addr on the named network ("tcp",
// "unix"), as a zero Dialer does.
func Dial(ctx context.Context, network, addr string) (*Client, error) {
	var d Dialer
	return d.Dial(ctx, network, addr)
}

// A Dialer says how to connect to an endpoint. The zero value dials plain
// TCP or unix sockets with no timeout beyond the context's.
type Dialer struct {
	// TLSConfig, if not nil, makes the connection TLS: the server is
	// verified as it says (RootCAs, ServerName: taken from addr when empty),
	// and Certificates are presented for mutual TLS.
	TLSConfig *tls.Config
	// Timeout bounds connecting, the TLS handshake included; zero means no
	// bound beyond the context's.
	Timeout time.Duration
	// KeepAlive is the TCP keep-alive period: zero means the net package's
	// default, a negative value none.
	KeepAlive time.Duration
	// Greeting tells Dial that the server sends a greeting line first (as
	// an Endpoint with a Greeting does): Dial reads it, within ctx and
	// Timeout, before it returns, and Client.Greeting gives it. A server
	// that sends an "ERR" line instead (ERR too many connections, say)
	// makes Dial fail with that *RemoteError, whose Command is "greeting".
	// Without Greeting, a greeting breaks the Client's connection.
	Greeting bool
}

// Dial connects to the endpoint at addr on the named network and returns a
// Client over the connection. ctx bounds connecting and the TLS handshake.
func (d *Dialer) Dial(ctx context.Context, network, addr string) (*Client, error) {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	conn, err := d.DialConn(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if !d.Greeting {
		return NewClient(conn), nil
	}
	c, br := newClient(conn)
	if c.greeting, err = readGreeting(ctx, conn, br); err != nil {
		conn.Close()
		return nil, err
	}
	go c.readReplies(br)
	return c, nil
}

// readGreeting reads the greeting line from br, which reads conn, giving up
// when ctx ends.
func readGreeting(ctx context.Context, conn net.Conn, br *bufio.Reader) (string, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetReadDeadline(aLongTimeAgo)
		close(fired)
	})
	line, err := codec.ReadLine(br, DefaultMaxReplyBytes)
	if !stop() {
		<-fired
		conn.SetReadDeadline(time.Time{})
		if err != nil {
			return "", errors.Wrapf(context.Cause(ctx), "endpoint: greeting from %s", conn.RemoteAddr())
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: read greeting from %s: %v", ErrConnBroken, conn.RemoteAddr(), err)
	}
	if msg, ok := bytes.CutPrefix(line, []byte("ERR ")); ok {
		return "", &RemoteError{Command: "greeting", Message: string(msg)}
	}
	return string(line), nil
}

// Greeting returns the server's greeting line, read by Dial when the Dialer
// had Greeting set; otherwise "".
func (c *Client) Greeting() string { return c.greeting }

// DialConn connects as Dial does and returns the connection itself, for
// programs that speak the wire directly (a chat member, say).
func (d *Dialer) DialConn(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	nd := net.Dialer{KeepAlive: d.KeepAlive}
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, errors.Wrap(err, "endpoint")
	}
	if d.TLSConfig == nil {
		return conn, nil
	}
	cfg := d.TLSConfig
	if cfg.ServerName == "" && network != "unix" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, errors.Wrap(err, "endpoint: TLS handshake")
	}
	return tc, nil
}

// NewClient returns a Client that speaks over conn, which it then owns.
func NewClient(conn net.Conn) *Client {
	c, br := newClient(conn)
	go c.readReplies(br)
	return c
}

// newClient returns a Client over conn and the reader of its replies, which
// the caller hands to readReplies once it has read what comes before them.
func newClient(conn net.Conn) (*Client, *bufio.Reader) {
	c := &Client{
		conn:       conn,
		wbuf:       make([]byte, 0, bufSize),
		readerDone: make(chan struct{}),
	}
	return c, bufio.NewReaderSize(replyReader{c}, bufSize)
}

// A call is one request waiting for its reply.
type call struct {
	command string
	reply   string
	err     error
	decode  func(*gob.Decoder, *codec.GobChecker) (any, error) // for typed calls: reads the reply value
	value   any                                                // the typed reply value
	state   atomic.Int32                                       // callWaiting, then callAnswered or callAbandoned
	done    chan struct{}
}

const (
	callWaiting int32 = iota
	callAnswered
	callAbandoned
)

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// Call sends the command with the given payload lines, one line each, and
// returns the reply line. An "ERR" reply is returned as a *RemoteError.
func (c *Client) Call(ctx context.Context, command string, lines ...string) (string, error) {
	for _, l := range lines {
		if strings.IndexByte(l, '\n') >= 0 {
			return "", errors.Wrapf(codec.ErrNewline, "endpoint: payload of %s", command)
		}
	}
	reply, _, err := c.do(ctx, command, lines, nil, nil)
	return reply, err
}

// CallGob sends the command with v as its payload, written as one
// self-describing gob value (type definition included, as the GOB command
// expects), and returns the reply line.
func (c *Client) CallGob(ctx context.Context, command string, v any) (string, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := codec.EncodeGob(buf, v); err != nil {
		return "", err
	}
	reply, _, err := c.do(ctx, command, nil, buf.Bytes(), nil)
	return reply, err
}

// CallTyped calls a typed command (see Typed): args is sent, and the reply
// decoded, with the connection's gob session codec, which sends each type's
// definition once per connection. An "ERR" reply is returned as a
// *RemoteError. A value that gob cannot encode breaks the session stream, so
// it fails the connection.
func CallTyped[Resp any](ctx context.Context, c *Client, command string, args any) (*Resp, error) {
	_, v, err := c.do(ctx, command, nil, nil, &typedCall{args: args, decode: decodeNew[Resp]})
	if err != nil {
		return nil, err
	}
	return v.(*Resp), nil
}

// typedCall is what a typed call adds to a request.
type typedCall struct {
	args   any
	decode func(*gob.Decoder, *codec.GobChecker) (any, error)
}

// decodeNew reads a reply value into a new T: a fresh value, so that a caller
// that has given up never sees it written.
func decodeNew[T any](dec *gob.Decoder, check *codec.GobChecker) (any, error) {
	v := new(T)
	check.Into = reflect.TypeOf(v) // the checker follows the reading gob takes into v
	return v, dec.Decode(v)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do writes one request and waits for its reply: a line, or for a typed call
// the reply value.
func (c *Client) do(ctx context.Context, command string, lines []string, body []byte, typed *typedCall) (string, any, error) {
	if !validCommand(command) {
		return "", nil, errors.Errorf("endpoint: invalid command name %q", command)
	}
	cl := callPool.Get().(*call)
	cl.command = command
	if typed != nil {
		cl.decode = typed.decode
	}
	cl.state.Store(callWaiting)
	if err := c.send(ctx, cl, lines, body, typed); err != nil {
		cl.recycle()
		return "", nil, err
	}
	if done := ctx.Done(); done == nil {
		<-cl.done // a context that never ends: no select needed
	} else {
		select {
		case <-cl.done:
		case <-done:
			if cl.state.CompareAndSwap(callWaiting, callAbandoned) {
				return "", nil, ctx.Err() // the reader recycles the call
			}
			<-cl.done // answered meanwhile
		}
	}
	reply, value, err := cl.reply, cl.value, cl.err
	cl.recycle()
	return reply, value, err
}

// validCommand reports whether command can be sent as a command line: not
// empty, and no space, tab, CR or LF in it. (A loop: command names are short,
// and strings.ContainsAny costs more than the name on every call.)
func validCommand(command string) bool {
	for i := 0; i < len(command); i++ {
		switch command[i] {
		case ' ', '\t', '\r', '\n':
			return false
		}
	}
	return command != ""
}

// recycle clears cl and returns it to the pool.
func (cl *call) recycle() {
	cl.reply, cl.value, cl.err, cl.decode = "", nil, nil, nil
	callPool.Put(cl)
}

// send queues cl and its request, and writes the request unless a call is
// writing already, which then writes it. Requests go out in the order calls
// are queued, which is the order replies come back in.
func (c *Client) send(ctx context.Context, cl *call, lines []string, body []byte, typed *typedCall) error {
	if err := ctx.Err(); err != nil {
		return err // the call is over already: not a byte is written
	}
	c.wmu.Lock()
	if typed != nil {
		if err := c.encodeTyped(typed.args); err != nil {
			c.wmu.Unlock()
			return err
		}
	}
	// Queued before a byte is written: the reply may come as soon as it is.
	c.mu.Lock()
	if err := c.err; err != nil {
		c.mu.Unlock()
		c.wmu.Unlock()
		return &notSentError{err}
	}
	c.pending.push(cl)
	others := c.pending.len() > 1
	c.mu.Unlock()
	c.wbuf = append(c.wbuf, cl.command...)
	c.wbuf = append(c.wbuf, '\n')
	for _, l := range lines {
		c.wbuf = append(c.wbuf, l...)
		c.wbuf = append(c.wbuf, '\n')
	}
	c.wbuf = append(c.wbuf, body...)
	if typed != nil {
		c.wbuf = append(c.wbuf, c.encBuf.Bytes()...)
	}
	c.queued++
	if c.writing {
		c.wmu.Unlock()
		return nil // the writer writes it
	}
	c.writing = true
	if others {
		// Other calls are in flight: their callers, woken by their
		// replies, are likely about to call again. Let them run first,
		// and again while they keep adding requests (maxYields times
		// at most), so that their requests go out in this write rather
		// than one write each. A lone caller writes at once.
		for range maxYields {
			n := c.queued
			c.wmu.Unlock()
			runtime.Gosched()
			c.wmu.Lock()
			if c.queued == n {
				break
			}
		}
	}
	c.writeQueued(ctx)
	return nil // cl is answered by fail, or by its reply
}

// maxYields bounds how many times a writer yields, while other calls keep
// adding requests, before it writes.
const maxYields = 4

// maxKeptBuf is the largest write buffer a Client keeps for reuse.
const maxKeptBuf = 64 << 10

// writeQueued writes wbuf out until it is empty, then gives up the writer's
// role. The caller holds wmu and is the writer; writeQueued releases wmu. A
// write that fails, or that ctx cuts short, fails the client: the stream may
// hold half a request.
func (c *Client) writeQueued(ctx context.Context) {
	for len(c.wbuf) > 0 {
		buf := c.wbuf
		c.wbuf = c.spare[:0]
		c.mu.Lock()
		c.sent += c.queued
		c.mu.Unlock()
		c.queued = 0
		c.wmu.Unlock()

		finish := c.watchWrite(ctx)
		_, err := c.conn.Write(buf)
		if cut := finish(); err == nil && cut {
			// ctx ended only after the requests were written whole:
			// the stream is intact, so lift the past deadline
			// instead of failing every call on the connection.
			c.conn.SetWriteDeadline(time.Time{})
		}
		if err != nil {
			c.fail(c.broken("write to", err))
		}

		c.wmu.Lock()
		if cap(buf) <= maxKeptBuf {
			c.spare = buf
		} else {
			c.spare = nil
		}
		if err != nil {
			c.wbuf, c.queued = c.wbuf[:0], 0 // their calls have failed
		}
	}
	c.writing = false
	c.wmu.Unlock()
}

// encodeTyped encodes args with the session encoder into encBuf. Once gob
// has failed part-way, the session stream cannot be trusted: the client fails.
func (c *Client) encodeTyped(args any) error {
	if c.enc == nil {
		c.enc = gob.NewEncoder(&c.encBuf)
	}
	c.encBuf.Reset()
	if err := c.enc.Encode(args); err != nil {
		err = fmt.Errorf("%w: encode %T: %v", ErrConnBroken, args, err)
		c.fail(err)
		return err
	}
	return nil
}

// broken is the error that pending calls get when the connection fails.
func (c *Client) broken(op string, err error) error {
	return fmt.Errorf("%w: %s %s: %v", ErrConnBroken, op, c.conn.RemoteAddr(), err)
}

// watchWrite makes the write about to start fail if ctx ends during it, by
// setting a past write deadline. The returned func ends the watch and reports
// whether it cut the write; the connection is then unusable for writing.
func (c *Client) watchWrite(ctx context.Context) (finish func() bool) {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	c.cutMu.Lock()
	c.cutGen++
	gen := c.cutGen
	c.cutMu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.cutMu.Lock()
		defer c.cutMu.Unlock()
		if c.cutGen == gen {
			c.cut = true
			c.conn.SetWriteDeadline(aLongTimeAgo)
		}
	})
	return func() bool {
		stop()
		c.cutMu.Lock()
		defer c.cutMu.Unlock()
		c.cutGen++ // a late cut no longer applies
		cut := c.cut
		c.cut = false
		return cut
	}
}

// replyReader is what the Client's reply reader reads from: the connection,
// noting after each read how many requests had been sent by then.
type replyReader struct{ c *Client }

func (r replyReader) Read(p []byte) (int, error) {
	n, err := r.c.conn.Read(p)
	r.c.mu.Lock()
	r.c.answerable = r.c.sent
	r.c.mu.Unlock()
	return n, err
}

// readReplies reads reply lines and hands each to the oldest pending call,
// until the connection fails. A line that no call can have asked for (one
// read before its request was sent, such as a greeting the Client was not
// told of) breaks the connection rather than answer the wrong call.
func (c *Client) readReplies(br *bufio.Reader) {
	defer close(c.readerDone)
	for {
		line, err := codec.ReadLine(br, DefaultMaxReplyBytes)
		if err != nil {
			c.fail(c.broken("read from", err))
			return
		}
		c.mu.Lock()
		var cl *call
		if c.answered < c.answerable {
			cl = c.pending.pop()
		}
		if cl == nil {
			c.mu.Unlock()
			c.fail(c.broken("unexpected line from", fmt.Errorf("%.80q", line)))
			return
		}
		c.answered++
		c.mu.Unlock()
		if msg, ok := bytes.CutPrefix(line, []byte("ERR ")); ok {
			cl.err = &RemoteError{Command: cl.command, Message: string(msg)}
		} else if cl.decode == nil {
			cl.reply = string(line)
		} else if err := c.readValue(br, cl, line); err != nil {
			cl.err = err
			c.answer(cl)
			c.fail(err)
			return
		}
		c.answer(cl)
	}
}

// readValue reads a typed call's reply value, after its "OK" line.
func (c *Client) readValue(br *bufio.Reader, cl *call, line []byte) error {
	if string(line) != "OK" {
		return c.broken("unexpected reply from", fmt.Errorf("%.80q", line))
	}
	if c.dec == nil {
		// The server's replies pass the gob firewall too: a hostile or
		// broken server must not make the Client allocate without bound.
		c.decGR.Check = &codec.GobChecker{MaxTypeBytes: DefaultMaxReplyBytes}
		c.dec = gob.NewDecoder(&c.decGR)
	}
	c.decGR.R, c.decGR.N = br, DefaultMaxReplyBytes
	v, err := cl.decode(c.dec, c.decGR.Check)
	if err != nil {
		return c.broken("decode reply from", err)
	}
	cl.value = v
	return nil
}

// answer wakes cl's caller, or recycles cl if its caller has gone.
func (c *Client) answer(cl *call) {
	if cl.state.CompareAndSwap(callWaiting, callAnswered) {
		cl.done <- struct{}{}
		return
	}
	cl.recycle()
}

// fail stops the client with err: the connection is closed and every pending
// call gets err. Only the first failure counts.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	var pending []*call
	for cl := c.pending.pop(); cl != nil; cl = c.pending.pop() {
		pending = append(pending, cl)
	}
	c.mu.Unlock()
	c.conn.Close()
	for _, cl := range pending {
		cl.err = err
		c.answer(cl)
	}
}

// A notSentError is the error of a call refused before any byte of its
// request was queued, because the Client had already failed: a Pool may retry
// such a call on another connection.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// idle reports whether no call is waiting for its reply.
func (c *Client) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.len() == 0
}

// failed returns why the Client stopped, or nil while it works.
func (c *Client) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection. Pending calls fail with ErrClientClosed, as do
// later ones. Close may be called more than once.
func (c *Client) Close() error {
	c.fail(ErrClientClosed)
	<-c.readerDone
	return nil
}

// callQueue is a FIFO of calls that reuses its backing array, so that a
// steady stream of calls does not allocate.
type callQueue struct {
	calls []*call
	head  int // calls[head:] are queued
}

func (q *callQueue) push(cl *call) {
	if q.head > 0 && len(q.calls) == cap(q.calls) {
		// Full at the back but free at the front: slide down.
		n := copy(q.calls, q.calls[q.head:])
		clear(q.calls[n:])
		q.calls, q.head = q.calls[:n], 0
	}
	q.calls = append(q.calls, cl)
}

// len returns the number of calls queued.
func (q *callQueue) len() int { return len(q.calls) - q.head }

// pop returns the oldest call, or nil.
func (q *callQueue) pop() *call {
	if q.head == len(q.calls) {
		return nil
	}
	cl := q.calls[q.head]
	q.calls[q.head] = nil
	q.head++
	if q.head == len(q.calls) {
		q.calls, q.head = q.calls[:0], 0
	}
	return cl
}
