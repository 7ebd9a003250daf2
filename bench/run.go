package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// run takes every measurement: for each round, for each workload, for each
// target in a shuffled order. With -baseline it first builds the baseline's
// bench binary, and removes it at the end; an interrupt then stops the run
// at the next measurement, so that the temporary files go too.
func run(cfg *config) (*Report, error) {
	if cfg.Rounds < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.IdleConns < 1 {
		return nil, fmt.Errorf("need -rounds ≥ 1, -duration > 0, -warmup ≥ 0, -idle-conns ≥ 1")
	}
	targets, err := selectTargets(cfg.Targets, cfg.Baseline != "")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.Name)
	}
	cfg.Targets = strings.Join(names, ",") // as run: with the baseline rows
	workloads, err := selectWorkloads(cfg.Workloads)
	if err != nil {
		return nil, err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, fmt.Errorf("raise the open-file limit: %w", err)
	}
	for _, w := range workloads {
		if w.Idle {
			w.Conns = cfg.IdleConns
			if need := uint64(cfg.IdleConns + 256); limit < need {
				return nil, fmt.Errorf("open-file limit %d is below the %d that -idle-conns %d needs; raise the hard limit (ulimit -Hn)", limit, need, cfg.IdleConns)
			}
		}
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	if cfg.selfExe, err = os.Executable(); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(targets, func(t *Target) bool { return t.TLS }) {
		args, remove, err := tlsFiles()
		if err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
		defer remove()
		cfg.tlsArgs = args
	}
	ctx := context.Background()
	if cfg.Baseline != "" {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			stop() // a second interrupt ends the process at once
		}()
		base, err := startBaseline(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer base.Remove()
	}

	rep := &Report{
		Started: time.Now(),
		Command: strings.TrimSpace("go run . " + strings.Join(os.Args[1:], " ")),
		Config:  cfg,
		Machine: machine(limit),
		Library: libraryRevision(),
	}
	for _, w := range workloads {
		rep.Workloads = append(rep.Workloads, w.Name)
	}
	for _, t := range targets {
		rep.Targets = append(rep.Targets, t.Name)
	}
	total := 0
	for _, w := range workloads {
		for _, t := range targets {
			if t.Supports(w.Name) {
				total += cfg.Rounds
			}
		}
	}
	fmt.Fprintf(os.Stderr, "bench: %d measurements: %d rounds × workloads %s × targets %s, %v each (+%v warm-up); seed %d\n",
		total, cfg.Rounds, cfg.Workloads, cfg.Targets, cfg.Duration, cfg.Warmup, cfg.Seed)

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x656e64706f696e74))
	k := 0
	for round := 1; round <= cfg.Rounds; round++ {
		for _, w := range workloads {
			var order []*Target
			for _, t := range targets {
				if t.Supports(w.Name) {
					order = append(order, t)
				}
			}
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, t := range order {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("interrupted after %d of %d measurements", k, total)
				}
				k++
				m := measure(cfg, round, w, t)
				m.Load1 = load1()
				fmt.Fprintln(os.Stderr, progressLine(k, total, &m))
				rep.Measurements = append(rep.Measurements, m)
			}
		}
	}
	rep.Finished = time.Now()
	rep.Machine.LoadEnd = loadavg()
	rep.summarize()
	return rep, nil
}

// startBaseline builds the bench binary of cfg.Baseline, records its commit
// and path in cfg, and checks that it serves the baseline rows' servers.
func startBaseline(ctx context.Context, cfg *config) (*baseline, error) {
	start := time.Now()
	b, err := buildBaseline(ctx, cfg.Baseline)
	if err != nil {
		return nil, err
	}
	cfg.BaselineCommit, cfg.baselineExe = b.Commit, b.Exe
	for _, t := range allTargets {
		if !t.Baseline {
			continue
		}
		srv, err := startServer(b.Exe, t.Server, "", time.Minute)
		if err == nil {
			err = srv.Stop()
		}
		if err != nil {
			b.Remove()
			return nil, fmt.Errorf("-baseline %s (%s): its bench binary does not serve %s: %v", b.Rev, b.Short(), t.Server, err)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: -baseline %s: built and checked in %v; worktree removed\n",
		b.Rev, time.Since(start).Round(100*time.Millisecond))
	return b, nil
}
