package endpoint

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/pkg/errors"
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
	last       *route   // the route of the connection's latest request
	linger     bool     // an ERR line is the last word: see lingerClose
	idle       time.Duration
	// raw is the socket, for reading without a buffer or without waiting
	// (see idle_unix.go); nil where the connection is not a socket.
	raw     syscall.RawConn
	ready   func(fd uintptr) bool // c.peekReady, made once
	now     nowRead
	peeks   int
	peekBuf [1]byte
	// readingCommand is set while serveOne reads a command line.
	readingCommand bool

	// Deadlines (see deadline.go); only the connection's goroutine uses them.
	deadline time.Time // the one set on the socket; zero: none set
	reqStart time.Time // when the request being served began; zero: not yet known

	// state is where the connection is in its life (see state.go). mu is
	// held by Shutdown while it wakes the connection, and guards stream's
	// being set, against Shutdown.
	state atomic.Int32
	mu    sync.Mutex

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
	if c.raw = socketOf(rwc); c.raw != nil {
		c.ready = c.peekReady
		c.now.read = c.now.readFd
	}
	c.takeBuffers()
	return c
}

// serve runs the connection until it closes: each turn of the loop is one
// request's whole life, from reading its command line to flushing its reply.
func (c *conn) serve() {
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
	c.armIdle(time.Now())
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
// Replies are written out only when the connection would otherwise wait for
// input: in waitIdle before waiting for the next request, and in
// connReader.Read before a read that must wait. A pipelined batch is answered
// with one write, and a reply is never held back while the server waits.
func (c *conn) serveOne() error {
	// Read the command line, skipping blank lines.
	var name []byte
	for len(name) == 0 {
		c.reqStart = time.Time{}
		if c.br.Buffered() == 0 {
			c.setIdle()
			if err := c.waitIdle(); err != nil {
				return err
			}
		}
		c.readingCommand = true // a read now means waiting for a command
		line, err := codec.ReadLine(c.br, c.e.maxLine())
		c.readingCommand = false
		if err != nil {
			if errors.Is(err, codec.ErrLineTooLong) {
				c.replyErr(errors.Wrapf(err, "command line over %d bytes", c.e.maxLine()))
				c.linger = true
			}
			return err
		}
		name = codec.TrimCommand(line)
	}
	c.setActive()

	// Dispatch. Routes are never removed or replaced, so the connection's
	// last one stays good, and a run of one command skips the table.
	r := c.last
	if r == nil || string(name) != r.name {
		if r = c.e.lookup(name); r == nil {
			r = c.e.lookup(asciiUpper(name))
		}
		if r == nil {
			return c.replyErr(fmt.Errorf("%w %q", ErrUnknownCommand, name))
		}
		c.last = r
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
		c.linger = true
		return err
	case isProtocolError(err):
		c.replyErr(err)
		c.linger = true
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

// call calls h, turning a panic into an "ERR" reply and errPanicked.
func (c *conn) call(h Handler) (err error) {
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

// close flushes what is buffered, closes the socket, forgets the connection
// and logs why it closed.
func (c *conn) close(why error) {
	c.rwc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	c.bw.Flush()
	if c.linger {
		c.lingerClose()
	}
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
