package endpoint_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// benchServer serves the built-ins on loopback TCP, logging nothing.
func benchServer(b *testing.B) string {
	b.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	handlers.Register(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go e.Serve(l)
	b.Cleanup(func() { e.Close() })
	return l.Addr().String()
}

var payload64 = strings.Repeat("p", 64)

// BenchmarkServeStringPipelined measures the server's path for one STRING
// request (read, dispatch, handler, reply, batched flush) with requests
// pipelined 128 at a time. The load generator allocates nothing, so allocs/op
// is the server's.
func BenchmarkServeStringPipelined(b *testing.B) {
	const batch = 128
	conn, err := net.Dial("tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := "STRING\n" + payload64 + "\n"
	reply := "OK " + payload64 + "\n"
	batchBytes := []byte(strings.Repeat(req, batch))
	buf := make([]byte, 64<<10)
	readReplies := func(n int) {
		want := n * len(reply)
		for got := 0; got < want; {
			m, err := conn.Read(buf[:min(len(buf), want-got)])
			if err != nil {
				b.Fatal(err)
			}
			got += m
		}
	}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		if _, err := conn.Write(batchBytes[:n*len(req)]); err != nil {
			b.Fatal(err)
		}
		readReplies(n)
	}
}

// BenchmarkServeStringRoundTrip measures one STRING request and its reply at
// a time, as a latency-bound client sees it.
func BenchmarkServeStringRoundTrip(b *testing.B) {
	conn, err := net.Dial("tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("STRING\n" + payload64 + "\n")
	want := []byte("OK " + payload64 + "\n")
	buf := make([]byte, len(want))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !bytes.Equal(buf, want) {
		b.Fatalf("reply %q, want %q", buf, want)
	}
}

// BenchmarkClientCall measures the Client's sequential call: one round trip.
func BenchmarkClientCall(b *testing.B) {
	c, err := endpoint.Dial(context.Background(), "tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Call(ctx, "STRING", payload64); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientCallPipelined measures the Client's call when 32 goroutines
// share one connection, so that calls are pipelined. The reply string is the
// one allocation a call cannot avoid.
func BenchmarkClientCallPipelined(b *testing.B) {
	c, err := endpoint.Dial(context.Background(), "tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.SetParallelism(16) // 32 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(ctx, "STRING", payload64); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkClientCallTyped measures a typed call with the gob session codec,
// against the per-message GOB command below it.
func BenchmarkClientCallTyped(b *testing.B) {
	addr := sessionServer(b)
	c, err := endpoint.Dial(context.Background(), "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	args := &sumArgs{Label: "bench", Xs: []int{1, 2, 3}, Next: &sumArgs{Xs: []int{4}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := endpoint.CallTyped[sumReply](ctx, c, "SUM", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientCallGob(b *testing.B) {
	c, err := endpoint.Dial(context.Background(), "tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	v := handlers.GobPayload{N: 1, S: "bench", M: map[string]int{"a": 1}, P: []byte("xyz"), C: &handlers.GobPayload{N: 2}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.CallGob(ctx, "GOB", v); err != nil {
			b.Fatal(err)
		}
	}
}
