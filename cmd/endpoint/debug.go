package main

import (
	"context"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/metrics"
	"github.com/pkg/errors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The debug server of -debug-addr serves, over plain HTTP:
//
//	/metrics        the endpoint's figures (package metrics), the Go runtime's and the process's, for Prometheus
//	/debug/vars     expvar's variables as JSON, with the endpoint's Stats under "endpoint"
//	/debug/pprof/   net/http/pprof's profiles
//
// Its handlers are on a mux of its own. Importing expvar and net/http/pprof
// also registers theirs on http.DefaultServeMux, which nothing here serves.
// It has no authentication: give it a loopback address, or one that only
// trusted hosts reach.

// debugShutdownTimeout bounds how long the debug server's shutdown waits for
// requests in flight (a CPU profile, say) before closing their connections.
const debugShutdownTimeout = 2 * time.Second

// A debugServer is the running debug server; nil when -debug-addr is not
// set.
type debugServer struct {
	srv    *http.Server
	served chan struct{} // closed once Serve has returned
}

// startDebug listens on addr and serves the debug handlers for e there. With
// an empty addr it does nothing and returns nil. An error says, in one line
// starting with the program's name, that -debug-addr cannot listen and why.
func startDebug(addr string, e *endpoint.Endpoint, logger *slog.Logger) (*debugServer, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Wrap(err, "endpoint: -debug-addr")
	}
	d := &debugServer{
		srv: &http.Server{
			Handler:           debugHandler(e),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		served: make(chan struct{}),
	}
	logger.Info("debug server listening", "addr", l.Addr().String())
	go func() {
		defer close(d.served)
		if err := d.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("debug server failed", "err", err)
		}
	}()
	return d, nil
}

// shutdown stops the debug server, closing the connections of requests still
// in flight after debugShutdownTimeout. It does nothing to a nil d.
func (d *debugServer) shutdown(logger *slog.Logger) {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), debugShutdownTimeout)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.srv.Close()
		logger.Warn("debug server shutdown timed out; closed its connections", "timeout", debugShutdownTimeout)
	}
	<-d.served
}

// debugHandler returns the debug server's handler for e.
func debugHandler(e *endpoint.Endpoint) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector(e),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/vars", varsHandler(e))
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the profiles it names, heap, goroutine, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "endpoint debug server\n/metrics\n/debug/vars\n/debug/pprof/\n")
	})
	return mux
}

// varsHandler serves what expvar's handler does, every published variable as
// one JSON object, with e.Stats() first under "endpoint". The figures are
// this handler's own rather than a published variable, so that several
// endpoints in one process (the tests' runs) each show their own.
func varsHandler(e *endpoint.Endpoint) http.Handler {
	stats := expvar.Func(func() any { return e.Stats() })
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, "{\n%q: %s", "endpoint", stats)
		expvar.Do(func(kv expvar.KeyValue) {
			if kv.Key != "endpoint" {
				fmt.Fprintf(w, ",\n%q: %s", kv.Key, kv.Value)
			}
		})
		io.WriteString(w, "\n}\n")
	})
}
