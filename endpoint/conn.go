package endpoint

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// A conn is the server side of one connection.
type conn struct {
	e          *Endpoint
	rwc        net.Conn // what the connection speaks through: the accepted conn, or a TLS session over it
	raw        net.Conn // the accepted conn, for closing at once
	remoteAddr string
	ctx        context.Context
	cancel     context.CancelFunc
	br         *bufio.Reader // nil while the connection waits holding no buffers
	bw         *bufio.Writer
	req        Request  // reused for every request on the connection
	sess       *session // made by the first typed command
	last       *route   // the route of the connection's latest request
	holdsSlot  bool     // the running handler holds a MaxHandlers slot
	pipelined  uint     // requests that started already buffered, for sampled()
	linger     bool     // an ERR line is the last word: see lingerClose

	// sock is the socket under an exact *net.TCPConn or *net.UnixConn, for
	// waiting without buffers (see wait_unix.go); nil for any other conn,
	// which is only ever used through net.Conn.
	sock    syscall.RawConn
	ready   func(fd uintptr) bool // c.peekReady, made once so that passing it allocates nothing
	peeks   int
	peekBuf [1]byte

	// The deadlines set on rwc, in Unix nanoseconds (0: none); only the
	// connection's goroutine uses them.
	idle     time.Duration // the endpoint's IdleTimeout; zero: none
	rdl, wdl int64

	mu     sync.Mutex // protects the following, which Shutdown reads
	state  ConnState
	woken  bool    // Shutdown has set a past read deadline to wake the idle connection
	stream *Stream // set once a handler hijacks the connection
	member bool    // counted against MaxMembers rather than MaxConns; guarded by e.mu
}

const bufSize = 4096

func newConn(e *Endpoint, rwc net.Conn, cfg *tls.Config) *conn {
	c := &conn{e: e, rwc: rwc, raw: rwc, remoteAddr: e.remoteID(rwc), idle: e.idleTimeout()}
	c.ctx, c.cancel = context.WithCancel(e.ctx)
	c.req = Request{RemoteAddr: c.remoteAddr, RW: new(bufio.ReadWriter), c: c, Cred: peerCred(rwc)}
	if cfg != nil {
		c.rwc = tls.Server(rwc, cfg)
	} else if c.sock = socketOf(rwc); c.sock != nil {
		c.ready = c.peekReady
	}
	c.takeBuffers()
	return c
}

// serve runs the connection until it closes. Each turn of the loop is one
// request's whole life: wait for input, read the command line, dispatch, let
// the handler read its payload and buffer its reply, and flush once nothing
// more is buffered, so that a pipelined batch is answered with one write.
func (c *conn) serve() {
	c.setState(StateActive)
	err := c.admit() // the TLS handshake and the Admit hook
	if err == nil {
		c.startRequest()
		if c.e.Greeting != "" {
			err = codec.WriteLine(c.bw, c.e.Greeting)
		}
		if err == nil && c.e.FirstCommand != "" {
			var done bool
			if done, err = c.dispatch([]byte(c.e.FirstCommand), true); done {
				c.close(err)
				return
			}
		}
	}
	for err == nil {
		waited := false
		if c.br.Buffered() == 0 {
			waited = true
			c.startIdle()
			if err = c.bw.Flush(); err != nil {
				break
			}
			if err = c.waitForInput(); err != nil {
				err = c.failRead(err)
				break
			}
		}
		c.startRequest()

		line, rerr := codec.ReadLine(c.br, c.e.maxLine())
		if rerr != nil {
			err = c.failRead(rerr)
			break
		}
		name := codec.TrimCommand(line)
		if len(name) == 0 {
			continue // blank lines between requests are ignored
		}
		var done bool
		if done, err = c.dispatch(name, waited); done {
			break
		}
	}
	c.close(err)
}

// dispatch serves one request of the command name, whose line has been read,
// and reports whether the connection is done with request/reply: its handler
// hijacked it. waited says whether the request came after a wait for input,
// for the latency sampling. An error ends the connection.
func (c *conn) dispatch(name []byte, waited bool) (done bool, err error) {
	r := c.route(name)
	if r == nil {
		c.count(&c.e.counters.unknown, true)
		return false, c.replyErr(fmt.Errorf("%w %.80q", ErrUnknownCommand, name))
	}
	c.req.Command = r.name
	var start time.Time
	if timed := !c.e.NoStats && (waited || c.sampled()); timed {
		start = time.Now()
	}
	herr := c.run(r.serve)
	if !start.IsZero() {
		r.stats.observe(time.Since(start))
	}
	if c.stream != nil {
		return true, c.endStream(herr)
	}
	c.count(&r.stats, herr != nil)
	if herr != nil {
		return false, c.replyErr(herr)
	}
	return false, nil
}

// count counts a request answered, and whether with an error, for its
// command and the endpoint.
func (c *conn) count(cc *commandCounters, failed bool) {
	if c.e.NoStats {
		return
	}
	cc.requests.Add(1)
	c.e.counters.requests.Add(1)
	if failed {
		cc.errors.Add(1)
	}
}

