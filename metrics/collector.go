package metrics

import (
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace is the prefix, with an underscore after it, of every metric
// name the collector reports.
const Namespace = "endpoint"

// A collector reports a Stats snapshot, read once per scrape, as metrics.
type collector struct {
	stats func() endpoint.Stats
	// bounds are endpoint.LatencyBounds in seconds, the histogram's upper
	// bounds.
	bounds [len(endpoint.LatencyBounds)]float64

	connections, members, accepted, refused, requests, requestErrors,
	errorReplies, panics, protocolErrors, slowMembers, duration *prometheus.Desc
}

// NewCollector returns a collector of e's figures: each scrape reads
// e.Stats once. See the package documentation for the metrics it reports.
func NewCollector(e *endpoint.Endpoint) prometheus.Collector {
	return NewStatsCollector(e.Stats)
}

// NewStatsCollector returns a collector of the figures that stats returns,
// called once per scrape; it is for a program that keeps its Stats
// elsewhere, or sums those of several endpoints. stats must be safe to call
// from several goroutines at once.
func NewStatsCollector(stats func() endpoint.Stats) prometheus.Collector {
	c := &collector{stats: stats}
	for i, b := range endpoint.LatencyBounds {
		c.bounds[i] = b.Seconds()
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	c.connections = desc("connections_open", "Connections open now, request/reply and chat members together.")
	c.members = desc("chat_members", "Chat members (hijacked connections) open now.")
	c.accepted = desc("connections_accepted_total", "Connections accepted, those refused afterwards included.")
	c.refused = desc("connections_refused_total", "Connections refused, by reason.", "reason")
	c.requests = desc("requests_total", "Requests answered, by command; unregistered names count as unknown.", "command")
	c.requestErrors = desc("request_errors_total", "Requests answered with an ERR line, by command.", "command")
	c.errorReplies = desc("error_replies_total", "ERR lines sent, those of refused connections and protocol errors included.")
	c.panics = desc("panics_total", "Handlers that panicked.")
	c.protocolErrors = desc("protocol_errors_total", "Protocol errors that closed a connection, by kind.", "kind")
	c.slowMembers = desc("slow_members_disconnected_total", "Chat members disconnected because they read too slowly.")
	c.duration = desc("request_duration_seconds", "How long handlers took, by command; pipelined requests are sampled.", "command")
	return c
}

// Describe sends the descriptions of every metric the collector reports.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connections, c.members, c.accepted, c.refused, c.requests, c.requestErrors,
		c.errorReplies, c.panics, c.protocolErrors, c.slowMembers, c.duration,
	} {
		ch <- d
	}
}

// Collect reads the figures once and sends them as metrics.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.connections, s.Connections)
	gauge(c.members, s.Members)
	counter(c.accepted, s.Accepted)
	for reason, n := range s.Refused {
		counter(c.refused, n, reason)
	}
	counter(c.errorReplies, s.Errors)
	counter(c.panics, s.Panics)
	for kind, n := range s.ProtocolErrors {
		counter(c.protocolErrors, n, kind)
	}
	counter(c.slowMembers, s.SlowMembers)
	for _, name := range s.CommandNames() {
		cs := s.Commands[name]
		counter(c.requests, cs.Requests, name)
		counter(c.requestErrors, cs.Errors, name)
		ch <- c.histogram(cs.Latency, name)
	}
}

// histogram turns h, whose counts are per bucket, into a Prometheus
// histogram, whose counts are cumulative. Its count is the buckets' total
// rather than h.Count, which is read apart from them and may be off by the
// requests observed meanwhile: so the buckets never exceed the count.
func (c *collector) histogram(h endpoint.Histogram, command string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(c.bounds))
	var total uint64
	for i, n := range h.Counts {
		total += uint64(max(n, 0))
		if i < len(c.bounds) {
			buckets[c.bounds[i]] = total
		}
	}
	return prometheus.MustNewConstHistogram(c.duration, total, h.Sum.Seconds(), buckets, command)
}
