package main

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Conn is one client connection to a target's server, as the load
// generator sees it. Every method checks each reply: an ERR reply or a wrong
// one is an error, never a data point.
type Conn interface {
	// String makes one STRING round trip with stringPayload.
	String() error
	// Gob makes one nested-struct call with gobPayload.
	Gob() error
	// Pipe keeps depth STRING requests in flight on the connection until stop
	// is set, and returns how many were answered.
	Pipe(depth int, stop *atomic.Bool) (int64, error)
	// Close closes the connection.
	Close() error
}

// maxOpsPerLoop bounds every request loop in count; the duration bounds it in
// time, and whichever comes first ends it.
const maxOpsPerLoop = 1 << 30

// pipeWorkers keeps depth calls in flight on one connection with depth
// goroutines, each calling call in turn until stop is set; it is how the
// clients that match replies to calls themselves (net/rpc, gRPC, the
// endpoint's Client) pipeline. The first error stops every loop.
func pipeWorkers(depth int, stop *atomic.Bool, call func() error) (int64, error) {
	var (
		wg    sync.WaitGroup
		total atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range depth {
		wg.Go(func() {
			var n int64
			defer func() { total.Add(n) }()
			for n < maxOpsPerLoop && !stop.Load() {
				if err := call(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
				n++
			}
		})
	}
	wg.Wait()
	return total.Load(), first
}

// checkReply returns nil when got is want, and otherwise an error that says
// whether the server refused the request or answered it wrongly.
func checkReply(got []byte, want string) error {
	if string(got) == want {
		return nil
	}
	if bytes.HasPrefix(got, []byte("ERR ")) {
		return fmt.Errorf("error reply %.120q", got)
	}
	return fmt.Errorf("wrong reply %.120q, want %.120q", got, want)
}

// checkReplyString is checkReply for a reply held in a string.
func checkReplyString(got, want string) error {
	if got == want {
		return nil
	}
	return checkReply([]byte(got), want)
}
