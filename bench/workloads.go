package main

import (
	"slices"
	"sync/atomic"
	"time"
)

// A Workload is one column of the results: a way of loading a server.
type Workload struct {
	Name  string
	About string
	Conns int // client connections
	Depth int // requests in flight per connection, for pipelining
	// Latency records each request's latency, for p50 and p99.
	Latency bool
	// Idle measures memory per idle connection instead of throughput.
	Idle bool
	// loop runs requests on one connection until stop is set and returns how
	// many completed; lat, if not nil, receives each request's latency.
	loop func(c Conn, w *Workload, stop *atomic.Bool, lat *[]time.Duration) (int64, error)
}

// allWorkloads are the columns, in the order they run within a round.
var allWorkloads = []*Workload{
	{Name: "seq", Conns: 1, Latency: true, loop: callLoop(Conn.String),
		About: "1 connection, sequential STRING round trips, 64-byte payload: ops/s, p50, p99"},
	{Name: "conc", Conns: 32, loop: callLoop(Conn.String),
		About: "32 connections, each sequential STRING: ops/s"},
	{Name: "pipe", Conns: 4, Depth: 128, loop: pipeLoop,
		About: "4 connections, 128 STRING requests in flight on each: ops/s"},
	{Name: "gob", Conns: 8, loop: callLoop(Conn.Gob),
		About: "8 connections, each sequential nested-struct calls: ops/s"},
	{Name: "idle", Conns: 2000, Idle: true,
		About: "server RSS per idle connection, over 2,000 connections that each made one round trip"},
}

// maxLatencySamples bounds the latencies kept per connection.
const maxLatencySamples = 4 << 20

// callLoop makes op, one request and its reply, a workload's loop.
func callLoop(op func(Conn) error) func(Conn, *Workload, *atomic.Bool, *[]time.Duration) (int64, error) {
	return func(c Conn, _ *Workload, stop *atomic.Bool, lat *[]time.Duration) (int64, error) {
		var n int64
		for n < maxOpsPerLoop && !stop.Load() {
			if lat != nil && len(*lat) < maxLatencySamples {
				t0 := time.Now()
				if err := op(c); err != nil {
					return n, err
				}
				*lat = append(*lat, time.Since(t0))
			} else if err := op(c); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
}

// pipeLoop keeps w.Depth requests in flight, as the connection's client
// pipelines.
func pipeLoop(c Conn, w *Workload, stop *atomic.Bool, _ *[]time.Duration) (int64, error) {
	return c.Pipe(w.Depth, stop)
}

// selectWorkloads returns the workloads named in the comma-separated list, in
// run order.
func selectWorkloads(list string) ([]*Workload, error) {
	names, err := splitList(list, "workload", func(n string) bool {
		return slices.ContainsFunc(allWorkloads, func(w *Workload) bool { return w.Name == n })
	})
	if err != nil {
		return nil, err
	}
	var ws []*Workload
	for _, w := range allWorkloads {
		if slices.Contains(names, w.Name) {
			c := *w
			ws = append(ws, &c)
		}
	}
	return ws, nil
}

// percentile returns the p-th percentile (0 < p <= 1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
