package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/natsbroker"
	"github.com/pkg/errors"
)

// defaultShutdownTimeout bounds how long shutdown waits for requests in flight.
const defaultShutdownTimeout = 10 * time.Second

// config is what the command line asks for.
type config struct {
	network         string
	addr            string
	maxLine         int
	maxPayload      int64
	idleTimeout     time.Duration // 0: no idle timeout
	maxConns        int           // 0: no limit
	maxMembers      int           // 0: no limit
	maxDepth        int
	tls             tlsFlags
	handshake       time.Duration
	maxHandlers     int // 0: no bound
	shutdownTimeout time.Duration
	logFile         string // "": standard error
	logLevel        string // a key of logLevels
	logFormat       string // "text" or "json"
	debugAddr       string // "": no debug server (see debug.go)
	greeting        string // "": none
	chat            bool   // every connection joins the chat room at once
	natsURL         string // "": no cluster (see cluster.go)
	room            string // the room's name in the cluster
	node            string // "": host name and port
}

// errUsage reports a command line that parseFlags has already explained on
// standard error.
var errUsage = errors.New("usage error")

// parseFlags parses the command line. On a bad command line it prints why to
// stderr and returns an error: flag.ErrHelp when help was asked for, errUsage
// otherwise.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := new(config)
	fs := flag.NewFlagSet("endpoint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: endpoint [flags]\n\nServes the endpoint wire protocol until SIGINT or SIGTERM.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.network, "network", "tcp", "`network` to listen on: tcp or unix (tcp4 and tcp6 also work)")
	fs.StringVar(&cfg.addr, "addr", "", "`address` to listen on (default \":"+endpoint.DefaultPort+"\" for tcp); for unix, the socket's path (required)")
	fs.IntVar(&cfg.maxLine, "max-line", endpoint.DefaultMaxLineBytes, "longest command or payload line, in `bytes`")
	fs.Int64Var(&cfg.maxPayload, "max-payload", endpoint.DefaultMaxPayloadBytes, "largest GOB payload, in `bytes`")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", endpoint.DefaultIdleTimeout, "close a connection that is silent, or slow to send a request, for this `duration`; 0 disables it")
	fs.IntVar(&cfg.maxConns, "max-conns", endpoint.DefaultMaxConns, "`number` of connections served at once; more are refused with an ERR line; 0 means no limit")
	fs.IntVar(&cfg.maxMembers, "max-members", endpoint.DefaultMaxMembers, "`number` of chat members at once, counted apart from -max-conns; CHAT past it gets ERR chat room full; 0 means no limit")
	fs.IntVar(&cfg.maxDepth, "max-depth", codec.DefaultMaxGobDepth, "deepest nesting, in `levels`, of a GOB payload's values and type definitions")
	fs.StringVar(&cfg.tls.cert, "tls-cert", "", "serve TLS with the certificate in this PEM `file` (with -tls-key); SIGHUP re-reads both")
	fs.StringVar(&cfg.tls.key, "tls-key", "", "the private key of -tls-cert, a PEM `file`")
	fs.StringVar(&cfg.tls.clientCA, "tls-client-ca", "", "require every client to present a certificate signed by a CA in this PEM `file` (mutual TLS)")
	fs.DurationVar(&cfg.handshake, "handshake-timeout", endpoint.DefaultHandshakeTimeout, "close a connection whose TLS handshake takes longer than this `duration`")
	cfg.tls.unixMode = 0o600
	fs.Var(&cfg.tls.unixMode, "unix-mode", "`mode` of the unix socket file, in octal, whatever the umask")
	fs.IntVar(&cfg.maxHandlers, "max-handlers", 0, "`number` of handlers run at once across all connections; requests wait for a slot; 0 means no bound")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "at shutdown, how long (`duration`) to wait for requests in flight before closing their connections")
	fs.StringVar(&cfg.logFile, "log", "", "append log lines to `file` (default: standard error)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log lines of this `level` and above: debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log lines as `format`: text (key=value) or json (one object a line)")
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "serve /metrics, /debug/vars and /debug/pprof/ over HTTP on this `address` (e.g. 127.0.0.1:6060; default: off)")
	fs.StringVar(&cfg.greeting, "greeting", "", "a line of `text` sent to every new connection before anything else (default: none)")
	fs.BoolVar(&cfg.chat, "chat", false, "every new connection joins the chat room at once, after the greeting, as if its first line had been CHAT")
	fs.StringVar(&cfg.natsURL, "nats", "", "join the chat room of every node on the NATS server at this `URL` (nats://HOST:PORT; default: this node alone)")
	fs.StringVar(&cfg.room, "room", "chat", "with -nats, the `name` of the room the nodes share")
	fs.StringVar(&cfg.node, "node", "", "with -nats, this node's `name`, the NODE of member IDs NODE/IP:PORT (default: host name:port)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage // fs has printed the error and the usage
	}
	if err := cfg.check(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "endpoint: %v (run endpoint -h for usage)\n", err)
		return nil, errUsage
	}
	return cfg, nil
}

