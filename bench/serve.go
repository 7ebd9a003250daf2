package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// serveConfig is the hidden serve mode's configuration: the parent process
// re-executes this binary with -serve to run one server in its own process.
type serveConfig struct {
	Server     string        // a key of servers
	Addr       string        // where to listen; must be a loopback address
	CPUProfile string        // if set, a CPU profile of the server's life is written here
	MaxLife    time.Duration // the server exits by itself after this long
}

// listeningPrefix starts the one line the serve mode prints on standard
// output, once it listens: the prefix, then the address.
const listeningPrefix = "LISTENING "

// serveMain runs one server until its standard input is closed (the parent
// closes it, or exits), a SIGINT or SIGTERM arrives, or MaxLife passes.
func serveMain(cfg serveConfig) error {
	start, ok := servers[cfg.Server]
	if !ok {
		return fmt.Errorf("unknown server %q", cfg.Server)
	}
	if err := checkLoopback(cfg.Addr); err != nil {
		return err
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		stopProfile, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	stop, err := start(l)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("%s%s\n", listeningPrefix, l.Addr())

	done := make(chan struct{})
	go func() {
		readCommands(os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	life := time.NewTimer(cfg.MaxLife)
	defer life.Stop()
	select {
	case <-done:
	case <-sig:
	case <-life.C:
		fmt.Fprintf(os.Stderr, "bench: %s server: stopping after -max-life %v\n", cfg.Server, cfg.MaxLife)
	}
	return nil
}

// memStatsCommand, a line on the serve mode's standard input, asks for one
// line on standard output: memStatsPrefix and then a goMem in JSON.
const (
	memStatsCommand = "memstats"
	memStatsPrefix  = "MEMSTATS "
)

// goMem is what the Go runtime says of a server's memory, after a GC.
type goMem struct {
	HeapInuse  int64 `json:"heap_inuse"`
	StackInuse int64 `json:"stack_inuse"`
	Goroutines int64 `json:"goroutines"`
}

// readCommands answers the parent's commands on r until r ends.
func readCommands(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() != memStatsCommand {
			continue
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b, _ := json.Marshal(goMem{
			HeapInuse:  int64(ms.HeapInuse),
			StackInuse: int64(ms.StackInuse),
			Goroutines: int64(runtime.NumGoroutine()),
		})
		fmt.Printf("%s%s\n", memStatsPrefix, b)
	}
}

// checkLoopback refuses any listening address that is not on loopback: the
// benchmark's traffic stays on this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: only loopback IP addresses (127.0.0.1) are allowed", addr)
	}
	return nil
}
