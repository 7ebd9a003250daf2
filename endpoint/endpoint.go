package endpoint

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
)

// Defaults for the Endpoint's limits, used where a field is zero.
const (
	DefaultMaxLineBytes    = 64 << 10 // 64 KiB
	DefaultMaxPayloadBytes = 1 << 20  // 1 MiB
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultMaxConns        = 10000
	DefaultMaxMembers      = 1000
	// DefaultPort is the TCP port the endpoint program listens on.
	DefaultPort = "61000"
)

// An Endpoint dispatches commands received on its connections to handlers
// registered by name. The zero value is ready to use: register handlers with
// Handle or HandleFunc, then call Serve or ListenAndServe. Handlers may be added
// while it serves. The built-in commands HELP and PING are always registered.
//
// Set the fields before serving and do not change them after.
type Endpoint struct {
	// MaxLineBytes bounds a command line and any line a handler reads with
	// Request.ReadLine. Zero means DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxPayloadBytes bounds a payload a handler reads with
	// Request.DecodeGob. Zero means DefaultMaxPayloadBytes.
	MaxPayloadBytes int64
	// IdleTimeout closes a connection that sends nothing for this long, or
	// starts a request and does not finish sending it within this long; it
	// also bounds how long a reply may take to be written. Zero means
	// DefaultIdleTimeout; a negative value means no timeout.
	IdleTimeout time.Duration
	// MaxConns bounds the request/reply connections served at once; a
	// connection over it is sent an "ERR" line and closed. Hijacked
	// connections (chat members) are counted against MaxMembers instead, so
	// that they can never lock request/reply clients out. Zero means
	// DefaultMaxConns; a negative value means no limit.
	MaxConns int
	// MaxMembers bounds the hijacked connections (chat members) at once:
	// Request.Hijack fails with ErrRoomFull over it. Zero means
	// DefaultMaxMembers; a negative value means no limit.
	MaxMembers int
	// MaxGobDepth bounds how deep the values and type definitions of a gob
	// payload may nest; deeper payloads are refused before encoding/gob sees
	// them. Zero or less means codec.DefaultMaxGobDepth.
	MaxGobDepth int
	// Greeting, if not empty, is a line sent to every new connection before
	// anything else.
	Greeting string
	// FirstCommand, if not empty, is a command run for every new
	// connection, after the Greeting and before any request is read, as if
	// it had been the connection's first line: "CHAT" makes every
	// connection a chat member at once. If it fails, its ERR line is sent
	// and the connection goes on serving requests (or is closed, as after
	// that error sent by a client); an unknown name gets the unknown-command
	// ERR line.
	FirstCommand string
	// MaxHandlers bounds how many handlers run at once across all
	// connections; a request waits for a free slot, and none is dropped. A
	// handler gives its slot back when it hijacks its connection. Zero means
	// no bound.
	MaxHandlers int
	// SendQueueLen bounds the lines queued for one Stream before its peer is
	// deemed too slow and disconnected. Zero means DefaultSendQueueLen.
	SendQueueLen int
	// TLSConfig is the TLS configuration of ServeTLS and ListenAndServeTLS:
	// it needs a certificate (Certificates or GetCertificate); set ClientAuth
	// and ClientCAs for mutual TLS.
	TLSConfig *tls.Config
	// HandshakeTimeout bounds a connection's TLS handshake together with its
	// Admit hook; over it the connection is closed. Zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Admit, if not nil, runs once per connection before its first request,
	// after the TLS handshake, and decides whether the connection is served
	// at all: an error refuses it, with an "ERR" line of the error's text
	// (which must not reveal anything, as every ERR line), and closes it.
	// It sees who is calling: the address, the TLS state with the verified
	// client certificate under mutual TLS, the peer's credentials on a unix
	// socket. Per-command rules belong in a Middleware, which sees
	// Request.TLS and Request.Cred.
	Admit func(ctx context.Context, peer Peer) error
	// Logger receives the endpoint's log lines. Nil means slog.Default().
	Logger *slog.Logger
	// NoStats turns off the counting behind Stats (a few atomic additions
	// per request, and two clock readings for a request whose latency is
	// measured); Stats then reports zeros but for the connections open.
	NoStats bool
	// ConnState, if not nil, is called each time a connection changes state
	// (see ConnState), on the connection's own goroutine with the
	// connection's lock held: it must be quick and must not block.
	ConnState func(net.Conn, ConnState)

	initOnce  sync.Once
	ctx       context.Context // parent of every connection's context
	cancel    context.CancelFunc
	slotsOnce sync.Once
	slots     chan struct{} // one per running handler, when MaxHandlers > 0

	regMu    sync.RWMutex // protects handlers
	handlers map[string]*route
	// routes is a copy of handlers that is never changed once stored, for
	// dispatch to read without taking regMu: every request reads it, from
	// every core, and the lock's reader count would bounce between them.
	routes atomic.Pointer[map[string]*route]

	mu         sync.Mutex // protects the following
	listeners  map[*net.Listener]struct{}
	conns      map[*conn]struct{}
	serving    int // request/reply connections, counted against MaxConns
	members    int // hijacked connections, counted against MaxMembers
	clockUsers int // Serve calls and connections: the coarse clock ticks while there are any
	clockStop  chan struct{}
	inShutdown atomic.Bool // set under mu; read without it
	connWG     sync.WaitGroup
	closeErr   error
	closed     bool

	unnamed atomic.Uint64 // peers named "unix-N" so far

	middleware []Middleware // installed by Use; guarded by regMu
	started    atomic.Bool  // Serve has been called: Use is too late
	counters   counters     // the figures behind Stats

	coarse atomic.Int64 // the time, in Unix nanoseconds, as of the clock's last tick (see clock.go)
}