// check validates the configuration and fills in the default address.
func (cfg *config) check(rest []string) error {
	switch {
	case len(rest) > 0:
		return errors.Errorf("unexpected argument %q", rest[0])
	case cfg.maxLine <= 0:
		return errors.Errorf("-max-line must be positive, not %d", cfg.maxLine)
	case cfg.maxPayload <= 0:
		return errors.Errorf("-max-payload must be positive, not %d", cfg.maxPayload)
	case cfg.idleTimeout < 0:
		return errors.Errorf("-idle-timeout must not be negative, not %v", cfg.idleTimeout)
	case cfg.maxConns < 0:
		return errors.Errorf("-max-conns must not be negative, not %d", cfg.maxConns)
	case cfg.maxMembers < 0:
		return errors.Errorf("-max-members must not be negative, not %d", cfg.maxMembers)
	case cfg.maxDepth <= 0:
		return errors.Errorf("-max-depth must be positive, not %d", cfg.maxDepth)
	case cfg.handshake <= 0:
		return errors.Errorf("-handshake-timeout must be positive, not %v", cfg.handshake)
	case cfg.maxHandlers < 0:
		return errors.Errorf("-max-handlers must not be negative, not %d", cfg.maxHandlers)
	case cfg.shutdownTimeout < 0:
		return errors.Errorf("-shutdown-timeout must not be negative, not %v", cfg.shutdownTimeout)
	case strings.ContainsAny(cfg.greeting, "\r\n"):
		return errors.New("-greeting must be one line")
	case cfg.natsURL != "" && natsbroker.CheckURL(cfg.natsURL) != nil:
		return errors.Wrap(natsbroker.CheckURL(cfg.natsURL), "-nats")
	case cfg.room == "" || strings.ContainsAny(cfg.room, " \t\r\n.*>"):
		return errors.Errorf("-room must be one word without '.', '*' or '>', not %q", cfg.room)
	case strings.ContainsAny(cfg.node, " \t\r\n/"):
		return errors.Errorf("-node must be one word without '/', not %q", cfg.node)
	case !knownLogLevel(cfg.logLevel):
		return errors.Errorf("-log-level must be debug, info, warn or error, not %q", cfg.logLevel)
	case cfg.logFormat != "text" && cfg.logFormat != "json":
		return errors.Errorf("-log-format must be text or json, not %q", cfg.logFormat)
	}
	switch cfg.network {
	case "tcp", "tcp4", "tcp6":
		if cfg.addr == "" {
			cfg.addr = ":" + endpoint.DefaultPort
		}
	case "unix":
		if cfg.addr == "" {
			return errors.New("-network unix needs -addr PATH, the socket's path")
		}
	default:
		return errors.Errorf("-network must be tcp or unix, not %q", cfg.network)
	}
	return nil
}

// newEndpoint returns an endpoint configured as cfg says, logging to logger,
// with the built-in commands registered, and its chat room.
func (cfg *config) newEndpoint(logger *slog.Logger) (*endpoint.Endpoint, *handlers.Chat) {
	e := &endpoint.Endpoint{
		MaxLineBytes:     cfg.maxLine,
		MaxPayloadBytes:  cfg.maxPayload,
		IdleTimeout:      cfg.idleTimeout,
		MaxConns:         cfg.maxConns,
		MaxMembers:       cfg.maxMembers,
		MaxGobDepth:      cfg.maxDepth,
		MaxHandlers:      cfg.maxHandlers,
		HandshakeTimeout: cfg.handshake,
		Greeting:         cfg.greeting,
		Logger:           logger,
	}
	// The endpoint reads zero as "the default" and a negative value as "none".
	if cfg.idleTimeout == 0 {
		e.IdleTimeout = -1
	}
	if cfg.maxConns == 0 {
		e.MaxConns = -1
	}
	if cfg.maxMembers == 0 {
		e.MaxMembers = -1
	}
	if cfg.chat {
		e.FirstCommand = "CHAT"
	}
	return e, handlers.Register(e)
}
