package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
)

// servers are the server programs a target can run, each in its own process
// (see serveMain). A server serves on l until stop is called. A variant of a
// server, such as the endpoint without some middleware, is one more entry
// here and one more row in allTargets.
var servers = map[string]func(l net.Listener) (stop func(), err error){
	"endpoint":         serveEndpoint,
	"endpoint-nostats": serveEndpointNoStats,
	"endpoint-mw":      serveEndpointMW,
	"raw":              serveRaw,
	"netrpc":           serveNetRPC,
	"grpc":             serveGRPC,
	"endpoint-tls":     serveEndpointTLS,
	"raw-tls":          serveRawTLS,
	"grpc-tls":         serveGRPCTLS,
}

// A Target is one row of the results: a server, run in its own process, and
// the client that drives it.
type Target struct {
	Name   string // the row's name
	Server string // a key of servers
	About  string // what the row measures, for -help
	// Dial opens one client connection to the server at addr.
	Dial func(ctx context.Context, addr string) (Conn, error)
	// Workloads, if not nil, are the only workloads the target takes part
	// in; nil means all of them.
	Workloads []string
	// Baseline rows run Server from the bench binary built from the
	// -baseline commit (see buildBaseline) instead of this binary. They
	// exist only with -baseline, and are then always measured.
	Baseline bool
	// TLS rows' servers take the run's certificate (see tls.go) through the
	// hidden serve flags -tls-cert and -tls-key.
	TLS bool
	// Shared, if not nil, makes a throughput workload's connections handles
	// on one client shared by them all (an endpoint.Pool): it opens that
	// client with conns connections to addr and returns the dial that hands
	// out its handles, used instead of Dial, and its close, called once the
	// handles are closed.
	Shared func(addr string, conns int) (dial func(ctx context.Context, addr string) (Conn, error), closeShared func() error)
}

// Supports reports whether t takes part in the workload w.
func (t *Target) Supports(w string) bool {
	return t.Workloads == nil || slices.Contains(t.Workloads, w)
}

// allTargets are the rows, in the order of the table.
//
// A variant is a few lines here. When the library gains its session-gob
// command, add a Conn whose Gob method keeps one gob.Encoder and Decoder for
// the connection's life, and a row such as
//
//	{Name: "endpoint-sgob", Server: "endpoint", Dial: dialSessionGob,
//		Workloads: []string{"gob"}, About: "..."},
//
// and the gob workload, table, ratios, goals and chart pick it up.
var allTargets = []*Target{
	{Name: "endpoint", Server: "endpoint", Dial: dialWire,
		About: "this library (Endpoint + handlers.Register), driven by the load generator's wire client"},
	{Name: baselineTarget, Server: "endpoint", Dial: dialWire, Baseline: true,
		About: "the endpoint server as built from the -baseline commit, the same wire client (only with -baseline)"},
	{Name: "endpoint-client", Server: "endpoint", Dial: dialEndpointClient,
		Workloads: []string{"seq", "conc", "pipe", "gob"},
		About:     "the same server, driven by the library's own endpoint.Client"},
	{Name: "pool", Server: "endpoint", Dial: dialPool, Shared: sharedPool,
		Workloads: []string{"seq", "conc", "pipe", "gob"},
		About:     "the same server, driven by one endpoint.Pool over its address with as many connections as the workload, called from all the workload's goroutines"},
	{Name: "endpoint-sgob", Server: "endpoint", Dial: dialSessionGob,
		Workloads: []string{"gob"},
		About:     "a typed command with the gob session codec (endpoint.Typed, endpoint.CallTyped): type definitions once per connection"},
	{Name: "endpoint-nostats", Server: "endpoint-nostats", Dial: dialWire,
		Workloads: []string{"seq", "conc", "pipe", "gob"},
		About:     "the endpoint server with Endpoint.NoStats (no stats counting), the same wire client: endpoint over it is what stats cost"},
	{Name: "endpoint-mw", Server: "endpoint-mw", Dial: dialWire,
		Workloads: []string{"seq", "conc", "pipe", "gob"},
		About:     "the endpoint server, stats on, plus one middleware (a per-command allow-list map lookup), the same wire client"},
	{Name: "raw", Server: "raw", Dial: dialWire,
		About: "plain bufio STRING and GOB on the same wire, the same wire client: the protocol's limit"},
	{Name: "netrpc", Server: "netrpc", Dial: dialNetRPC,
		About: "net/rpc with its gob codec (one encoder per connection), rpc.Client"},
	{Name: "grpc", Server: "grpc", Dial: dialGRPC,
		About: "gRPC-go unary calls, protobuf wire format by hand, grpc.ClientConn"},
	{Name: "endpoint-tls", Server: "endpoint-tls", Dial: dialWireTLS, TLS: true,
		Workloads: tlsWorkloads,
		About:     "the endpoint server over TLS 1.3 (Endpoint.TLSConfig, ServeTLS), the same wire client over a tls.Client connection"},
	{Name: "raw-tls", Server: "raw-tls", Dial: dialWireTLS, TLS: true,
		Workloads: tlsWorkloads,
		About:     "the raw server behind crypto/tls (tls.NewListener), the same TLS wire client: TLS's own limit"},
	{Name: "grpc-tls", Server: "grpc-tls", Dial: dialGRPCTLS, TLS: true,
		Workloads: tlsWorkloads,
		About:     "gRPC-go with TLS transport credentials (credentials.NewTLS), grpc.ClientConn"},
}

// tlsWorkloads are the workloads of the TLS rows.
var tlsWorkloads = []string{"seq", "conc", "pipe", "idle"}

// baselineTarget is the name of the row of the endpoint as of the -baseline
// commit; the ratio of "endpoint" to it is the current server over the
// baseline.
const baselineTarget = "endpoint-base"

// selectTargets returns the targets named in the comma-separated list, in
// table order. With a baseline, the baseline rows are added if not named;
// without one, naming one is an error.
func selectTargets(list string, baseline bool) ([]*Target, error) {
	names, err := splitList(list, "target", func(n string) bool {
		return slices.ContainsFunc(allTargets, func(t *Target) bool { return t.Name == n })
	})
	if err != nil {
		return nil, err
	}
	var ts []*Target
	for _, t := range allTargets {
		switch {
		case t.Baseline && !baseline && slices.Contains(names, t.Name):
			return nil, fmt.Errorf("target %s is the endpoint built from an earlier commit: it needs -baseline REV", t.Name)
		case t.Baseline && baseline, slices.Contains(names, t.Name):
			ts = append(ts, t)
		}
	}
	return ts, nil
}

// splitList splits a comma-separated list and checks every name with known.
func splitList(list, what string, known func(string) bool) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !known(n) {
			return nil, fmt.Errorf("unknown %s %q", what, n)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no %s given", what)
	}
	return names, nil
}