// route is a registered command: the name is kept here so that dispatch can
// hand it to the handler without allocating a string per request.
type route struct {
	name    string
	handler Handler         // as registered
	serve   Handler         // handler inside the middleware chain, composed at registration
	stats   commandCounters // the command's figures
}

func (e *Endpoint) init() {
	e.initOnce.Do(func() {
		e.ctx, e.cancel = context.WithCancel(context.Background())
		e.handlers = map[string]*route{
			"HELP": {name: "HELP", handler: HandlerFunc(e.serveHelp)},
			"PING": {name: "PING", handler: HandlerFunc(servePing)},
		}
		e.publishRoutes()
		e.listeners = make(map[*net.Listener]struct{})
		e.conns = make(map[*conn]struct{})
	})
}

// Handle registers h for the command name. Names are matched without regard to
// ASCII case and are stored in upper case. Handle panics on a programmer error:
// an empty name or one with spaces, a nil handler, or a name already registered.
func (e *Endpoint) Handle(name string, h Handler) {
	e.init()
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		panic(fmt.Sprintf("endpoint: invalid command name %q (registered at %s)", name, caller()))
	}
	if f, ok := h.(HandlerFunc); h == nil || ok && f == nil {
		panic(fmt.Sprintf("endpoint: nil handler for command %q (registered at %s)", name, caller()))
	}
	key := string(asciiUpper([]byte(name)))
	e.regMu.Lock()
	defer e.regMu.Unlock()
	if _, dup := e.handlers[key]; dup {
		panic(fmt.Sprintf("endpoint: command %q registered twice (again at %s)", key, caller()))
	}
	e.handlers[key] = &route{name: key, handler: h}
	e.publishRoutes()
}

// A Middleware wraps a Handler in behaviour of its own (timing,
// authorization, logging, rate limits), before and after the handler runs:
// it returns a Handler that does its part and calls next, or refuses by
// returning an error, which becomes the request's "ERR" line.
type Middleware func(next Handler) Handler

// Use installs middleware around every command, the built-ins and those
// registered later included; several calls add to the chain, and the first
// installed is the outermost. The chain is composed once per command, here and
// at registration, never per request. A middleware sees the request's
// command, its peer (Request.RemoteAddr) and the context. For a command that
// hijacks its connection (CHAT), the handler returns only when the member
// leaves, so a middleware's "after" part runs then. A middleware that
// refuses a command with a payload before its handler has read it leaves
// the payload to be read as the next command line, as for an unknown
// command; refuse with a *ProtocolError to close the connection instead. Use
// panics once the endpoint serves, and for a nil middleware.
func (e *Endpoint) Use(mw ...Middleware) {
	e.init()
	for _, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("endpoint: nil middleware (installed at %s)", caller()))
		}
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	if e.started.Load() {
		panic(fmt.Sprintf("endpoint: Use after serving started (at %s)", caller()))
	}
	e.middleware = append(e.middleware, mw...)
	for _, r := range e.handlers {
		r.serve = nil // composed anew below; nothing serves yet
	}
	e.publishRoutes()
}