// sampled reports whether the latency of a request that was already
// buffered is measured: one in sampleEvery.
func (c *conn) sampled() bool {
	c.pipelined++
	return c.pipelined%sampleEvery == 0
}

// route finds the command's route. Routes are never removed or replaced, so
// the connection's last one stays good, and a run of one command skips the
// table.
func (c *conn) route(name []byte) *route {
	if r := c.last; r != nil && string(name) == r.name {
		return r
	}
	r := c.e.lookup(name)
	if r == nil {
		r = c.e.lookup(asciiUpper(name))
	}
	if r != nil {
		c.last = r
	}
	return r
}

// Deadlines are set at two points of a connection's life, as net/http's
// conn.serve sets them: when a request starts (read and write: IdleTimeout
// for the request's payload to arrive and for its reply to be written, also
// when a large reply is written out while the handler runs), and when the
// connection goes idle (read: IdleTimeout to wait for the next request;
// write: IdleTimeout to write out the replies buffered so far, which a slow
// handler may have taken long to make). A deadline within 1/64 of the one
// wanted is left as it is, since setting one costs more than serving a small
// request, and whether it is within is judged by the coarse clock (see
// clock.go): a request gets at least 61/64 of IdleTimeout.

// startIdle sets the deadlines for writing out the replies and waiting for
// the next request.
func (c *conn) startIdle() { c.renewDeadlines() }

// startRequest sets the read and write deadlines of the request that starts.
func (c *conn) startRequest() { c.renewDeadlines() }

// renewDeadlines sets the read and write deadlines to IdleTimeout from now,
// unless both are near that already.
func (c *conn) renewDeadlines() {
	if c.idle <= 0 {
		if c.rdl != 0 || c.wdl != 0 { // Shutdown's wake, or a drain, set one
			c.rwc.SetDeadline(time.Time{})
			c.rdl, c.wdl = 0, 0
		}
		return
	}
	want := c.e.coarse.Load() + int64(c.idle)
	if c.near(c.rdl, want) && c.near(c.wdl, want) {
		return
	}
	t := time.Now().Add(c.idle)
	c.rwc.SetDeadline(t)
	c.rdl, c.wdl = t.UnixNano(), t.UnixNano()
}

func (c *conn) near(set, want int64) bool {
	d, slack := want-set, int64(c.idle/64)
	return -slack <= d && d <= slack
}

// waitForInput waits, holding no buffers where it can, for the first byte of
// the next request, within the idle timeout. Once the endpoint shuts down it
// waits no more: the connection serves what has already arrived, then closes.
func (c *conn) waitForInput() error {
	if !c.goIdle() {
		return c.drain()
	}
	err := c.wait()
	if c.goActive() || err != nil && c.e.shuttingDown() {
		return c.drain()
	}
	return err
}

// goIdle marks the connection as waiting for a request, unless the endpoint
// is shutting down: then it reports false.
func (c *conn) goIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.e.shuttingDown() {
		return false
	}
	c.setStateLocked(StateIdle)
	return true
}

// goActive marks the connection as serving, and reports whether Shutdown woke
// it meanwhile, leaving a past read deadline on the socket.
func (c *conn) goActive() (woken bool) {
	c.mu.Lock()
	woken, c.woken = c.woken, false
	c.setStateLocked(StateActive)
	c.mu.Unlock()
	if woken {
		c.rdl = aLongTimeAgo.UnixNano()
	}
	return woken
}

// drain decides whether a connection of an endpoint that shuts down has more
// to serve: a request that has already arrived is served (a request whose
// command line reached the server before Shutdown is answered), and when
// none has, the connection closes.
func (c *conn) drain() error {
	if c.inputReady() {
		return nil
	}
	return errDrained
}

// drainWait bounds how long a conn that is not a plain socket (a TLS session,
// a wrapping conn) is given to hand over input that has already arrived.
const drainWait = 100 * time.Millisecond

// inputReady reports, without waiting, whether input has arrived. A conn that
// is not a socket is given drainWait to say.
func (c *conn) inputReady() bool {
	if c.sock != nil {
		return c.peekNow()
	}
	t := time.Now().Add(drainWait)
	c.rwc.SetReadDeadline(t)
	c.rdl = t.UnixNano()
	_, err := c.br.Peek(1)
	return err == nil
}

// wait blocks until input arrives, within the read deadline. A socket waits
// with its buffers given back (see wait_unix.go); any other conn waits in a
// read.
func (c *conn) wait() error {
	if c.sock == nil {
		_, err := c.br.Peek(1)
		return err
	}
	c.dropBuffers()
	err := c.waitReadable()
	c.takeBuffers()
	return err
}

// errDrained ends a connection that has served all it had when the endpoint
// shut down.
var errDrained = errors.New("endpoint: shut down")

