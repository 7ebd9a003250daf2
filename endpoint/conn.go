package endpoint

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
)

// connState is where a connection is in its life; Shutdown reads it to decide
// whether the connection may be woken (idle) or must be waited for (active).
type connState int

const (
	stateIdle     connState = iota // waiting for a command line, nothing buffered
	stateActive                    // reading, serving or replying to a request
	stateHijacked                  // taken over by a handler for its whole life
)

// A conn is the server side of one connection.
type conn struct {
	e          *Endpoint
	rwc        net.Conn
	remoteAddr string
	ctx        context.Context
	cancel     context.CancelFunc
	br         *bufio.Reader
	bw         *bufio.Writer
	req        Request  // reused for every request on the connection
	stream     *Stream  // set once a handler hijacks the connection
	sess       *session // made by the first typed command
	holdsSlot  bool     // the running handler holds a MaxHandlers slot
	idle       time.Duration
	// waitReadable waits for input without a buffer (see waitIdle); nil
	// where the connection is not a socket.
	waitReadable func() error
	armedAt      time.Time // when the deadline was last set

	// mu protects the following against Shutdown; the connection's own
	// goroutine, the only writer, reads state without it.
	mu    sync.Mutex
	state connState
	woken bool // Shutdown set a past read deadline to wake an idle read

	// draining is set once the endpoint shuts down: the connection then
	// serves only requests that have already reached it. Only the
	// connection's own goroutine touches it.
	draining bool
}

const bufSize = 4096

func newConn(e *Endpoint, rwc net.Conn) *conn {
	c := &conn{e: e, rwc: rwc, remoteAddr: e.remoteID(rwc), idle: e.idleTimeout()}
	c.ctx, c.cancel = context.WithCancel(e.ctx)
	c.req = Request{RemoteAddr: c.remoteAddr, RW: new(bufio.ReadWriter), c: c}
	c.waitReadable = readinessWaiter(rwc)
	c.takeBuffers()
	return c
}

// serve runs the connection until it closes: each turn of the loop is one
// request's whole life, from reading its command line to flushing its reply.
func (c *conn) serve() {
	log := c.e.logger()
	log.Info("connection opened", "remote", c.remoteAddr)
	err := c.greet()
	for err == nil {
		err = c.serveOne()
	}
	c.close(err)
}

func (c *conn) greet() error {
	if c.e.Greeting == "" {
		return nil
	}
	c.arm(true)
	if err := codec.WriteLine(c.bw, c.e.Greeting); err != nil {
		return err
	}
	return c.bw.Flush()
}

// errDrained ends a connection that has served all it had when the endpoint
// shut down.
var errDrained = errors.New("endpoint: shut down")

// serveOne reads one request, dispatches it and replies. It returns an error
// when the connection must close.
//
// Replies are flushed by connReader.Read, just before the connection would
// wait for more input: a pipelined batch is answered with one write, and a
// reply is never held back while the server waits.
func (c *conn) serveOne() error {
	// Read the command line, skipping blank lines.
	var name []byte
	for len(name) == 0 {
		c.arm(false)
		if !c.lineBuffered() {
			c.setIdle()
			if c.br.Buffered() == 0 {
				if err := c.waitIdle(); err != nil {
					return err
				}
			}
		}
		line, err := codec.ReadLine(c.br, c.e.maxLine())
		if err != nil {
			if errors.Is(err, codec.ErrLineTooLong) {
				c.replyErr(errors.Wrapf(err, "command line over %d bytes", c.e.maxLine()))
			}
			return err
		}
		name = codec.TrimCommand(line)
	}
	c.setActive()
	c.arm(false)

	// Dispatch.
	r := c.e.lookup(name)
	if r == nil {
		r = c.e.lookup(asciiUpper(name))
	}
	if r == nil {
		return c.replyErr(fmt.Errorf("%w %q", ErrUnknownCommand, name))
	}
	c.req.Command = r.name
	err := c.run(r.handler)
	if c.stream != nil {
		return c.endStream(err)
	}

	// Reply: a handler's error becomes its one-line ERR reply; after a
	// protocol error or a panic the connection closes.
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errPanicked):
		return err
	case isProtocolError(err):
		c.replyErr(err)
		return err
	}
	return c.replyErr(err)
}

// isProtocolError reports whether err wraps a *ProtocolError. It is a
// function of its own so that the target of errors.As is allocated only on
// the error path.
func isProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// endStream ends a hijacked connection once its handler has returned: the
// handler's error, if any, is sent as the last line.
func (c *conn) endStream(err error) error {
	if err != nil && !errors.Is(err, errPanicked) {
		c.replyErr(err)
	}
	c.stream.Close()
	<-c.stream.written
	if err != nil {
		return err
	}
	return errHijackEnded
}

