package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// A Measurement is one figure of one round: a target under a workload.
type Measurement struct {
	Round     int     `json:"round"`
	Workload  string  `json:"workload"`
	Target    string  `json:"target"`
	Conns     int     `json:"conns"`
	Ops       int64   `json:"ops,omitempty"` // requests answered; for idle, connections opened
	Seconds   float64 `json:"seconds,omitempty"`
	OpsPerSec float64 `json:"ops_per_sec,omitempty"`
	P50Micros float64 `json:"p50_us,omitempty"`
	P99Micros float64 `json:"p99_us,omitempty"`
	// For idle: the server's RSS before and after opening the connections,
	// and the difference per connection.
	RSSBefore  int64   `json:"rss_before_bytes,omitempty"`
	RSSAfter   int64   `json:"rss_after_bytes,omitempty"`
	RSSPerConn float64 `json:"rss_per_conn_bytes,omitempty"`
	// Also for idle, per connection: the growth of the Go heap and of
	// goroutine stacks in use (after a GC), and of the goroutine count.
	HeapPerConn       float64 `json:"heap_per_conn_bytes,omitempty"`
	StackPerConn      float64 `json:"stack_per_conn_bytes,omitempty"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn,omitempty"`
	// Load1 is the machine's one-minute load average as the measurement
	// ended: on a shared machine, a hint of how much else was running.
	Load1 float64 `json:"loadavg_1m"`
	// Error, if set, says why the measurement failed; it is then no data point.
	Error string `json:"error,omitempty"`
}

// OK reports whether m is a data point.
func (m *Measurement) OK() bool { return m.Error == "" }

// Value is m's headline figure: ops/s, or bytes per idle connection.
func (m *Measurement) Value() float64 { return headline(m.Workload, m.OpsPerSec, m.RSSPerConn) }

// headline picks a workload's headline figure: bytes per connection for idle,
// ops/s for the others.
func headline(workload string, opsPerSec, rssPerConn float64) float64 {
	if workload == "idle" {
		return rssPerConn
	}
	return opsPerSec
}

// A Median is the median over the rounds of one target's figures under one
// workload.
type Median struct {
	Workload   string  `json:"workload"`
	Target     string  `json:"target"`
	Rounds     int     `json:"rounds"` // rounds that gave a data point
	OpsPerSec  float64 `json:"ops_per_sec,omitempty"`
	P50Micros  float64 `json:"p50_us,omitempty"`
	P99Micros  float64 `json:"p99_us,omitempty"`
	RSSPerConn float64 `json:"rss_per_conn_bytes,omitempty"`
	// For idle, the medians of the Go runtime's figures per connection.
	HeapPerConn       float64 `json:"heap_per_conn_bytes,omitempty"`
	StackPerConn      float64 `json:"stack_per_conn_bytes,omitempty"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn,omitempty"`
}

// Value is the median's headline figure, as Measurement.Value.
func (m *Median) Value() float64 { return headline(m.Workload, m.OpsPerSec, m.RSSPerConn) }

// A Ratio compares two targets under one workload: the median over rounds of
// the per-round ratio of A's figure to B's (both measured in the same round).
// For idle the figure is bytes per connection, so lower is better.
type Ratio struct {
	Workload string  `json:"workload"`
	A        string  `json:"a"`
	B        string  `json:"b"`
	Ratio    float64 `json:"ratio"`
	Rounds   int     `json:"rounds"` // rounds where both gave a data point
	// Min and Max are the lowest and highest per-round ratios: the spread.
	Min float64 `json:"min,omitempty"`
	Max float64 `json:"max,omitempty"`
}

// A variantRatio is A's figure over B's, two variants of the endpoint server.
type variantRatio struct {
	A, B  string
	About string // what the ratio shows
}

