// Package metrics exports an Endpoint's figures to Prometheus.
//
// [NewCollector] returns a [prometheus.Collector] that reads
// [endpoint.Endpoint.Stats] once per scrape and reports it under these names,
// following Prometheus's conventions (a _total suffix on counters, seconds for
// durations):
//
//	endpoint_connections_open                      gauge      connections open now, chat members included
//	endpoint_chat_members                          gauge      chat members (hijacked connections) open now
//	endpoint_connections_accepted_total            counter    connections accepted, refused ones included
//	endpoint_connections_refused_total{reason}     counter    connections refused, by reason (too_many_connections)
//	endpoint_requests_total{command}               counter    requests answered
//	endpoint_request_errors_total{command}         counter    of them, answered with an ERR line
//	endpoint_error_replies_total                   counter    ERR lines sent, refusals and protocol errors included
//	endpoint_panics_total                          counter    handlers that panicked
//	endpoint_protocol_errors_total{kind}           counter    errors that closed a connection, by kind (line_too_long, ...)
//	endpoint_slow_members_disconnected_total       counter    chat members disconnected for reading too slowly
//	endpoint_request_duration_seconds{command}     histogram  how long handlers took, with the buckets of endpoint.LatencyBounds
//
// The command label takes only the names of the registered commands and
// "unknown", under which every unregistered name a client sends is counted,
// so a client cannot make the number of series grow. The counts are those
// that the STATS command reports: endpoint_requests_total summed over the
// commands is STATS's requests, endpoint_error_replies_total its errors.
//
// The duration histogram counts every request that began after its
// connection waited for it and one in sixteen of those that were pipelined
// behind another (see [endpoint.Stats]), so its count can be lower than
// endpoint_requests_total. A hijacking command (CHAT) is timed over the
// whole time it holds the connection.
//
// A program serves the collector with promhttp over a registry of its own:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(e))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// cmd/endpoint does so on the address of its -debug-addr flag.
package metrics
