package endpoint_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

type sumArgs struct {
	Label string
	Xs    []int
	Next  *sumArgs
}

type sumReply struct {
	Label string
	Total int
}

// sessionServer serves typed SUM and FAIL commands, and STRING-like ECHO, on
// loopback TCP.
func sessionServer(tb testing.TB) string {
	tb.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxPayloadBytes: 4 << 10}
	e.Handle("SUM", endpoint.Typed(func(_ context.Context, a *sumArgs) (*sumReply, error) {
		r := &sumReply{Label: a.Label}
		for ; a != nil; a = a.Next {
			for _, x := range a.Xs {
				r.Total += x
			}
		}
		return r, nil
	}))
	e.Handle("FAIL", endpoint.Typed(func(_ context.Context, a *sumArgs) (*sumReply, error) {
		return nil, fmt.Errorf("refused %s", a.Label)
	}))
	e.HandleFunc("ECHO", func(_ context.Context, req *endpoint.Request) error {
		line, err := req.ReadLine()
		if err != nil {
			return err
		}
		return req.WriteLine(string(line))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go e.Serve(l)
	tb.Cleanup(func() { e.Close() })
	return l.Addr().String()
}

func TestTypedCallsShareOneSession(t *testing.T) {
	addr := sessionServer(t)
	c, err := endpoint.Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	// Typed calls, typed errors and line calls interleave on one
	// connection, and many goroutines pipeline them.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				label := fmt.Sprintf("g%d-%d", g, i)
				args := &sumArgs{Label: label, Xs: []int{i, g}, Next: &sumArgs{Xs: []int{1000}}}
				r, err := endpoint.CallTyped[sumReply](ctx, c, "SUM", args)
				if err != nil || r.Label != label || r.Total != i+g+1000 {
					t.Errorf("SUM %s = %+v, %v", label, r, err)
					return
				}
				_, err = endpoint.CallTyped[sumReply](ctx, c, "FAIL", &sumArgs{Label: label})
				var re *endpoint.RemoteError
				if !errors.As(err, &re) || re.Message != "refused "+label {
					t.Errorf("FAIL %s: got %v, want a RemoteError", label, err)
					return
				}
				if echo, err := c.Call(ctx, "ECHO", label); err != nil || echo != label {
					t.Errorf("ECHO %s = %q, %v", label, echo, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTypedSessionSendsTypeDefinitionsOnce(t *testing.T) {
	addr := sessionServer(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Two values from one encoder: the second carries no type definition,
	// so it is much shorter than a self-describing value. The server must
	// decode both, since it keeps one decoder for the connection.
	var stream bytes.Buffer
	enc := gob.NewEncoder(&stream)
	enc.Encode(&sumArgs{Label: "a", Xs: []int{1}})
	first := stream.Len()
	enc.Encode(&sumArgs{Label: "b", Xs: []int{2}})
	second := stream.Len() - first
	if second*2 >= first {
		t.Fatalf("second value %d bytes, first %d: want the type definition sent once", second, first)
	}
	req := append([]byte("SUM\n"), stream.Bytes()[:first]...)
	req = append(req, "SUM\n"...)
	req = append(req, stream.Bytes()[first:]...)
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := newLineAndGobReader(conn)
	for _, want := range []sumReply{{"a", 1}, {"b", 2}} {
		if line := br.line(t); line != "OK" {
			t.Fatalf("reply line %q, want OK", line)
		}
		var got sumReply
		if err := br.dec.Decode(&got); err != nil || got != want {
			t.Fatalf("reply %+v, %v; want %+v", got, err, want)
		}
	}
}

func TestTypedPayloadOverLimitClosesConnection(t *testing.T) {
	addr := sessionServer(t) // MaxPayloadBytes is 4 KiB
	c, err := endpoint.Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = endpoint.CallTyped[sumReply](context.Background(), c, "SUM", &sumArgs{Label: strings.Repeat("x", 8<<10)})
	var re *endpoint.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "too large") {
		t.Fatalf("got %v, want an ERR reply about the payload being too large", err)
	}
	// The server closed the connection: the next call fails, and does not hang.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "ECHO", "x"); !errors.Is(err, endpoint.ErrConnBroken) {
		t.Fatalf("call after the server closed: %v, want ErrConnBroken", err)
	}
}
