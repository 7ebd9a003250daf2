package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// defaultTimeout bounds a whole run unless -timeout says otherwise.
const defaultTimeout = 10 * time.Second

// config is what the command line asks for.
type config struct {
	network string
	connect string        // as given; see dialAddress
	timeout time.Duration // 0: no bound
	command []string      // NAME [TEXT...]; empty for the default requests
	greet   bool          // the server sends a greeting line first
	inter   bool          // -i: an interactive session
	chat    bool          // -chat: the session starts in chat mode
	history string        // -history: the session's history file
	tls     tlsFlags
}

// usageLine is the synopsis, printed with every usage error.
const usageLine = "usage: client [flags] [NAME [TEXT...]]"

// errUsage reports a command line that parseFlags has already explained on
// standard error.
var errUsage = errors.New("usage error")

// parseFlags parses the command line. On a bad command line it prints why to
// stderr and returns an error: flag.ErrHelp when help was asked for, errUsage
// otherwise.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := new(config)
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usageLine+"\n\n"+
			"With no arguments, sends a STRING and a GOB request and prints both replies.\n"+
			"With arguments, sends command NAME with the TEXT words as its payload line\n"+
			"and prints the reply. With -i (or -chat), reads NAME [TEXT...] lines from\n"+
			"standard input instead, an interactive session. Exits 1 when a reply is an\n"+
			"ERR line.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.network, "network", "tcp", "`network` to dial: tcp or unix (tcp4 and tcp6 also work)")
	fs.StringVar(&cfg.connect, "connect", "localhost", "`address` of the endpoint: HOST (port 61000), HOST:PORT, ::1, [::1]:PORT; for unix, the socket's path")
	fs.BoolVar(&cfg.tls.on, "tls", false, "dial with TLS, verifying the server against the system's roots or -tls-ca")
	fs.StringVar(&cfg.tls.ca, "tls-ca", "", "verify the server against the CA certificates in this PEM `file`")
	fs.StringVar(&cfg.tls.cert, "tls-cert", "", "present the client certificate in this PEM `file` (with -tls-key), for mutual TLS")
	fs.StringVar(&cfg.tls.key, "tls-key", "", "the private key of -tls-cert, a PEM `file`")
	fs.StringVar(&cfg.tls.serverName, "tls-server-name", "", "the `name` the server's certificate must hold (default: the host of -connect)")
	fs.BoolVar(&cfg.greet, "greeting", false, "expect a greeting line from the server (cmd/endpoint -greeting): print it, then make the calls")
	fs.BoolVar(&cfg.inter, "i", false, "interactive session: one request per line of standard input (pipelined when it is not a terminal; line editing, history and Tab completion on one)")
	fs.BoolVar(&cfg.chat, "chat", false, "with -i (implied): start in chat mode, as if the first line were CHAT")
	fs.StringVar(&cfg.history, "history", defaultHistory(), "with -i on a terminal, the history `file` (its last 1000 lines are kept); empty: none")
	fs.DurationVar(&cfg.timeout, "timeout", defaultTimeout, "bound on the whole run, connecting included (`duration`); 0 means no bound")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage // fs has printed the error and the usage
	}
	cfg.command = fs.Args()
	cfg.inter = cfg.inter || cfg.chat
	connectSet := false
	fs.Visit(func(f *flag.Flag) { connectSet = connectSet || f.Name == "connect" })
	if err := cfg.check(connectSet); err != nil {
		fmt.Fprintf(stderr, "client: %v\n%s (client -h for more)\n", err, usageLine)
		return nil, errUsage
	}
	return cfg, nil
}

// check validates the configuration.
func (cfg *config) check(connectSet bool) error {
	switch cfg.network {
	case "tcp", "tcp4", "tcp6":
	case "unix":
		if !connectSet {
			return errors.New("-network unix needs -connect PATH, the socket's path")
		}
	default:
		return errors.Errorf("-network must be tcp or unix, not %q", cfg.network)
	}
	switch {
	case cfg.connect == "":
		return errors.New("-connect must not be empty")
	case cfg.timeout < 0:
		return errors.Errorf("-timeout must not be negative, not %v", cfg.timeout)
	}
	if cfg.inter && len(cfg.command) > 0 {
		return errors.New("-i and -chat read the requests from standard input: give no NAME")
	}
	if len(cfg.command) > 0 {
		if name := cfg.command[0]; name == "" || strings.ContainsAny(name, " \t\r\n") {
			return errors.Errorf("command name %q is empty or has spaces in it", name)
		}
		for _, w := range cfg.command[1:] {
			if strings.ContainsAny(w, "\r\n") {
				return errors.Errorf("TEXT %q has a line break in it: the payload is one line", w)
			}
		}
		if err := checkPayload(cfg.command[0], len(cfg.command) > 1); err != nil {
			return err
		}
	}
	return nil
}

// checkPayload refuses, before anything is dialled, the commands whose
// payload the built-in endpoint defines and the command line gets wrong:
// STRING needs its one line of TEXT, GOB a gob value no command line can
// give, and HELP, PING, STATS and CHAT take no payload, so TEXT after them
// would reach the server as a second request (or, after CHAT, a chat line)
// rather than as theirs. Names match in any ASCII case, as on the wire. Other
// names are the server's own commands: their TEXT is sent as their one
// payload line.
func checkPayload(name string, text bool) error {
	switch {
	case strings.EqualFold(name, "STRING") && !text:
		return errors.New("STRING needs TEXT, its payload line: client STRING TEXT...")
	case strings.EqualFold(name, "GOB"):
		return errors.New("GOB takes a gob value, which a command line cannot give: run client with no arguments to send one")
	case text:
		for _, n := range noPayload {
			if strings.EqualFold(name, n) {
				return errors.Errorf("%s takes no TEXT: the words would reach the server as a second request", strings.ToUpper(name))
			}
		}
	}
	return nil
}

// noPayload are the built-in commands that take no payload.
var noPayload = []string{"CHAT", "HELP", "PING", "STATS"}
