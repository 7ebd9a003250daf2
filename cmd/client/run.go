package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/pkg/errors"
)

// run is the whole program but for the process: it parses args, makes the
// calls they ask for, prints the replies to stdout and returns the exit
// status. Cancelling ctx (main does on SIGINT or SIGTERM) abandons the calls.
// stdin is read only by -i (see interactive).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.inter {
		return interactive(ctx, cfg, stdin, stdout, stderr)
	}
	addr := dialAddress(cfg.network, cfg.connect)
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.timeout,
			errors.Errorf("no reply within -timeout %v", cfg.timeout))
		defer cancel()
	}
	out := &printer{ctx: ctx, addr: addr, stdout: stdout, stderr: stderr}

	d, err := cfg.tls.dialer()
	if err != nil {
		fmt.Fprintf(stderr, "client: %v\n", err)
		return 2
	}
	d.Greeting = cfg.greet
	c, err := d.Dial(ctx, cfg.network, addr)
	if err != nil {
		var re *endpoint.RemoteError
		if errors.As(err, &re) {
			// An ERR line in place of the greeting (too many
			// connections, say): printed as sent, as a reply is.
			return out.reply("", err)
		}
		return out.failure(err)
	}
	defer c.Close()
	if cfg.greet {
		fmt.Fprintln(stdout, c.Greeting())
	}
	if len(cfg.command) == 0 {
		return defaultCalls(ctx, c, out)
	}
	return commandCall(ctx, c, out, cfg.command[0], cfg.command[1:])
}

// The default calls' payloads.
var (
	defaultText = "hello from cmd/client"
	defaultGob  = handlers.GobPayload{
		N: 42,
		S: "outer",
		M: map[string]int{"one": 1, "two": 2},
		P: []byte("outer bytes"),
		C: &handlers.GobPayload{
			N: 7,
			S: "inner",
			M: map[string]int{"three": 3},
			P: []byte("inner bytes"),
		},
	}
)

// defaultCalls sends a STRING and a GOB request and prints both replies.
func defaultCalls(ctx context.Context, c *endpoint.Client, out *printer) int {
	code := out.reply(c.Call(ctx, "STRING", defaultText))
	if code > 1 {
		return code
	}
	return max(code, out.reply(c.CallGob(ctx, "GOB", defaultGob)))
}

// commandCall sends the command name with the words joined by spaces as its
// one payload line, or with no payload line when there are no words, and
// prints the reply.
func commandCall(ctx context.Context, c *endpoint.Client, out *printer, name string, words []string) int {
	if len(words) == 0 {
		return out.reply(c.Call(ctx, name))
	}
	return out.reply(c.Call(ctx, name, strings.Join(words, " ")))
}

// A printer prints the outcome of calls to the endpoint at addr.
type printer struct {
	ctx            context.Context // the calls' context, whose cause explains a timeout
	addr           string
	stdout, stderr io.Writer
}

// reply prints the outcome of one call and returns the exit status it calls
// for: 0 for a reply, 1 for an ERR reply (printed as the server sent it) and 2
// when there is no reply.
func (p *printer) reply(line string, err error) int {
	var re *endpoint.RemoteError
	switch {
	case err == nil:
		fmt.Fprintln(p.stdout, line)
		return 0
	case errors.As(err, &re):
		fmt.Fprintln(p.stdout, "ERR "+re.Message)
		return 1
	}
	return p.failure(err)
}

// failure prints one line to stderr that says why the endpoint gave no reply,
// naming its address, and returns the exit status 2.
func (p *printer) failure(err error) int {
	msg := strings.TrimPrefix(errors.Cause(err).Error(), "endpoint: ")
	if p.ctx.Err() != nil {
		// Timed out or interrupted: the cause says which.
		msg = context.Cause(p.ctx).Error()
	}
	if !strings.Contains(msg, p.addr) {
		msg = p.addr + ": " + msg
	}
	fmt.Fprintln(p.stderr, "client: "+msg)
	return 2
}
