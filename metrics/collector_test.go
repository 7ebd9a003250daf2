package metrics_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// fakeStats are figures in which every count differs, so that a figure
// reported under the wrong name shows.
func fakeStats() endpoint.Stats {
	var ping endpoint.Histogram
	ping.Counts[0] = 3                           // at most 10µs
	ping.Counts[2] = 4                           // over 25µs, at most 50µs
	ping.Counts[len(endpoint.LatencyBounds)] = 2 // over the last bound
	ping.Count = 10                              // read after a request more was observed
	ping.Sum = 3*5*time.Microsecond + 4*40*time.Microsecond + 2*20*time.Second
	return endpoint.Stats{
		Connections: 7, Members: 2, Accepted: 40,
		Refused:  map[string]int64{endpoint.RefusedTooManyConns: 5},
		Requests: 31, Errors: 13, Panics: 1,
		ProtocolErrors: map[string]int64{endpoint.KindLineTooLong: 6, endpoint.KindIdleTimeout: 0},
		SlowMembers:    3,
		Commands: map[string]endpoint.CommandStats{
			"PING":    {Requests: 20, Errors: 0, Latency: ping},
			"unknown": {Requests: 11, Errors: 11},
		},
	}
}

func TestCollectorReportsEveryFigure(t *testing.T) {
	reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
	reg.MustRegister(metrics.NewStatsCollector(fakeStats))
	const want = `
# HELP endpoint_chat_members Chat members (hijacked connections) open now.
# TYPE endpoint_chat_members gauge
endpoint_chat_members 2
# HELP endpoint_connections_accepted_total Connections accepted, those refused afterwards included.
# TYPE endpoint_connections_accepted_total counter
endpoint_connections_accepted_total 40
# HELP endpoint_connections_open Connections open now, request/reply and chat members together.
# TYPE endpoint_connections_open gauge
endpoint_connections_open 7
# HELP endpoint_connections_refused_total Connections refused, by reason.
# TYPE endpoint_connections_refused_total counter
endpoint_connections_refused_total{reason="too_many_connections"} 5
# HELP endpoint_error_replies_total ERR lines sent, those of refused connections and protocol errors included.
# TYPE endpoint_error_replies_total counter
endpoint_error_replies_total 13
# HELP endpoint_panics_total Handlers that panicked.
# TYPE endpoint_panics_total counter
endpoint_panics_total 1
# HELP endpoint_protocol_errors_total Protocol errors that closed a connection, by kind.
# TYPE endpoint_protocol_errors_total counter
endpoint_protocol_errors_total{kind="idle_timeout"} 0
endpoint_protocol_errors_total{kind="line_too_long"} 6
# HELP endpoint_request_errors_total Requests answered with an ERR line, by command.
# TYPE endpoint_request_errors_total counter
endpoint_request_errors_total{command="PING"} 0
endpoint_request_errors_total{command="unknown"} 11
# HELP endpoint_requests_total Requests answered, by command; unregistered names count as unknown.
# TYPE endpoint_requests_total counter
endpoint_requests_total{command="PING"} 20
endpoint_requests_total{command="unknown"} 11
# HELP endpoint_slow_members_disconnected_total Chat members disconnected because they read too slowly.
# TYPE endpoint_slow_members_disconnected_total counter
endpoint_slow_members_disconnected_total 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"endpoint_chat_members", "endpoint_connections_accepted_total", "endpoint_connections_open",
		"endpoint_connections_refused_total", "endpoint_error_replies_total", "endpoint_panics_total",
		"endpoint_protocol_errors_total", "endpoint_request_errors_total", "endpoint_requests_total",
		"endpoint_slow_members_disconnected_total"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 15 {
		t.Fatalf("gathered %d series (%v), want 15", n, err)
	}
}

func TestCollectorHistogramIsCumulativeInSeconds(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewStatsCollector(fakeStats))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	for _, f := range families {
		if f.GetName() != "endpoint_request_duration_seconds" {
			continue
		}
		if f.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("type %v, want a histogram", f.GetType())
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == "PING" {
				h = m.GetHistogram()
			}
		}
	}
	if h == nil {
		t.Fatal("no PING histogram")
	}
	// The count is the buckets' total, not Histogram.Count, so that no
	// bucket exceeds it.
	if h.GetSampleCount() != 9 {
		t.Errorf("count %d, want 9", h.GetSampleCount())
	}
	wantSum := (15*time.Microsecond + 160*time.Microsecond + 40*time.Second).Seconds()
	if math.Abs(h.GetSampleSum()-wantSum) > 1e-12 {
		t.Errorf("sum %v, want %v", h.GetSampleSum(), wantSum)
	}
	buckets := h.GetBucket()
	if len(buckets) != len(endpoint.LatencyBounds) {
		t.Fatalf("%d buckets, want %d (and +Inf, implied)", len(buckets), len(endpoint.LatencyBounds))
	}
	for i, b := range buckets {
		want := uint64(7)
		switch {
		case i < 2:
			want = 3
		}
		if b.GetUpperBound() != endpoint.LatencyBounds[i].Seconds() || b.GetCumulativeCount() != want {
			t.Errorf("bucket %d: le=%v count %d, want le=%v count %d", i,
				b.GetUpperBound(), b.GetCumulativeCount(), endpoint.LatencyBounds[i].Seconds(), want)
		}
	}
	if buckets[0].GetUpperBound() != 1e-5 || buckets[len(buckets)-1].GetUpperBound() != 10 {
		t.Errorf("bounds %v to %v, want 1e-05 to 10 seconds", buckets[0].GetUpperBound(), buckets[len(buckets)-1].GetUpperBound())
	}
}

// The collector reads the figures once per scrape, however many metrics it
// reports.
func TestCollectorReadsStatsOncePerScrape(t *testing.T) {
	calls := 0
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewStatsCollector(func() endpoint.Stats { calls++; return fakeStats() }))
	for range 3 {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 3 {
		t.Fatalf("Stats read %d times in 3 scrapes, want 3", calls)
	}
}
