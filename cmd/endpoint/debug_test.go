package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// debugRE matches the debug server's "listening" log line.
var debugRE = regexp.MustCompile(`level=INFO msg="debug server listening" addr=(\S+)`)

// debugURL waits for the debug server's "listening" line and returns its base
// URL.
func (p *proc) debugURL(t testing.TB) string {
	t.Helper()
	return "http://" + p.waitLog(t, debugRE)[1]
}

// get fetches url and returns the status and body; every request is bounded
// by waitTimeout.
func get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: waitTimeout}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, body
}

// scrape fetches and parses the Prometheus text at url.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", url, code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return families
}

// value returns the value of the counter or gauge of family name whose one
// label has the value label ("" for a metric with no labels), failing the
// test when there is none.
func value(t testing.TB, families map[string]*dto.MetricFamily, name, label string) int64 {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		if got := labelValue(m); got != label {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return int64(m.GetCounter().GetValue())
		case m.GetGauge() != nil:
			return int64(m.GetGauge().GetValue())
		}
	}
	t.Fatalf("no %s{%q}", name, label)
	return 0
}

func labelValue(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	return m.GetLabel()[0].GetValue()
}

// statsFields parses a STATS reply into its fields.
func statsFields(t testing.TB, line string) map[string]int64 {
	t.Helper()
	fields := make(map[string]int64)
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			t.Fatalf("STATS reply %q: bad field %q", line, f)
		}
		fields[k] = n
	}
	return fields
}

// TestDebugServerMetricsMatchStats drives a known mix of requests and checks
// the figures that /metrics gives, against the counts expected and against
// what STATS says; and that /debug/vars and /debug/pprof/ answer.
func TestDebugServerMetricsMatchStats(t *testing.T) {
	t.Parallel()
	p := start(t, "-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0", "-max-conns", "1")
	addr, debug := p.addr(t), p.debugURL(t)

	member := dial(t, "tcp", addr)
	join(t, member) // a member, no longer counted against -max-conns
	w := dial(t, "tcp", addr)
	for range 3 {
		w.send("PING\n")
		w.expect("PONG")
	}
	w.send("STRING\nhello\n")
	w.expect("OK hello")
	w.send("NOPE\n")
	expectErr(w)
	refused := dial(t, "tcp", addr) // over -max-conns
	if got := refused.line(); !strings.Contains(got, "too many connections") {
		t.Fatalf("a connection over -max-conns got %q", got)
	}
	refused.expectClosed()

	families := scrape(t, debug+"/metrics")
	for _, want := range []struct {
		name, label string
		n           int64
	}{
		{"endpoint_connections_open", "", 2},
		{"endpoint_chat_members", "", 1},
		{"endpoint_connections_accepted_total", "", 3},
		{"endpoint_connections_refused_total", endpoint.RefusedTooManyConns, 1},
		{"endpoint_requests_total", "PING", 3},
		{"endpoint_requests_total", "STRING", 1},
		{"endpoint_requests_total", "unknown", 1},
		{"endpoint_requests_total", "CHAT", 1},
		{"endpoint_requests_total", "STATS", 0},
		{"endpoint_request_errors_total", "unknown", 1},
		{"endpoint_request_errors_total", "PING", 0},
		{"endpoint_error_replies_total", "", 2}, // NOPE's and the refusal's
		{"endpoint_panics_total", "", 0},
		{"endpoint_protocol_errors_total", endpoint.KindLineTooLong, 0},
		{"endpoint_slow_members_disconnected_total", "", 0},
	} {
		if got := value(t, families, want.name, want.label); got != want.n {
			t.Errorf("%s{%q} = %d, want %d", want.name, want.label, got, want.n)
		}
	}
	// The command label takes the registered commands and "unknown" only:
	// NOPE is not one of its values.
	var requests, protocolErrors, refusedAll int64
	for _, m := range families["endpoint_requests_total"].GetMetric() {
		if labelValue(m) == "NOPE" {
			t.Errorf("a series for the unregistered command NOPE")
		}
		requests += int64(m.GetCounter().GetValue())
	}
	for _, m := range families["endpoint_protocol_errors_total"].GetMetric() {
		protocolErrors += int64(m.GetCounter().GetValue())
	}
	for _, m := range families["endpoint_connections_refused_total"].GetMetric() {
		refusedAll += int64(m.GetCounter().GetValue())
	}

	// The durations: a histogram per command, in seconds, cumulative.
	f := families["endpoint_request_duration_seconds"]
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("endpoint_request_duration_seconds is a %v, want a histogram", f.GetType())
	}
	counts := make(map[string]uint64)
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		counts[labelValue(m)] = h.GetSampleCount()
		buckets := h.GetBucket()
		if len(buckets) != len(endpoint.LatencyBounds)+1 { // the parser adds +Inf
			t.Fatalf("%s: %d buckets, want %d and +Inf", labelValue(m), len(buckets), len(endpoint.LatencyBounds))
		}
		prev := uint64(0)
		for i, b := range buckets[:len(endpoint.LatencyBounds)] {
			if b.GetUpperBound() != endpoint.LatencyBounds[i].Seconds() || b.GetCumulativeCount() < prev {
				t.Fatalf("%s: bucket %d is le=%v count %d after %d", labelValue(m), i, b.GetUpperBound(), b.GetCumulativeCount(), prev)
			}
			prev = b.GetCumulativeCount()
		}
		if prev > h.GetSampleCount() {
			t.Fatalf("%s: buckets hold %d, the count is %d", labelValue(m), prev, h.GetSampleCount())
		}
	}
	// Each request waited for here was timed; CHAT's is still being served.
	for cmd, want := range map[string]uint64{"PING": 3, "STRING": 1, "CHAT": 0, "unknown": 0} {
		if counts[cmd] != want {
			t.Errorf("endpoint_request_duration_seconds_count{command=%q} = %d, want %d", cmd, counts[cmd], want)
		}
	}

	// STATS, asked after the scrape, gives the same figures (its own
	// request excluded).
	w.send("STATS\n")
	stats := statsFields(t, w.line())
	for k, want := range map[string]int64{
		"connections":     value(t, families, "endpoint_connections_open", ""),
		"members":         value(t, families, "endpoint_chat_members", ""),
		"requests":        requests,
		"errors":          value(t, families, "endpoint_error_replies_total", ""),
		"accepted":        value(t, families, "endpoint_connections_accepted_total", ""),
		"refused":         refusedAll,
		"panics":          value(t, families, "endpoint_panics_total", ""),
		"protocol_errors": protocolErrors,
		"slow_members":    value(t, families, "endpoint_slow_members_disconnected_total", ""),
	} {
		if got, ok := stats[k]; !ok || got != want {
			t.Errorf("STATS %s=%d, /metrics says %d", k, got, want)
		}
	}
	if requests != 6 {
		t.Errorf("requests summed over commands: %d, want 6", requests)
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Errorf("/metrics has no go_goroutines: the Go collector is missing")
	}

	// /debug/vars: expvar's JSON, with the endpoint's Stats in it.
	code, body := get(t, debug+"/debug/vars")
	var vars struct {
		Endpoint endpoint.Stats `json:"endpoint"`
		Memstats *struct{}      `json:"memstats"`
		Cmdline  []string       `json:"cmdline"`
	}
	if err := json.Unmarshal(body, &vars); code != http.StatusOK || err != nil {
		t.Fatalf("/debug/vars: status %d, %v\n%s", code, err, body)
	}
	if vars.Endpoint.Requests != 7 || vars.Endpoint.Accepted != 3 || vars.Endpoint.Commands["PING"].Requests != 3 {
		t.Errorf("/debug/vars endpoint = %+v, want 7 requests (STATS's now in), 3 accepted, 3 PINGs", vars.Endpoint)
	}
	if vars.Memstats == nil || len(vars.Cmdline) == 0 {
		t.Errorf("/debug/vars lacks expvar's own memstats or cmdline:\n%.300s", body)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		if code, body := get(t, debug+path); code != http.StatusOK {
			t.Errorf("GET %s: status %d\n%.300s", path, code, body)
		}
	}
	if code, _ := get(t, debug+"/no/such/page"); code != http.StatusNotFound {
		t.Errorf("GET /no/such/page: status %d, want 404", code)
	}
	p.stop(t, syscall.SIGTERM)
}