// variantRatios compare variants of the endpoint server with each other, to
// show what a feature costs; the tables show them beside the ratios to peers.
var variantRatios = []variantRatio{
	{"endpoint", "endpoint-nostats", "stats on ÷ off (target ≥ 0.95)"},
	{"endpoint-mw", "endpoint", "one allow-list middleware ÷ none"},
	{"endpoint-tls", "raw-tls", "TLS: the endpoint ÷ raw behind crypto/tls (target ≥ 0.9; idle: RSS, ≤ 1)"},
	{"endpoint-tls", "grpc-tls", "TLS: the endpoint ÷ gRPC with TLS"},
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	FileLimit  uint64 `json:"file_limit"`
	// LoadStart and LoadEnd are /proc/loadavg as the run started and ended.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

// A Report is everything a run produced; it is written as the JSON file.
type Report struct {
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished"`
	Command      string        `json:"command"`
	Library      string        `json:"library_revision"` // git revision of the library measured
	Config       *config       `json:"config"`
	Machine      Machine       `json:"machine"`
	Workloads    []string      `json:"workloads"`
	Targets      []string      `json:"targets"`
	Measurements []Measurement `json:"measurements"`
	Medians      []Median      `json:"medians"`
	Ratios       []Ratio       `json:"ratios"`
	Goals        []Goal        `json:"goals"`
	Failures     int           `json:"failures"`
}

// summarize computes the medians, the ratios and the goals from the
// measurements. The endpoint is compared with every other target, and every
// target with raw (for the chart).
func (r *Report) summarize() {
	r.Medians, r.Ratios, r.Failures = nil, nil, 0
	for _, m := range r.Measurements {
		if !m.OK() {
			r.Failures++
		}
	}
	for _, w := range r.Workloads {
		for _, t := range r.Targets {
			var ms []Measurement
			for _, m := range r.Measurements {
				if m.Workload == w && m.Target == t && m.OK() {
					ms = append(ms, m)
				}
			}
			if len(ms) == 0 {
				continue
			}
			r.Medians = append(r.Medians, Median{
				Workload:          w,
				Target:            t,
				Rounds:            len(ms),
				OpsPerSec:         median(ms, func(m Measurement) float64 { return m.OpsPerSec }),
				P50Micros:         median(ms, func(m Measurement) float64 { return m.P50Micros }),
				P99Micros:         median(ms, func(m Measurement) float64 { return m.P99Micros }),
				RSSPerConn:        median(ms, func(m Measurement) float64 { return m.RSSPerConn }),
				HeapPerConn:       median(ms, func(m Measurement) float64 { return m.HeapPerConn }),
				StackPerConn:      median(ms, func(m Measurement) float64 { return m.StackPerConn }),
				GoroutinesPerConn: median(ms, func(m Measurement) float64 { return m.GoroutinesPerConn }),
			})
		}
		for _, b := range r.Targets {
			for _, a := range []string{"endpoint", sessionGobTarget} {
				if a != b {
					r.addRatio(w, a, b)
				}
			}
			if b != "raw" {
				r.addRatio(w, b, "raw")
			}
		}
		for _, v := range variantRatios {
			r.addRatio(w, v.A, v.B)
		}
	}
	r.Goals = evalGoals(r)
}

// addRatio adds the ratio of a to b under workload w, if some round measured
// both.
func (r *Report) addRatio(w, a, b string) {
	if r.findRatio(w, a, b) != nil {
		return
	}
	if rs := r.roundRatios(w, a, b); len(rs) > 0 {
		r.Ratios = append(r.Ratios, Ratio{Workload: w, A: a, B: b, Ratio: medianOf(rs), Rounds: len(rs),
			Min: slices.Min(rs), Max: slices.Max(rs)})
	}
}

// pairedRatio returns the median over rounds of a's figure over b's under
// workload w, taking only rounds where both gave a data point, and how many
// rounds that was.
func (r *Report) pairedRatio(w, a, b string) (float64, int) {
	rs := r.roundRatios(w, a, b)
	return medianOf(rs), len(rs)
}

// roundRatios returns a's figure over b's under workload w in every round
// where both gave a data point.
func (r *Report) roundRatios(w, a, b string) []float64 {
	byRound := map[int]float64{}
	for _, m := range r.Measurements {
		if m.Workload == w && m.Target == b && m.OK() && m.Value() != 0 {
			byRound[m.Round] = m.Value()
		}
	}
	var rs []float64
	for _, m := range r.Measurements {
		if bv, ok := byRound[m.Round]; ok && m.Workload == w && m.Target == a && m.OK() {
			rs = append(rs, m.Value()/bv)
		}
	}
	return rs
}

// findMedian returns the median of target t under workload w, or nil.
func (r *Report) findMedian(w, t string) *Median {
	for i := range r.Medians {
		if r.Medians[i].Workload == w && r.Medians[i].Target == t {
			return &r.Medians[i]
		}
	}
	return nil
}

// findRatio returns the ratio of a to b under workload w, or nil.
func (r *Report) findRatio(w, a, b string) *Ratio {
	for i := range r.Ratios {
		if x := &r.Ratios[i]; x.Workload == w && x.A == a && x.B == b {
			return x
		}
	}
	return nil
}

// median returns the median of f over ms.
func median(ms []Measurement, f func(Measurement) float64) float64 {
	vs := make([]float64, len(ms))
	for i, m := range ms {
		vs[i] = f(m)
	}
	return medianOf(vs)
}

// medianOf returns the median of vs (the mean of the middle two for an even
// count), or 0 for none.
func medianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// writeJSON writes the report to path, creating its directory.
func (r *Report) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
