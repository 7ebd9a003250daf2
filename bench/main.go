package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// config is the run's configuration, from the command line.
type config struct {
	Rounds     int           `json:"rounds"`
	Duration   time.Duration `json:"duration_ns"`
	Warmup     time.Duration `json:"warmup_ns"`
	Workloads  string        `json:"workloads"`
	Targets    string        `json:"targets"`
	IdleConns  int           `json:"idle_conns"`
	Seed       uint64        `json:"seed"`
	Smoke      bool          `json:"smoke"`
	Out        string        `json:"-"`
	Chart      string        `json:"-"`
	ProfileDir string        `json:"-"`
	ClientProf string        `json:"-"`
	Replot     string        `json:"-"`

	// Baseline is -baseline as given, and BaselineCommit the commit it
	// named: the endpoint-base row's server is the endpoint as of it.
	Baseline       string `json:"baseline,omitempty"`
	BaselineCommit string `json:"baseline_commit,omitempty"`

	// The binaries that run the servers: this one, and for baseline rows
	// the one built from the baseline commit. Set by run.
	selfExe, baselineExe string
	// tlsArgs are the serve flags that hand the TLS rows' servers the run's
	// certificate (see tlsFiles). Set by run when a TLS row runs.
	tlsArgs []string
}

// executable returns the bench binary that runs t's server.
func (cfg *config) executable(t *Target) string {
	if t.Baseline {
		return cfg.baselineExe
	}
	return cfg.selfExe
}

// hiddenFlags configure the serve mode, which only the benchmark itself (or
// someone profiling a server by hand) uses; -help does not list them.
var hiddenFlags = map[string]bool{"serve": true, "addr": true, "cpuprofile": true, "max-life": true,
	"heapprofile": true, "tls-cert": true, "tls-key": true}

func main() {
	mainRun()
	os.Exit(exitCode)
}

