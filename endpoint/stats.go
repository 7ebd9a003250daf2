package endpoint

import (
	"errors"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
)

// LatencyBounds are the upper bounds of the buckets of every latency
// histogram in Stats; a last bucket, unbounded, holds the rest.
var LatencyBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Kinds of protocol error, the keys of Stats.ProtocolErrors.
const (
	KindLineTooLong     = "line_too_long"
	KindPayloadTooLarge = "payload_too_large"
	KindGobRefused      = "gob_refused"
	KindBadPayload      = "bad_payload"
	KindIncomplete      = "incomplete"
	KindIdleTimeout     = "idle_timeout"
	KindOther           = "other"
)

// protocolKinds are the kinds in the order of counters.protocol; the k*
// constants index both.
var protocolKinds = [...]string{kLineTooLong: KindLineTooLong, kPayloadTooLarge: KindPayloadTooLarge,
	kGobRefused: KindGobRefused, kBadPayload: KindBadPayload, kIncomplete: KindIncomplete,
	kIdleTimeout: KindIdleTimeout, kOther: KindOther}

const (
	kLineTooLong = iota
	kPayloadTooLarge
	kGobRefused
	kBadPayload
	kIncomplete
	kIdleTimeout
	kOther
)

// Reasons a connection is refused, the keys of Stats.Refused.
const (
	RefusedTooManyConns = "too_many_connections"
)

// Stats is a snapshot of an Endpoint's figures since it was made, as
// Endpoint.Stats returns them. Counts are exact; a latency histogram holds
// every request that began after the connection waited for it, and one in
// sampleEvery of those that were already buffered (pipelined), since reading
// the clock would cost a pipelined request a sixth of its time.
type Stats struct {
	Connections    int64            // connections open now, request/reply and hijacked together
	Members        int64            // hijacked connections (chat members) open now
	Accepted       int64            // connections accepted
	Refused        map[string]int64 // connections refused, by reason (RefusedTooManyConns)
	Requests       int64            // requests answered, of every command, unknown ones included
	Errors         int64            // ERR lines sent, refusals of connections included
	Panics         int64            // handlers that panicked
	ProtocolErrors map[string]int64 // errors that closed a connection, by kind (KindLineTooLong, ...)
	SlowMembers    int64            // Streams disconnected because their peer read too slowly
	Commands       map[string]CommandStats
}

// CommandStats are one command's figures. Unknown commands are counted under
// the name "unknown".
type CommandStats struct {
	Requests int64 // requests answered
	Errors   int64 // of them, answered with an ERR line
	Latency  Histogram
}

// A Histogram counts durations into the buckets of LatencyBounds.
type Histogram struct {
	Counts [len(LatencyBounds) + 1]int64 // Counts[i]: durations at most LatencyBounds[i] and over the bound before; the last, the rest
	Count  int64                         // the durations counted
	Sum    time.Duration                 // their sum
}

// sampleEvery is how often a pipelined request's latency is measured.
const sampleEvery = 16

// counters are the Endpoint's figures, counted without locks.
type counters struct {
	accepted, refusedTooMany, requests, errors, panics, slow atomic.Int64
	protocol                                                 [len(protocolKinds)]atomic.Int64
	unknown                                                  commandCounters
}

// commandCounters are one command's figures, counted without locks.
type commandCounters struct {
	requests, errors atomic.Int64
	buckets          [len(LatencyBounds) + 1]atomic.Int64
	count, sum       atomic.Int64
}

// observe counts a request's latency.
func (cc *commandCounters) observe(d time.Duration) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	cc.buckets[i].Add(1)
	cc.count.Add(1)
	cc.sum.Add(int64(d))
}

func (cc *commandCounters) snapshot() CommandStats {
	s := CommandStats{Requests: cc.requests.Load(), Errors: cc.errors.Load()}
	for i := range cc.buckets {
		s.Latency.Counts[i] = cc.buckets[i].Load()
	}
	s.Latency.Count = cc.count.Load()
	s.Latency.Sum = time.Duration(cc.sum.Load())
	return s
}

// protocolKind is a protocol error's kind (an index of protocolKinds),
// judged in the order errText judges its text.
func protocolKind(err error) int {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, ErrIdleTimeout):
		return kIdleTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return kIncomplete
	case errors.Is(err, codec.ErrLineTooLong):
		return kLineTooLong
	case errors.Is(err, codec.ErrPayloadTooLarge):
		return kPayloadTooLarge
	case errors.Is(err, codec.ErrGobRefused):
		return kGobRefused
	case errors.Is(err, ErrBadPayload):
		return kBadPayload
	}
	return kOther
}

// Stats returns a snapshot of the endpoint's figures.
func (e *Endpoint) Stats() Stats {
	e.init()
	c := &e.counters
	s := Stats{
		Accepted:       c.accepted.Load(),
		Refused:        map[string]int64{RefusedTooManyConns: c.refusedTooMany.Load()},
		Requests:       c.requests.Load(),
		Errors:         c.errors.Load(),
		Panics:         c.panics.Load(),
		ProtocolErrors: make(map[string]int64, len(protocolKinds)),
		SlowMembers:    c.slow.Load(),
		Commands:       map[string]CommandStats{"unknown": c.unknown.snapshot()},
	}
	for i, k := range protocolKinds {
		s.ProtocolErrors[k] = c.protocol[i].Load()
	}
	for name, r := range *e.routes.Load() {
		s.Commands[name] = r.stats.snapshot()
	}
	e.mu.Lock()
	s.Connections = int64(e.serving + e.members)
	s.Members = int64(e.members)
	e.mu.Unlock()
	return s
}

// CommandNames returns the commands of s, sorted.
func (s Stats) CommandNames() []string {
	names := make([]string, 0, len(s.Commands))
	for n := range s.Commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
