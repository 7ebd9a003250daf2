package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
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
	// HeapProfile, if set, samples every allocation, and each memstats
	// command also writes a heap profile (see writeHeapProfile).
	HeapProfile string
	// TLSCert and TLSKey are PEM files of the TLS rows' certificate (see
	// tls.go); without them a TLS server makes its own.
	TLSCert, TLSKey string
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
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if err := loadTLS(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	if cfg.HeapProfile != "" {
		runtime.MemProfileRate = 1
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
		readCommands(os.Stdin, cfg.HeapProfile)
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

// readCommands answers the parent's commands on r until r ends. With
// heapProfile set, each memstats command also writes a heap profile.
func readCommands(r io.Reader, heapProfile string) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		if sc.Text() != memStatsCommand {
			continue
		}
		n++
		runtime.GC()
		if heapProfile != "" {
			if err := writeHeapProfile(heapProfilePath(heapProfile, n)); err != nil {
				fmt.Fprintf(os.Stderr, "bench: heap profile: %v\n", err)
			}
		}
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

// heapProfilePath is where the n-th memstats command's heap profile goes:
// the idle workload asks twice, before and after opening its connections,
// so the first goes to base with "-before" added to its name, and the
// second (and any later one) to base. With every allocation sampled, the
// difference of the two (go tool pprof -base) is what the connections hold.
func heapProfilePath(base string, n int) string {
	if n == 1 {
		ext := filepath.Ext(base)
		return strings.TrimSuffix(base, ext) + "-before" + ext
	}
	return base
}

// writeHeapProfile writes the heap profile, as of the last GC, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
