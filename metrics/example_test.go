package metrics_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// A program registers the endpoint's collector with a registry, which a
// promhttp handler serves on /metrics; here the registry is gathered
// directly after a few requests.
func ExampleNewCollector() {
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	handlers.Register(e)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(e))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	ctx := context.Background()
	c, err := endpoint.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	c.Call(ctx, "PING")
	c.Call(ctx, "PING")
	c.Call(ctx, "STRING", "hello")
	c.Call(ctx, "NOSUCH") // counted as "unknown", an error
	c.Close()
	e.Shutdown(ctx)
	<-served

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			default:
				continue
			}
			if v == 0 || len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "command" {
				continue
			}
			fmt.Printf("%s{command=%q} %v\n", f.GetName(), m.GetLabel()[0].GetValue(), v)
		}
	}
	// Output:
	// endpoint_request_duration_seconds{command="PING"} 2
	// endpoint_request_duration_seconds{command="STRING"} 1
	// endpoint_request_errors_total{command="unknown"} 1
	// endpoint_requests_total{command="PING"} 2
	// endpoint_requests_total{command="STRING"} 1
	// endpoint_requests_total{command="unknown"} 1
}