// mainRun is main, less the exit: it sets exitCode, or calls os.Exit itself
// for a failure before any profile is started.
func mainRun() {
	var cfg config
	var sc serveConfig
	flag.IntVar(&cfg.Rounds, "rounds", 5, "rounds; each measures every target under every workload once, in a shuffled order")
	flag.DurationVar(&cfg.Duration, "duration", 2*time.Second, "duration of each measurement")
	flag.DurationVar(&cfg.Warmup, "warmup", 300*time.Millisecond, "warm-up before each measurement, not counted")
	flag.StringVar(&cfg.Workloads, "workloads", "seq,conc,pipe,gob,idle", "comma-separated workloads")
	flag.StringVar(&cfg.Targets, "targets", "endpoint,endpoint-client,endpoint-sgob,raw,netrpc,grpc", "comma-separated targets")
	flag.IntVar(&cfg.IdleConns, "idle-conns", 2000, "connections opened by the idle workload")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the order of targets within a round (0: from the clock)")
	flag.BoolVar(&cfg.Smoke, "smoke", false, "every target and workload once, briefly (100ms, 50 idle connections); exit non-zero on any failure")
	flag.StringVar(&cfg.Out, "out", "results/results.json", "JSON file for every figure and the medians")
	flag.StringVar(&cfg.Chart, "chart", "", "PNG chart (default: chart.png beside -out)")
	flag.StringVar(&cfg.ProfileDir, "profile", "", "if set, every server process writes a CPU profile into this directory, and under idle a heap profile (every allocation sampled) before and after opening the connections")
	flag.StringVar(&cfg.ClientProf, "client-cpuprofile", "", "if set, write a CPU profile of this process, the load generator and its clients, here")
	flag.StringVar(&cfg.Baseline, "baseline", "", "also measure the endpoint server as of git revision `REV` (row "+baselineTarget+", added to -targets), built in a temporary worktree; endpoint / "+baselineTarget+" is then the current server over it")
	flag.StringVar(&cfg.Replot, "replot", "", "measure nothing: print the tables and draw the chart (-chart, default beside the file) from this results JSON")
	flag.StringVar(&sc.Server, "serve", "", "serve mode: run this server (endpoint, endpoint-nostats, endpoint-mw, raw, netrpc, grpc, endpoint-tls, raw-tls, grpc-tls)")
	flag.StringVar(&sc.Addr, "addr", "127.0.0.1:0", "serve mode: loopback address to listen on")
	flag.StringVar(&sc.CPUProfile, "cpuprofile", "", "serve mode: write a CPU profile here on exit")
	flag.DurationVar(&sc.MaxLife, "max-life", time.Hour, "serve mode: exit after this long")
	flag.StringVar(&sc.HeapProfile, "heapprofile", "", "serve mode: sample every allocation, and write a heap profile here at each memstats command (the first to NAME-before.prof)")
	flag.StringVar(&sc.TLSCert, "tls-cert", "", "serve mode: PEM certificate of the TLS servers (default: one made at start)")
	flag.StringVar(&sc.TLSKey, "tls-key", "", "serve mode: PEM private key of -tls-cert")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}

	if sc.Server != "" {
		if err := serveMain(sc); err != nil {
			fmt.Fprintf(os.Stderr, "bench: serve %s: %v\n", sc.Server, err)
			os.Exit(1)
		}
		return
	}

	if cfg.Replot != "" {
		if err := replot(cfg.Replot, cfg.Chart); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Smoke {
		smokeDefaults(&cfg, set)
	}
	if cfg.Chart == "" {
		cfg.Chart = filepath.Join(filepath.Dir(cfg.Out), "chart.png")
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.ClientProf != "" {
		stop, err := startCPUProfile(cfg.ClientProf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		defer stop()
	}
	start := time.Now()
	rep, err := run(&cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		exitCode = 1
		return
	}
	rep.printTables(os.Stdout)
	fmt.Println()
	if err := rep.writeJSON(cfg.Out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		exitCode = 1
		return
	}
	fmt.Printf("Wrote %s\n", cfg.Out)
	if err := rep.writeChart(cfg.Chart); err != nil {
		fmt.Fprintf(os.Stderr, "bench: chart: %v\n", err)
		exitCode = 1
		return
	}
	fmt.Printf("Wrote %s\n", cfg.Chart)
	fmt.Fprintf(os.Stderr, "bench: %d measurements, %d failed, in %v\n",
		len(rep.Measurements), rep.Failures, time.Since(start).Round(time.Millisecond))
	if rep.Failures > 0 {
		for _, m := range rep.Measurements {
			if !m.OK() {
				fmt.Fprintf(os.Stderr, "bench: FAILED round %d %s %s: %s\n", m.Round, m.Workload, m.Target, m.Error)
			}
		}
		exitCode = 1
	}
}

// exitCode is the status main exits with once its deferred calls have run.
var exitCode int

// smokeDefaults makes a run brief, for CI, except where a flag was given.
func smokeDefaults(cfg *config, set map[string]bool) {
	if !set["rounds"] {
		cfg.Rounds = 1
	}
	if !set["duration"] {
		cfg.Duration = 100 * time.Millisecond
	}
	if !set["warmup"] {
		cfg.Warmup = 20 * time.Millisecond
	}
	if !set["idle-conns"] {
		cfg.IdleConns = 50
	}
	if !set["targets"] {
		// Every row, the variants that a full run leaves out included.
		var names []string
		for _, t := range allTargets {
			if !t.Baseline {
				names = append(names, t.Name)
			}
		}
		cfg.Targets = strings.Join(names, ",")
	}
	if !set["out"] {
		// Keep the figures of a real run where they are.
		cfg.Out = filepath.Join(os.TempDir(), "endpoint-bench-smoke", "results.json")
	}
}

// usage prints the command's flags, less the serve mode's.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage: go run . [flags]\n\nMeasures the endpoint against its peers; see BENCHMARKS.md.\n\nTargets:\n")
	for _, t := range allTargets {
		fmt.Fprintf(out, "  %-16s %s\n", t.Name, t.About)
	}
	fmt.Fprintf(out, "\nWorkloads:\n")
	for _, w := range allWorkloads {
		fmt.Fprintf(out, "  %-6s %s\n", w.Name, w.About)
	}
	fmt.Fprintf(out, "\nFlags:\n")
	flag.VisitAll(func(f *flag.Flag) {
		if hiddenFlags[f.Name] {
			return
		}
		name, use := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  -%s", f.Name)
		if name != "" {
			fmt.Fprintf(out, " %s", name)
		}
		fmt.Fprintf(out, "\n    \t%s", use)
		switch {
		case f.DefValue == "" || f.DefValue == "false" || f.DefValue == "0":
		case name == "string":
			fmt.Fprintf(out, " (default %q)", f.DefValue)
		default:
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}