// publishRoutes makes dispatch see the handlers as they are now. regMu is
// held, or the endpoint is being set up.
func (e *Endpoint) publishRoutes() {
	for _, r := range e.handlers {
		if r.serve != nil {
			continue // composed already, and maybe in use: never changed
		}
		h := r.handler
		for i := len(e.middleware) - 1; i >= 0; i-- {
			h = e.middleware[i](h)
		}
		r.serve = h
	}
	routes := maps.Clone(e.handlers)
	e.routes.Store(&routes)
}

// HandleFunc registers f for the command name, as Handle does.
func (e *Endpoint) HandleFunc(name string, f func(ctx context.Context, req *Request) error) {
	if f == nil {
		panic(fmt.Sprintf("endpoint: nil handler for command %q (registered at %s)", name, caller()))
	}
	e.Handle(name, HandlerFunc(f))
}

// caller names the file and line that called the registration method.
func caller() string {
	for skip := 2; skip < 5; skip++ {
		_, file, line, ok := runtime.Caller(skip)
		if ok && !strings.HasSuffix(file, "/endpoint/endpoint.go") {
			return fmt.Sprintf("%s:%d", file, line)
		}
	}
	return "unknown caller"
}

// lookup finds the route for the upper-cased command name. The string
// conversion in the map index does not allocate.
func (e *Endpoint) lookup(name []byte) *route {
	return (*e.routes.Load())[string(name)]
}

// asciiUpper returns name with its ASCII letters upper-cased and every other
// byte kept, so that names match without regard to ASCII case only (for
// bytes.ToUpper, "pıng" would be PING).
func asciiUpper(name []byte) []byte {
	up := make([]byte, len(name))
	for i, b := range name {
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		up[i] = b
	}
	return up
}

// Commands returns the registered command names, sorted.
func (e *Endpoint) Commands() []string {
	e.init()
	e.regMu.RLock()
	names := make([]string, 0, len(e.handlers))
	for name := range e.handlers {
		names = append(names, name)
	}
	e.regMu.RUnlock()
	slices.Sort(names)
	return names
}

// serveHelp lists the registered commands on one line.
func (e *Endpoint) serveHelp(_ context.Context, req *Request) error {
	return req.WriteLine("commands: " + strings.Join(e.Commands(), " "))
}

func servePing(_ context.Context, req *Request) error {
	return req.WriteLine("PONG")
}

func (e *Endpoint) maxLine() int {
	if e.MaxLineBytes > 0 {
		return e.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

func (e *Endpoint) maxPayload() int64 {
	if e.MaxPayloadBytes > 0 {
		return e.MaxPayloadBytes
	}
	return DefaultMaxPayloadBytes
}

func (e *Endpoint) idleTimeout() time.Duration {
	switch {
	case e.IdleTimeout < 0:
		return 0
	case e.IdleTimeout == 0:
		return DefaultIdleTimeout
	}
	return e.IdleTimeout
}

func (e *Endpoint) maxConns() int   { return countLimit(e.MaxConns, DefaultMaxConns) }
func (e *Endpoint) maxMembers() int { return countLimit(e.MaxMembers, DefaultMaxMembers) }

// countLimit reads a limit field of the Endpoint: zero means def, and a
// negative value means none, returned as 0.
func countLimit(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func (e *Endpoint) maxGobDepth() int {
	if e.MaxGobDepth > 0 {
		return e.MaxGobDepth
	}
	return codec.DefaultMaxGobDepth
}

// limitOf says what limit err is about, for the client's "ERR" line.
func (e *Endpoint) limitOf(err error) string {
	switch err {
	case codec.ErrLineTooLong:
		return "limit " + strconv.Itoa(e.maxLine()) + " bytes"
	case codec.ErrPayloadTooLarge:
		return "limit " + strconv.FormatInt(e.maxPayload(), 10) + " bytes"
	}
	return ""
}

func (e *Endpoint) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}
