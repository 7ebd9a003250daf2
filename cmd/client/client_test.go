package main

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// defaultOutput is what a default run prints.
const defaultOutput = "OK hello from cmd/client\nOK N=42 S=\"outer\"\n"

// A target is an endpoint for the client to call.
type target struct {
	name    string
	network string
	addr    string // for -connect
}

// args returns the client's arguments to call tg with the rest.
func (tg target) args(rest ...string) []string {
	return append([]string{"-network", tg.network, "-connect", tg.addr}, rest...)
}

// targets starts the endpoints that the client is tested against: in the test
// process and the endpoint binary, each over TCP and a unix socket.
func targets(t *testing.T) []target {
	_, inTCP := serveInProcess(t, "tcp", nil)
	_, inUnix := serveInProcess(t, "unix", nil)
	sock := filepath.Join(t.TempDir(), "ep.sock")
	return []target{
		{"in-process tcp", "tcp", inTCP},
		{"in-process unix", "unix", inUnix},
		{"binary tcp", "tcp", startEndpoint(t, "-addr", "127.0.0.1:0")},
		{"binary unix", "unix", startEndpoint(t, "-network", "unix", "-addr", sock)},
	}
}

func TestAgainstEndpoints(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			call := func(args ...string) result { return runClient(t, tg.args(args...)...) }

			call().expect(t, defaultOutput, 0)
			call("PING").expect(t, "PONG\n", 0)
			call("STRING", "hello", "world").expect(t, "OK hello world\n", 0)
			call("string", "two  spaces", "kept").expect(t, "OK two  spaces kept\n", 0)
			call("NOSUCH").expect(t, "ERR unknown command \"NOSUCH\"\n", 1)
			call("nosuch", "text").expect(t, "ERR unknown command \"nosuch\"\n", 1)

			r := call("HELP")
			if !strings.HasPrefix(r.stdout, "commands: ") || !strings.Contains(r.stdout, " STRING") || r.code != 0 {
				t.Fatalf("HELP: printed %q, exited %d", r.stdout, r.code)
			}

			// Command lines the built-in payloads rule out are refused at
			// once, with a usage line, even with no -timeout.
			for _, args := range [][]string{{"STRING"}, {"GOB"}, {"PING", "extra", "words"}} {
				r := call(append([]string{"-timeout", "0"}, args...)...)
				if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, usageLine) {
					t.Fatalf("%q: printed %q and %q, exited %d; want a usage line and status 2", args, r.stdout, r.stderr, r.code)
				}
			}
		})
	}
}

func TestDefaultRunSendsNestedGob(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex // protects the following
		text string
		gob  handlers.GobPayload
	)
	_, addr := serveInProcess(t, "tcp", func(e *endpoint.Endpoint) {
		e.HandleFunc("STRING", func(_ context.Context, req *endpoint.Request) error {
			line, err := req.ReadLine()
			if err != nil {
				return err
			}
			mu.Lock()
			text = string(line)
			mu.Unlock()
			return req.WriteLine("got the string")
		})
		e.HandleFunc("GOB", func(_ context.Context, req *endpoint.Request) error {
			var v handlers.GobPayload
			if err := req.DecodeGob(&v); err != nil {
				return err
			}
			mu.Lock()
			gob = v
			mu.Unlock()
			return req.WriteLine("got the gob")
		})
	})
	runClient(t, "-connect", addr).expect(t, "got the string\ngot the gob\n", 0)

	mu.Lock()
	defer mu.Unlock()
	if text == "" {
		t.Error("STRING was sent an empty line")
	}
	for v, depth := &gob, 0; depth < 2; v, depth = v.C, depth+1 {
		if v == nil {
			t.Fatalf("the GOB payload is not nested %d levels through C: %+v", depth, gob)
		}
		if len(v.M) == 0 || len(v.P) == 0 {
			t.Errorf("the GOB payload at depth %d lacks M or P: %+v", depth, *v)
		}
	}
	if !reflect.DeepEqual(gob, defaultGob) {
		t.Errorf("the endpoint decoded %+v, want %+v", gob, defaultGob)
	}
}

func TestSendsTheWordsAsOnePayloadLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		sent string
	}{
		{[]string{"PING"}, "PING\n"},
		{[]string{"ECHO", "a", "b  c"}, "ECHO\na b  c\n"},
		{[]string{"ECHO", ""}, "ECHO\n\n"},
	} {
		addr, received := fakeServer(t, "FAKE REPLY")
		runClient(t, append([]string{"-connect", addr}, tc.args...)...).expect(t, "FAKE REPLY\n", 0)
		if r := <-received; r.bytes != tc.sent || r.err != nil {
			t.Errorf("client %q sent %q (%v), want %q", tc.args, r.bytes, r.err, tc.sent)
		}
	}
}

func TestErrReply(t *testing.T) {
	t.Parallel()
	_, addr := serveInProcess(t, "tcp", func(e *endpoint.Endpoint) {
		e.HandleFunc("REFUSE", func(_ context.Context, req *endpoint.Request) error {
			return errors.New("refused: not today")
		})
		e.HandleFunc("STRING", func(_ context.Context, req *endpoint.Request) error {
			if _, err := req.ReadLine(); err != nil {
				return err
			}
			return req.WriteLine("ERR-LIKE but not an error")
		})
		e.HandleFunc("GOB", func(_ context.Context, req *endpoint.Request) error {
			var v handlers.GobPayload
			if err := req.DecodeGob(&v); err != nil {
				return err
			}
			return errors.New("no gobs here")
		})
	})
	runClient(t, "-connect", addr, "REFUSE").expect(t, "ERR refused: not today\n", 1)
	runClient(t, "-connect", addr, "STRING", "x").expect(t, "ERR-LIKE but not an error\n", 0)
	// A default run prints both replies, and exits 1 as one is an error.
	runClient(t, "-connect", addr).expect(t, "ERR-LIKE but not an error\nERR no gobs here\n", 1)
}

func TestCannotConnect(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	runClient(t, "-connect", closed).expectFailure(t, closed, "connection refused")
	runClient(t, "-connect", closed, "PING").expectFailure(t, closed, "connection refused")

	sock := filepath.Join(t.TempDir(), "nobody-home.sock")
	runClient(t, "-network", "unix", "-connect", sock, "PING").expectFailure(t, sock, "no such file or directory")
}

func TestConnectionBrokenMidCall(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	e, addr := serveInProcess(t, "tcp", func(e *endpoint.Endpoint) {
		handlers.Register(e)
		// DROP closes the connection without a reply.
		e.HandleFunc("DROP", func(_ context.Context, req *endpoint.Request) error {
			_, err := req.Hijack()
			return err
		})
		// HANG never replies: the endpoint closes the connection under it.
		e.HandleFunc("HANG", func(context.Context, *endpoint.Request) error {
			arrived <- struct{}{}
			<-release
			return nil
		})
	})
	runClient(t, "-connect", addr, "DROP").expectFailure(t, addr, "connection broken")

	type outcome struct {
		r   result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := tryClient("-connect", addr, "HANG")
		done <- outcome{r, err}
	}()
	select {
	case <-arrived:
	case o := <-done:
		t.Fatalf("the client exited before its call arrived: %+v, %v", o.r, o.err)
	}
	e.Close()
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	o.r.expectFailure(t, addr, "connection broken")
}
