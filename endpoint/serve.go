package endpoint

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pkg/errors"
)

// Listen announces on the local network address, as net.Listen does. For the
// "unix" network it first removes a stale socket file at addr, one that no
// server answers on (left by a crashed run); a file that is not a socket, or a
// socket a live server answers on, is left alone and listening fails. The
// socket file is removed when the listener is closed.
func Listen(network, addr string) (net.Listener, error) {
	if network == "unix" {
		removeStaleSocket(addr)
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, errors.Wrapf(err, "endpoint: listen on %s %s", network, addr)
	}
	return l, nil
}

func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close() // a live server owns it
		return
	}
	os.Remove(path)
}

// ListenAndServe listens on the network address and serves connections on it
// until Shutdown or Close, when it returns ErrEndpointClosed.
func (e *Endpoint) ListenAndServe(network, addr string) error {
	if e.shuttingDown() {
		return ErrEndpointClosed
	}
	l, err := Listen(network, addr)
	if err != nil {
		return err
	}
	return e.Serve(l)
}

// Accept errors that are temporary (out of file descriptors, say) are retried
// after a pause that starts at acceptRetryMin and doubles up to acceptRetryMax.
// acceptSleep is a variable so that tests can watch the pauses.
var (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
	acceptSleep    = func(ctx context.Context, d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
)

// Serve accepts connections on l and serves each on its own goroutine, until
// Shutdown or Close, when it returns ErrEndpointClosed. Serve closes l when it
// returns. It may be called for several listeners at once.
func (e *Endpoint) Serve(l net.Listener) error { return e.serve(l, nil) }

// serve is Serve, with TLS when cfg is not nil.
func (e *Endpoint) serve(l net.Listener, cfg *tls.Config) error {
	e.init()
	e.regMu.Lock()
	e.started.Store(true)
	e.regMu.Unlock()
	e.slotsOnce.Do(func() { // MaxHandlers as set when serving starts
		if e.MaxHandlers > 0 {
			e.slots = make(chan struct{}, e.MaxHandlers)
		}
	})
	if !e.trackListener(&l, true) {
		l.Close()
		return ErrEndpointClosed
	}
	defer e.trackListener(&l, false)
	defer l.Close()
	e.logger().Info("listening", "network", l.Addr().Network(), "addr", l.Addr().String())

	var pause time.Duration
	for {
		rwc, err := l.Accept()
		if err != nil {
			if e.shuttingDown() {
				return ErrEndpointClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Temporary() { //nolint:staticcheck // as net/http does
				pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
				e.logger().Warn("accept failed; retrying", "err", err, "pause", pause)
				acceptSleep(e.ctx, pause)
				continue
			}
			return errors.Wrap(err, "endpoint: accept")
		}
		pause = 0
		e.start(rwc, cfg)
	}
}

// start serves a new connection, or refuses it when MaxConns request/reply
// connections are open.
func (e *Endpoint) start(rwc net.Conn, cfg *tls.Config) {
	e.mu.Lock()
	if e.shuttingDown() {
		e.mu.Unlock()
		rwc.Close()
		return
	}
	e.connWG.Add(1)
	e.counters.accepted.Add(1)
	if limit := e.maxConns(); limit > 0 && e.serving >= limit {
		e.mu.Unlock()
		e.counters.refusedTooMany.Add(1)
		e.counters.errors.Add(1)
		go e.refuse(rwc, cfg)
		return
	}
	c := newConn(e, rwc, cfg)
	e.conns[c] = struct{}{}
	e.serving++
	e.holdClockLocked()
	e.mu.Unlock()
	if e.ConnState != nil {
		e.ConnState(rwc, StateNew)
	}
	// Logged here rather than on the connection's goroutine, whose stack
	// would grow to slog's depth and stay so while the connection idles.
	e.logger().Info("connection opened", "remote", c.remoteAddr)
	go c.serve()
}

// refusing bounds the refused connections that are told so at once (a TLS
// handshake, the ERR line, lingerClose); past it, a refused connection is
// closed at once, so that a flood of connections cannot make the server
// spend more.
var refusing = make(chan struct{}, 64)

// refuse tells a connection over the limit why it is closed, over TLS for a
// TLS listener (within the handshake timeout). It reads and discards what the
// client had already sent, so that closing with unread input does not reset
// the connection before the client reads the line. Past the refusing bound,
// a connection is closed at once, with no handshake and no line.
func (e *Endpoint) refuse(rwc net.Conn, cfg *tls.Config) {
	defer e.connWG.Done()
	defer rwc.Close()
	e.logger().Warn("connection refused", "remote", e.remoteID(rwc), "reason", ErrTooManyConns)
	select {
	case refusing <- struct{}{}:
		defer func() { <-refusing }()
	default:
		return
	}
	conn := rwc
	if cfg != nil {
		tc := tls.Server(rwc, cfg)
		tc.SetDeadline(time.Now().Add(e.handshakeTimeout()))
		if tc.Handshake() != nil {
			return
		}
		conn = tc
	}
	conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	conn.Write([]byte("ERR " + ErrTooManyConns.Error() + "\n"))
	lingerClose(conn)
}

// hijacked moves c from the request/reply connections to the members, or
// reports false when MaxMembers are hijacked already.
func (e *Endpoint) hijacked(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if limit := e.maxMembers(); limit > 0 && e.members >= limit {
		return false
	}
	e.members++
	e.serving--
	c.member = true
	return true
}

// forget removes a closed connection, then calls last before Shutdown can
// learn that it is gone.
func (e *Endpoint) forget(c *conn, last func()) {
	e.mu.Lock()
	delete(e.conns, c)
	e.releaseClockLocked()
	if c.member {
		e.members--
	} else {
		e.serving--
	}
	e.mu.Unlock()
	last()
	e.connWG.Done()
}

// remoteID names a connection's peer: its address, or for a peer with no
// address (a unix socket client, usually) "unix-N", unique within the run.
func (e *Endpoint) remoteID(rwc net.Conn) string {
	if a := rwc.RemoteAddr(); a != nil {
		if s := a.String(); s != "" && s != "@" {
			return s
		}
	}
	return "unix-" + strconv.FormatUint(e.unnamed.Add(1), 10)
}

func (e *Endpoint) trackListener(l *net.Listener, add bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if add {
		if e.shuttingDown() {
			return false
		}
		e.listeners[l] = struct{}{}
		e.holdClockLocked()
	} else {
		delete(e.listeners, l)
		e.releaseClockLocked()
	}
	return true
}

func (e *Endpoint) shuttingDown() bool { return e.inShutdown.Load() }

// Addr returns the address of a listener the endpoint serves on, or nil when
// it serves on none.
func (e *Endpoint) Addr() net.Addr {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	for l := range e.listeners {
		return (*l).Addr()
	}
	return nil
}

// Shutdown stops the endpoint gracefully: it closes the listeners, lets every
// request in flight finish and answers requests that have already reached a
// connection, closes hijacked connections (chat members) at once, and closes
// each other connection once it has nothing left to serve. It returns when all
// connections are closed, or when ctx ends, in which case it closes them all as
// Close does and returns ctx's error. Serve returns ErrEndpointClosed at once.
func (e *Endpoint) Shutdown(ctx context.Context) error {
	e.init()
	e.logger().Info("shutting down")
	e.mu.Lock()
	e.inShutdown.Store(true)
	err := e.closeListenersLocked()
	for c := range e.conns {
		c.wakeForShutdown()
	}
	e.mu.Unlock()
	if testHookShutdownWoken != nil {
		testHookShutdownWoken()
	}

	done := make(chan struct{})
	go func() {
		e.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		e.cancel()
		return err
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once, cancelling the
// contexts of handlers in flight. It does not wait for them to return. Close
// may be called more than once; each call returns the first call's error.
func (e *Endpoint) Close() error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inShutdown.Store(true)
	if e.closed {
		return e.closeErr
	}
	e.closed = true
	e.closeErr = e.closeListenersLocked()
	for c := range e.conns {
		c.raw.Close() // under TLS, not tls.Conn.Close, which may wait on a stuck peer
	}
	// Cancel handlers only once their connections are closed, so that none
	// returns early enough to reply, or to let the next request be served.
	e.cancel()
	return e.closeErr
}

// testHookShutdownWoken, if set, is called once Shutdown has woken the idle
// connections (see export_test.go).
var testHookShutdownWoken func()

func (e *Endpoint) closeListenersLocked() error {
	var err error
	for l := range e.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	clear(e.listeners)
	return err
}
