package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds on one measurement, beyond its warm-up and duration.
const (
	dialTimeout   = 10 * time.Second
	loadGrace     = 30 * time.Second // a throughput measurement's slack before the watchdog
	idleGrace     = 3 * time.Minute  // opening thousands of connections takes a while
	idleSettle    = 500 * time.Millisecond
	idleDialers   = 8 // connections opened at once by the idle workload
	serverMaxLife = 15 * time.Minute
)

// measure takes one figure: it starts t's server in a fresh process, loads it
// with w from this process, and stops it. A watchdog kills the server if the
// measurement overruns, which makes every client call fail, so a hung server
// cannot stall the run. Any error is recorded in the measurement.
func measure(cfg *config, round int, w *Workload, t *Target) Measurement {
	m := Measurement{Round: round, Workload: w.Name, Target: t.Name, Conns: w.Conns}
	profile := ""
	var extra []string
	if t.TLS {
		extra = append(extra, cfg.tlsArgs...)
	}
	if cfg.ProfileDir != "" {
		profile = filepath.Join(cfg.ProfileDir, fmt.Sprintf("cpu-%s-%s-r%d.prof", t.Name, w.Name, round))
		if w.Idle && !t.Baseline { // a baseline's binary may not know -heapprofile
			extra = append(extra, "-heapprofile",
				filepath.Join(cfg.ProfileDir, fmt.Sprintf("heap-%s-%s-r%d.prof", t.Name, w.Name, round)))
		}
	}
	srv, err := startServer(cfg.executable(t), t.Server, profile, serverMaxLife, extra...)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	limit := cfg.Warmup + cfg.Duration + loadGrace
	if w.Idle {
		limit = idleGrace
	}
	var overran atomic.Bool
	watchdog := time.AfterFunc(limit, func() {
		overran.Store(true)
		srv.Kill()
	})
	if w.Idle {
		err = measureIdle(&m, srv, t, w.Conns)
	} else {
		err = measureLoad(&m, cfg, srv, t, w)
	}
	watchdog.Stop()
	if overran.Load() {
		err = fmt.Errorf("measurement overran %v: server killed (%v)", limit, err)
	}
	if serr := srv.Stop(); serr != nil && err == nil {
		err = fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		m.Error = err.Error()
	}
	return m
}

// measureLoad opens w.Conns connections (handles on one shared client of
// w.Conns connections, for a target with Shared), warms up, then runs w's loop
// on every connection for cfg.Duration.
func measureLoad(m *Measurement, cfg *config, srv *serverProc, t *Target, w *Workload) error {
	if t.Shared != nil {
		dial, closeShared := t.Shared(srv.Addr, w.Conns)
		defer closeShared() // after closeAll, deferred below
		shared := *t
		shared.Dial = dial
		t = &shared
	}
	conns, err := dialAll(t, srv.Addr, w.Conns, w.Conns, nil)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	if cfg.Warmup > 0 {
		if _, _, err := drive(conns, w, cfg.Warmup, nil); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var lats [][]time.Duration
	if w.Latency {
		lats = make([][]time.Duration, len(conns))
	}
	ops, elapsed, err := drive(conns, w, cfg.Duration, lats)
	if err != nil {
		return err
	}
	m.Ops = ops
	m.Seconds = elapsed.Seconds()
	m.OpsPerSec = float64(ops) / elapsed.Seconds()
	if w.Latency {
		all := slices.Concat(lats...)
		slices.Sort(all)
		m.P50Micros = float64(percentile(all, 0.50).Nanoseconds()) / 1e3
		m.P99Micros = float64(percentile(all, 0.99).Nanoseconds()) / 1e3
	}
	return nil
}

// drive runs w's loop on every connection at once for d and returns the
// requests completed and the time they took. The first error stops all loops.
func drive(conns []Conn, w *Workload, d time.Duration, lats [][]time.Duration) (int64, time.Duration, error) {
	var stop atomic.Bool
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	ops := make([]int64, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Go(func() {
			var lat *[]time.Duration
			if lats != nil {
				lats[i] = make([]time.Duration, 0, 1<<16)
				lat = &lats[i]
			}
			ops[i], errs[i] = w.loop(c, w, &stop, lat)
			if errs[i] != nil {
				stop.Store(true)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total int64
	for _, n := range ops {
		total += n
	}
	return total, elapsed, firstError(errs)
}

// measureIdle reads the server's RSS, opens n connections that each make one
// STRING round trip and then stay idle, and reads the RSS again: the
// difference over n is the memory an idle connection costs. One connection
// opened before the first reading absorbs one-time costs. The Go runtime's
// own figures (heap and stacks in use after a GC, goroutines), read after
// each RSS reading, say where the memory goes.
func measureIdle(m *Measurement, srv *serverProc, t *Target, n int) error {
	warm, err := dialAll(t, srv.Addr, 1, 1, Conn.String)
	defer closeAll(warm)
	if err != nil {
		return err
	}
	time.Sleep(idleSettle)
	before, err := srv.RSS()
	if err != nil {
		return err
	}
	goBefore, err := srv.MemStats()
	if err != nil {
		return err
	}
	conns, err := dialAll(t, srv.Addr, n, idleDialers, Conn.String)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	time.Sleep(idleSettle)
	after, err := srv.RSS()
	if err != nil {
		return err
	}
	goAfter, err := srv.MemStats()
	if err != nil {
		return err
	}
	m.HeapPerConn = float64(goAfter.HeapInuse-goBefore.HeapInuse) / float64(n)
	m.StackPerConn = float64(goAfter.StackInuse-goBefore.StackInuse) / float64(n)
	m.GoroutinesPerConn = float64(goAfter.Goroutines-goBefore.Goroutines) / float64(n)
	m.Ops = int64(n)
	m.RSSBefore, m.RSSAfter = before, after
	m.RSSPerConn = float64(after-before) / float64(n)
	return nil
}

// dialAll opens n connections to the target's server, par at a time, and
// makes each do first, if not nil. It returns the connections opened even on
// error, for the caller to close.
func dialAll(t *Target, addr string, n, par int, first func(Conn) error) ([]Conn, error) {
	conns := make([]Conn, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
				c, err := t.Dial(ctx, addr)
				cancel()
				if err != nil {
					errs[i] = fmt.Errorf("dial %s: %w", addr, err)
					next.Store(int64(n)) // stop the other dialers
					return
				}
				conns[i] = c
				if first != nil {
					if err := first(c); err != nil {
						errs[i] = fmt.Errorf("first request: %w", err)
						next.Store(int64(n))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return slices.DeleteFunc(conns, func(c Conn) bool { return c == nil }), firstError(errs)
}

// closeAll closes every connection.
func closeAll(conns []Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// firstError returns the first non-nil error of errs, noting how many more
// there were.
func firstError(errs []error) error {
	var first error
	more := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case first == nil:
			first = err
		default:
			more++
		}
	}
	if more > 0 {
		return fmt.Errorf("%w (and %d more errors)", first, more)
	}
	return first
}