// The debug server shuts down with the endpoint: when run returns, its port
// is closed. In the test process, so that the race detector sees it.
func TestDebugServerStopsWithTheEndpoint(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newOutput()
	done := make(chan struct{})
	code := -1
	go func() {
		defer close(done)
		code = run(ctx, []string{"-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0"},
			strings.NewReader(""), io.Discard, stderr)
	}()
	m, err := stderr.waitFor(debugRE, done)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr)
	}
	debugAddr := m[1]
	if code, _ := get(t, "http://"+debugAddr+"/metrics"); code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	if code, body := get(t, "http://"+debugAddr+"/"); code != http.StatusOK || !strings.Contains(string(body), "/metrics") {
		t.Fatalf("/: status %d, %q", code, body)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("run did not return after its context was cancelled\nstderr:\n%s", stderr)
	}
	if code != 0 {
		t.Fatalf("run returned %d\nstderr:\n%s", code, stderr)
	}
	if c, err := net.Dial("tcp", debugAddr); err == nil {
		c.Close()
		t.Fatalf("the debug server still accepts connections on %s after run returned", debugAddr)
	}
}

func TestDebugAddrCannotListen(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()

	t.Run("port taken", func(t *testing.T) {
		line := cannotStart(t, 1, "-addr", "127.0.0.1:0", "-debug-addr", addr)
		if !strings.HasPrefix(line, "endpoint: -debug-addr") || !strings.Contains(line, addr) ||
			!strings.Contains(line, "address already in use") {
			t.Fatalf("stderr %q does not say that -debug-addr %s cannot listen, and why", line, addr)
		}
	})
	t.Run("port taken, logging to a file", func(t *testing.T) {
		logFile := filepath.Join(t.TempDir(), "log")
		line := cannotStart(t, 1, "-addr", "127.0.0.1:0", "-debug-addr", addr, "-log", logFile)
		if !strings.Contains(line, "-debug-addr") {
			t.Fatalf("stderr %q does not name -debug-addr", line)
		}
		if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "address already in use") {
			t.Fatalf("the log file does not record the failure:\n%s", b)
		}
	})
	t.Run("not an address; the unix socket removed", func(t *testing.T) {
		path := socketPath(t)
		line := cannotStart(t, 1, "-network", "unix", "-addr", path, "-debug-addr", "no-port-here")
		if !strings.Contains(line, "-debug-addr") || !strings.Contains(line, "no-port-here") {
			t.Fatalf("stderr %q does not name -debug-addr and the address", line)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Fatalf("the endpoint's socket file %s is left behind", path)
		}
	})
}
