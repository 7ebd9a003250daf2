package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/pkg/errors"
)

// run is the whole program but for the process: it parses args, serves until
// ctx is cancelled (main cancels it on SIGINT or SIGTERM), shuts down and
// returns the exit status. Each line read from stdin is broadcast to the chat
// members; after shutdown the chat's per-member table goes to stdout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logw, closeLog, err := openLog(cfg.logFile, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "endpoint: %v\n", err)
		return 1
	}
	defer closeLog()
	logger := cfg.newLogger(logw)

	tlsConfig, certs, err := cfg.tls.tlsConfig()
	if err != nil {
		fmt.Fprintf(stderr, "endpoint: %v\n", err)
		return 1
	}
	l, err := endpoint.Listen(cfg.network, cfg.addr)
	if err != nil {
		// The error already starts with "endpoint: ", the program's name.
		fmt.Fprintln(stderr, err)
		if cfg.logFile != "" {
			logger.Error("cannot listen", "err", err)
		}
		return 1
	}
	if cfg.network == "unix" {
		// Set after the socket is made, so the umask has no say.
		if err := os.Chmod(cfg.addr, os.FileMode(cfg.tls.unixMode)); err != nil {
			fmt.Fprintf(stderr, "endpoint: -unix-mode: %v\n", err)
			l.Close()
			return 1
		}
	}
	e, chat := cfg.newEndpoint(logger)
	e.TLSConfig = tlsConfig
	leave, err := cfg.joinCluster(chat, l.Addr(), logger)
	if err != nil {
		fmt.Fprintf(stderr, "endpoint: %v\n", err)
		l.Close()
		return 1
	}
	defer leave()
	dbg, err := startDebug(cfg.debugAddr, e, logger)
	if err != nil {
		fmt.Fprintln(stderr, err) // it starts with "endpoint: -debug-addr"
		if cfg.logFile != "" {
			logger.Error("cannot listen", "err", err)
		}
		l.Close()
		return 1
	}
	if certs != nil {
		stop := make(chan struct{})
		defer close(stop)
		go certs.reloadOnHUP(logger, stop)
	}
	go console(stdin, chat, cfg.maxLine, logger)
	code := serve(ctx, e, l, cfg.shutdownTimeout, logger)
	dbg.shutdown(logger) // after the endpoint's, whose draining it lets one watch
	if err := chat.WriteTable(stdout); err != nil {
		logger.Error("cannot write the chat table", "err", err)
	}
	return code
}

// console broadcasts each line read from r to the chat members; empty lines,
// like a member's, are not sent. At the end of r it stops and the endpoint
// goes on serving.
func console(r io.Reader, chat *handlers.Chat, maxLine int, logger *slog.Logger) {
	if r == nil {
		return
	}
	br := bufio.NewReader(r)
	for {
		line, err := codec.ReadLine(br, maxLine)
		switch {
		case errors.Is(err, codec.ErrLineTooLong):
			logger.Warn("console line too long; not sent", "max", maxLine)
			if err := skipLine(br); err != nil {
				return
			}
		case err != nil:
			logger.Info("console input ended; still serving")
			return
		case len(line) > 0:
			chat.Broadcast(string(line))
		}
	}
}

// serve serves e on l until ctx is cancelled or l fails, then shuts e down,
// waiting at most timeout for requests in flight. It returns the exit status.
func serve(ctx context.Context, e *endpoint.Endpoint, l net.Listener, timeout time.Duration, logger *slog.Logger) int {
	served := make(chan error, 1)
	go func() {
		serve := e.Serve
		if e.TLSConfig != nil {
			serve = e.ServeTLS
		}
		err := serve(l)
		if errors.Is(err, endpoint.ErrEndpointClosed) {
			logger.Info("stopped accepting connections", "network", l.Addr().Network(), "addr", l.Addr().String())
		}
		served <- err
	}()

	code := 0
	select {
	case <-ctx.Done():
		logger.Info("stopping", "cause", context.Cause(ctx))
	case err := <-served:
		logger.Error("cannot accept connections", "err", err)
		served <- err // for the wait below
		code = 1
	}
	shutdown(ctx, e, timeout, logger)
	<-served // Serve has closed the listener, removing a unix socket file
	logger.Info("stopped")
	return code
}

// shutdown stops e gracefully, closing the connections still open after
// timeout.
func shutdown(ctx context.Context, e *endpoint.Endpoint, timeout time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := e.Shutdown(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		logger.Warn("shutdown timed out; closed the connections still open", "timeout", timeout)
	case err != nil:
		logger.Error("shutdown", "err", err)
	}
}

// skipLine discards the rest of the current line.
func skipLine(br *bufio.Reader) error {
	for {
		if _, err := br.ReadSlice('\n'); err != bufio.ErrBufferFull {
			return err
		}
	}
}