// errHijackEnded ends a connection whose hijacking handler returned.
var errHijackEnded = errors.New("endpoint: hijacked connection ended")

// errPanicked ends a connection whose handler panicked.
var errPanicked = errors.New("endpoint: handler panicked")

// run calls h, turning a panic into an "ERR" reply and errPanicked. With
// MaxHandlers set, it first waits for a slot.
func (c *conn) run(h Handler) (err error) {
	if c.e.slots != nil {
		select {
		case c.e.slots <- struct{}{}:
			c.holdsSlot = true
		case <-c.ctx.Done():
			return &ProtocolError{Err: c.ctx.Err()}
		}
	}
	defer c.releaseSlot()
	defer func() {
		if p := recover(); p != nil {
			c.e.logger().Error("handler panicked", "command", c.req.Command,
				"remote", c.remoteAddr, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.replyErr(ErrInternal)
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

// replyErr buffers the one-line "ERR" reply for err, or queues it on the
// connection's Stream once it has been hijacked.
func (c *conn) replyErr(err error) error {
	if c.stream != nil {
		c.stream.Send(errLine(err))
		return nil
	}
	return codec.WriteLine(c.bw, errLine(err))
}

// arm sets the connection's deadline IdleTimeout ahead. Setting a deadline
// costs more than a request, so a deadline set less than 1/64 of the timeout
// ago is kept unless force is set.
func (c *conn) arm(force bool) {
	if c.idle <= 0 {
		return
	}
	now := time.Now()
	if !force && now.Sub(c.armedAt) < c.idle/64 {
		return
	}
	c.armedAt = now
	c.rwc.SetDeadline(now.Add(c.idle))
}

// lineBuffered reports whether a whole line is already buffered, so that
// reading it cannot block.
func (c *conn) lineBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// setIdle marks the connection as waiting for a command line. If the endpoint
// is shutting down, the connection drains: it serves what has already arrived
// and then closes.
func (c *conn) setIdle() {
	c.mu.Lock()
	c.state = stateIdle
	if c.e.inShutdown.Load() {
		c.draining = true
	}
	c.mu.Unlock()
}

// setActive marks the connection as serving a request. If Shutdown woke it
// with a past deadline, the deadline is set afresh for the request.
func (c *conn) setActive() {
	c.mu.Lock()
	c.state = stateActive
	if c.woken {
		c.woken = false
		c.armedAt = time.Time{}
	}
	c.mu.Unlock()
}

// wakeForShutdown makes an idle connection's blocked read return, so that it
// notices the shutdown; a hijacked connection is closed outright.
func (c *conn) wakeForShutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateIdle:
		c.woken = true
		c.rwc.SetReadDeadline(aLongTimeAgo)
	case stateHijacked:
		c.cancel()
		c.stream.close(false)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// close flushes what is buffered, closes the socket, forgets the connection
// and logs why it closed.
func (c *conn) close(why error) {
	c.bw.Flush()
	c.rwc.Close()
	c.dropBuffers()
	c.cancel()
	c.e.forget(c, func() {
		// Logged before Shutdown can see the connection gone, so that a
		// program exiting after Shutdown never loses the line.
		switch {
		case errors.Is(why, io.EOF), errors.Is(why, net.ErrClosed), errors.Is(why, errDrained), errors.Is(why, errHijackEnded):
			c.e.logger().Info("connection closed", "remote", c.remoteAddr)
		default:
			c.e.logger().Info("connection closed", "remote", c.remoteAddr, "reason", why)
		}
	})
}

// connReader is what the connection's bufio.Reader reads from. Once the
// connection drains, a read for a command line does not block: it returns what
// has already arrived, or errDrained, so that requests already sent are served
// and then the connection closes. A payload read still blocks, within the
// deadline, since its command line has arrived and must be answered.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	// bufio calls Read only when it has no input left to give: write out the
	// replies buffered so far before waiting for more.
	if c.stream == nil && c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			return 0, err
		}
	}
	if c.draining && c.state == stateIdle {
		return r.readNow(p)
	}
	n, err := c.rwc.Read(p)
	if err != nil && c.state == stateIdle && c.e.inShutdown.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		// Woken by Shutdown: take what has arrived, without blocking.
		c.draining = true
		return r.readNow(p)
	}
	return n, err
}

// readNow reads what has already arrived, without blocking.
func (r connReader) readNow(p []byte) (int, error) {
	sc, ok := r.c.rwc.(syscall.Conn)
	if !ok {
		return 0, errDrained
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, errDrained
	}
	var n int
	var rerr error
	if err := raw.Control(func(fd uintptr) { n, rerr = syscall.Read(int(fd), p) }); err != nil {
		return 0, errDrained
	}
	if rerr != nil || n <= 0 {
		return 0, errDrained
	}
	return n, nil
}