// failRead decides how a connection whose read failed ends: with no word to
// a peer that hung up or to one drained by Shutdown, and with an "ERR" line
// (an idle timeout, a line too long) to one that is still there.
func (c *conn) failRead(err error) error {
	if errors.Is(err, errDrained) || hungUp(err) {
		return err
	}
	return c.replyErr(&ProtocolError{Err: err})
}

// hungUp reports whether err says the peer has gone.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// replyErr buffers the one-line "ERR" reply for a request that failed with
// err, or queues it on the connection's Stream once it has been hijacked. It
// returns err when the connection must close after it: after a protocol
// error, for the stream is out of step, and after a panic.
func (c *conn) replyErr(err error) error {
	panicked := errors.Is(err, errPanicked)
	line := "ERR " + errText(err, c.e.limitOf)
	if panicked {
		line = "ERR " + ErrInternal.Error()
	}
	if c.stream != nil {
		c.stream.Send(line)
	} else {
		codec.WriteLine(c.bw, line)
	}
	if !c.e.NoStats {
		c.e.counters.errors.Add(1)
	}
	if panicked || isProtocolError(err) {
		if !panicked && !c.e.NoStats {
			c.e.counters.protocol[protocolKind(err)].Add(1)
		}
		c.linger = true
		return err
	}
	if line == "ERR "+ErrInternal.Error() {
		c.e.logger().Warn("request failed", "command", c.req.Command, "remote", c.remoteAddr, "err", err)
	}
	return nil
}

// endStream ends a hijacked connection once its handler has returned: the
// handler's error, if any, is sent as the last line.
func (c *conn) endStream(err error) error {
	if err != nil {
		c.replyErr(err)
	}
	c.stream.Close()
	<-c.stream.written
	c.stream.stopGiveUp()
	if err != nil {
		return err
	}
	return errHijackEnded
}

// errHijackEnded ends a connection whose hijacking handler returned.
var errHijackEnded = errors.New("endpoint: hijacked connection ended")

// errPanicked ends a connection whose handler panicked.
var errPanicked = errors.New("endpoint: handler panicked")

// run runs h for the request, first waiting for a slot when MaxHandlers is
// set.
func (c *conn) run(h Handler) error {
	if c.e.slots == nil {
		return c.call(h)
	}
	select {
	case c.e.slots <- struct{}{}:
		c.holdsSlot = true
	case <-c.ctx.Done():
		return &ProtocolError{Err: c.ctx.Err()}
	}
	defer c.releaseSlot()
	return c.call(h)
}

// call calls h, turning a panic into errPanicked.
func (c *conn) call(h Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.e.counters.panics.Add(1)
			c.e.logger().Error("handler panicked", "command", c.req.Command,
				"remote", c.remoteAddr, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = errPanicked
		}
	}()
	return h.ServeCommand(c.ctx, &c.req)
}

func (c *conn) releaseSlot() {
	if c.holdsSlot {
		c.holdsSlot = false
		<-c.e.slots
	}
}

// closeFlushTimeout bounds writing out the last lines of a closing
// connection: its replies, its "ERR" line, a Stream's queue.
const closeFlushTimeout = time.Second

// close writes out what is buffered, closes the socket (lingering after an
// ERR line), forgets the connection and logs why it closed.
func (c *conn) close(why error) {
	if c.stream == nil {
		c.rwc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		c.bw.Flush()
		if c.linger {
			lingerClose(c.rwc)
		}
	}
	c.rwc.Close()
	c.dropBuffers()
	c.cancel()
	c.setState(StateClosed)
	c.e.forget(c, func() {
		// Logged before Shutdown can see the connection gone, so that a
		// program exiting after Shutdown never loses the line.
		switch {
		case why == nil, errors.Is(why, errDrained), errors.Is(why, errHijackEnded), hungUp(why):
			c.e.logger().Info("connection closed", "remote", c.remoteAddr)
		default:
			c.e.logger().Info("connection closed", "remote", c.remoteAddr, "reason", why)
		}
	})
}

// wakeForShutdown makes an idle connection's wait return, so that it notices
// the shutdown; a hijacked connection is closed outright. A connection that
// serves a request notices by itself when it next goes idle.
func (c *conn) wakeForShutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case StateIdle:
		c.woken = true
		c.rwc.SetReadDeadline(aLongTimeAgo)
	case StateHijacked:
		c.cancel()
		c.stream.close(false)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// Idle connections hold no buffers: while a socket waits for its next command
// with nothing buffered, its reader and writer go back to these pools. With
// many idle connections that is most of their memory.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

// takeBuffers gives the connection a reader and a writer.
func (c *conn) takeBuffers() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.rwc)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.rwc)
	if c.stream == nil {
		c.req.RW.Reader, c.req.RW.Writer = c.br, c.bw
	}
}

// dropBuffers returns the connection's reader and writer, which must be empty.
func (c *conn) dropBuffers() {
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.br, c.bw = nil, nil
	if c.stream == nil {
		c.req.RW.Reader, c.req.RW.Writer = nil, nil
	}
}
