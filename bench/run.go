package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// run takes every measurement: for each round, for each workload, for each
// target in a shuffled order.
func run(cfg *config) (*Report, error) {
	if cfg.Rounds < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.IdleConns < 1 {
		return nil, fmt.Errorf("need -rounds ≥ 1, -duration > 0, -warmup ≥ 0, -idle-conns ≥ 1")
	}
	targets, err := selectTargets(cfg.Targets)
	if err != nil {
		return nil, err
	}
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
