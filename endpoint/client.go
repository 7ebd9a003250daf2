package endpoint

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// DefaultMaxReplyBytes bounds a reply line read by a Client.
const DefaultMaxReplyBytes = 1 << 20

// A Client calls commands on an endpoint over one connection. It is safe for
// many goroutines at once: their calls are pipelined, each written as soon as
// it is made, and replies are matched to calls in order. When the connection
// breaks, every pending call fails at once with an error wrapping ErrConnBroken.
//
// A Client expects one reply line per request (or a line and a gob value, for
// typed calls), so it is not for commands that take the connection over, such
// as CHAT, nor for servers that send a greeting.
type Client struct {
	conn net.Conn

	sem     chan struct{} // held while writing; a channel so waiting honours ctx
	bw      *bufio.Writer
	writers atomic.Int32 // calls writing or waiting to; the last one out flushes

	// cutMu protects the following: which write a context may cut short.
	cutMu  sync.Mutex
	cutGen uint64
	cut    bool

	mu      sync.Mutex // protects the following
	pending []*call    // calls written and not yet answered, oldest first
	err     error      // why the client stopped; nil while it works

	readerDone chan struct{}
}

// Dial connects to the endpoint at addr on the named network ("tcp", "unix").
func Dial(ctx context.Context, network, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, errors.Wrap(err, "endpoint")
	}
	return NewClient(conn), nil
}

// NewClient returns a Client that speaks over conn, which it then owns.
func NewClient(conn net.Conn) *Client {
	c := &Client{
		conn:       conn,
		sem:        make(chan struct{}, 1),
		bw:         bufio.NewWriterSize(conn, bufSize),
		readerDone: make(chan struct{}),
	}
	go c.readReplies(bufio.NewReaderSize(conn, bufSize))
	return c
}

// A call is one request waiting for its reply.
type call struct {
	command string
	reply   string
	err     error
	state   atomic.Int32 // callWaiting, then callAnswered or callAbandoned
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
	return c.do(ctx, command, lines, nil)
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
	return c.do(ctx, command, nil, buf.Bytes())
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do writes one request and waits for its reply.
func (c *Client) do(ctx context.Context, command string, lines []string, body []byte) (string, error) {
	if strings.ContainsAny(command, " \t\r\n") || command == "" {
		return "", errors.Errorf("endpoint: invalid command name %q", command)
	}
	cl := callPool.Get().(*call)
	cl.command = command
	cl.state.Store(callWaiting)
	if err := c.send(ctx, cl, lines, body); err != nil {
		callPool.Put(cl)
		return "", err
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		if cl.state.CompareAndSwap(callWaiting, callAbandoned) {
			return "", ctx.Err() // the reader recycles the call
		}
		<-cl.done // answered meanwhile
	}
	reply, err := cl.reply, cl.err
	cl.reply, cl.err = "", nil
	callPool.Put(cl)
	return reply, err
}

// send queues cl and writes its request. Requests go out in the order calls
// are queued, which is the order replies come back in.
func (c *Client) send(ctx context.Context, cl *call, lines []string, body []byte) error {
	c.writers.Add(1)
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		if c.writers.Add(-1) == 0 {
			// A writer before us left the flush to us: see that it happens.
			go c.flush()
		}
		return ctx.Err()
	}
	defer func() { <-c.sem }()

	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		c.writers.Add(-1)
		return err
	}
	// Queued before a byte is written: the reply may come as soon as it is.
	c.pending = append(c.pending, cl)
	c.mu.Unlock()

	finish := c.watchWrite(ctx)
	c.bw.WriteString(cl.command)
	c.bw.WriteByte('\n')
	for _, l := range lines {
		c.bw.WriteString(l)
		c.bw.WriteByte('\n')
	}
	c.bw.Write(body)
	var err error
	if c.writers.Add(-1) == 0 {
		err = c.bw.Flush()
	}
	if cut := finish(); err == nil && cut {
		err = ctx.Err()
	}
	if err != nil {
		// A request may be half written: the stream is lost.
		c.fail(c.broken("write to", err))
	}
	return nil // cl is answered by fail, or by its reply
}

// flush writes out what earlier calls left buffered.
func (c *Client) flush() {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	if c.writers.Load() == 0 && c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			c.fail(c.broken("write to", err))
		}
	}
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

// readReplies reads reply lines and hands each to the oldest pending call,
// until the connection fails.
func (c *Client) readReplies(br *bufio.Reader) {
	defer close(c.readerDone)
	for {
		line, err := codec.ReadLine(br, DefaultMaxReplyBytes)
		if err != nil {
			c.fail(c.broken("read from", err))
			return
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			c.fail(c.broken("unexpected line from", fmt.Errorf("%.80q", line)))
			return
		}
		cl := c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
		c.mu.Unlock()
		if msg, ok := bytes.CutPrefix(line, []byte("ERR ")); ok {
			cl.err = &RemoteError{Command: cl.command, Message: string(msg)}
		} else {
			cl.reply = string(line)
		}
		c.answer(cl)
	}
}

// answer wakes cl's caller, or recycles cl if its caller has gone.
func (c *Client) answer(cl *call) {
	if cl.state.CompareAndSwap(callWaiting, callAnswered) {
		cl.done <- struct{}{}
		return
	}
	cl.reply, cl.err = "", nil
	callPool.Put(cl)
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
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.conn.Close()
	for _, cl := range pending {
		cl.err = err
		c.answer(cl)
	}
}

// Close closes the connection. Pending calls fail with ErrClientClosed, as do
// later ones. Close may be called more than once.
func (c *Client) Close() error {
	c.fail(ErrClientClosed)
	<-c.readerDone
	return nil
}
