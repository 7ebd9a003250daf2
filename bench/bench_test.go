package main

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/handlers"
	"google.golang.org/grpc/mem"
)

// TestProtoCodecRoundTrip checks that the gRPC peer's hand-written protobuf
// encoding gives back what it was given.
func TestProtoCodecRoundTrip(t *testing.T) {
	var c protoCodec
	b, err := c.Marshal(gobPayload)
	if err != nil {
		t.Fatal(err)
	}
	var got handlers.GobPayload
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b.Materialize())}, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, gobPayload) {
		t.Fatalf("round trip gave %+v, want %+v", got, *gobPayload)
	}
}

// TestTargets runs every target's client against its server, in this
// process, under each kind of request.
func TestTargets(t *testing.T) {
	for _, tg := range allTargets {
		t.Run(tg.Name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop, err := servers[tg.Server](l)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			c, err := tg.Dial(context.Background(), l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.String(); err != nil {
				t.Fatalf("String: %v", err)
			}
			if err := c.Gob(); err != nil {
				t.Fatalf("Gob: %v", err)
			}
			var flag atomic.Bool
			time.AfterFunc(50*time.Millisecond, func() { flag.Store(true) })
			n, err := c.Pipe(16, &flag)
			if err != nil || n == 0 {
				t.Fatalf("Pipe: %d requests, %v", n, err)
			}
		})
	}
}

// TestWrongRepliesFail checks that an ERR reply, or a reply that is not the
// one expected, is an error.
func TestWrongRepliesFail(t *testing.T) {
	for _, reply := range []string{"ERR unknown command \"STRING\"", "OK something else", ""} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Write([]byte(reply + "\n"))
		}()
		c, err := dialWire(context.Background(), l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		err = c.String()
		c.Close()
		l.Close()
		if err == nil {
			t.Errorf("reply %q: no error", reply)
		} else if strings.HasPrefix(reply, "ERR") && !strings.Contains(err.Error(), "error reply") {
			t.Errorf("reply %q: error %v does not say it was an error reply", reply, err)
		}
	}
}

// TestSelectTargetsBaseline checks that the baseline row is refused without
// -baseline, and added, in table order, with it.
func TestSelectTargetsBaseline(t *testing.T) {
	names := func(ts []*Target) string {
		var s []string
		for _, t := range ts {
			s = append(s, t.Name)
		}
		return strings.Join(s, ",")
	}
	if _, err := selectTargets("endpoint,"+baselineTarget, false); err == nil || !strings.Contains(err.Error(), "-baseline") {
		t.Errorf("%s without -baseline: error %v, want one naming -baseline", baselineTarget, err)
	}
	for _, c := range []struct {
		list     string
		baseline bool
		want     string
	}{
		{"raw,endpoint", false, "endpoint,raw"},
		{"raw,endpoint", true, "endpoint," + baselineTarget + ",raw"},
		{baselineTarget + ",raw", true, baselineTarget + ",raw"},
	} {
		ts, err := selectTargets(c.list, c.baseline)
		if err != nil {
			t.Errorf("selectTargets(%q, %v): %v", c.list, c.baseline, err)
		} else if got := names(ts); got != c.want {
			t.Errorf("selectTargets(%q, %v) = %s, want %s", c.list, c.baseline, got, c.want)
		}
	}
}

// TestFirstBuildError checks that a failed build is summed up in one line.
func TestFirstBuildError(t *testing.T) {
	out := "# github.com/endpoint-rpc/endpoint/bench\n./a.go:1:2: undefined: x\n./a.go:3:4: undefined: y\n"
	if got, want := firstBuildError([]byte(out), nil), "./a.go:1:2: undefined: x (and 1 more line)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := firstBuildError(nil, errors.New("exit status 1")); got != "exit status 1" {
		t.Errorf("no output: got %q", got)
	}
}
