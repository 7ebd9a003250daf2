package endpoint_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

func TestHandleRefusesNilHandlerFunc(t *testing.T) {
	var e endpoint.Endpoint
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "registry_test.go") {
			t.Fatalf("panic %v, want one naming the caller", p)
		}
	}()
	e.Handle("NOPE", endpoint.HandlerFunc(nil))
}

func TestHandleUpperCasesASCIIOnly(t *testing.T) {
	var e endpoint.Endpoint
	e.HandleFunc("pıng", func(context.Context, *endpoint.Request) error { return nil })
	got := strings.Join(e.Commands(), " ")
	if !strings.Contains(got, "PıNG") || strings.Count(got, "PING") != 1 {
		t.Fatalf("Commands() = %q, want the dotless ı kept, apart from the built-in PING", got)
	}
}

// MaxHandlers is a field like the others: set before serving, it holds,
// even when handlers were registered first.
func TestMaxHandlersSetAfterRegistration(t *testing.T) {
	started := make(chan string, 2)
	release := make(chan struct{})
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler)}
	e.HandleFunc("HOLD", func(_ context.Context, req *endpoint.Request) error {
		line, err := req.ReadLine()
		if err != nil {
			return err
		}
		started <- string(line)
		<-release
		return req.WriteLine("held")
	})
	e.MaxHandlers = 1 // after Handle, before Serve
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() { e.Close() })

	replies := make(chan error, 2)
	for _, who := range []string{"first", "second"} {
		c, err := endpoint.Dial(context.Background(), "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			_, err := c.Call(context.Background(), "HOLD", who)
			replies <- err
		}()
		if who == "first" {
			<-started // the first holds the only slot
		}
	}
	// No signal marks a handler that did not start: give the second the
	// time it would need, then check that it did not.
	select {
	case who := <-started:
		t.Fatalf("%s started while the only slot was held: MaxHandlers set after Handle was ignored", who)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	for range 2 {
		if err := <-replies; err != nil {
			t.Fatal(err)
		}
	}
	if who := <-started; who != "second" {
		t.Fatalf("started %q, want second", who)
	}
}
