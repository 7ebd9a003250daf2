package endpoint_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// catchPanic calls f and returns the panic's message, or "" if it did not
// panic.
func catchPanic(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

func TestRegistrationPanicsOnProgrammerError(t *testing.T) {
	ok := endpoint.HandlerFunc(func(_ context.Context, req *endpoint.Request) error { return req.WriteLine("ok") })
	for _, tc := range []struct {
		name    string
		handler endpoint.Handler
		useFunc bool // register with HandleFunc(name, fn) instead of Handle
		fn      func(context.Context, *endpoint.Request) error
		want    string
	}{
		{name: "", handler: ok, want: "invalid command name"},
		{name: "TWO WORDS", handler: ok, want: "invalid command name"},
		{name: "LINE\n", handler: ok, want: "invalid command name"},
		{name: "NILHANDLER", handler: nil, want: "nil handler"},
		{name: "NILFUNC", useFunc: true, want: "nil handler"},
		{name: "TAKEN", handler: ok, want: `"TAKEN" registered twice`},
		{name: "taken", handler: ok, want: `"TAKEN" registered twice`},
		{name: "HELP", handler: ok, want: `"HELP" registered twice`},
		{name: "ping", handler: ok, want: `"PING" registered twice`},
		{name: "Help", useFunc: true, fn: ok, want: `"HELP" registered twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &endpoint.Endpoint{Logger: discardLogger()}
			e.Handle("TAKEN", ok)
			var msg string
			_, file, line, _ := runtime.Caller(0)
			if !tc.useFunc {
				msg = catchPanic(func() { e.Handle(tc.name, tc.handler) }) // line+2
			} else {
				msg = catchPanic(func() { e.HandleFunc(tc.name, tc.fn) }) // line+4
			}
			if msg == "" {
				t.Fatalf("registering %q did not panic", tc.name)
			}
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "endpoint: ") {
				t.Errorf("panic %q, want one that starts with \"endpoint: \" and says %q", msg, tc.want)
			}
			at2, at4 := fmt.Sprintf("%s:%d", file, line+2), fmt.Sprintf("%s:%d", file, line+4)
			if !strings.Contains(msg, at2) && !strings.Contains(msg, at4) {
				t.Errorf("panic %q does not name the caller, %s or %s", msg, at2, at4)
			}
			// The failed registration changed nothing.
			want := []string{"HELP", "PING", "TAKEN"}
			if got := e.Commands(); !slices.Equal(got, want) {
				t.Errorf("Commands() = %q after the panic, want %q", got, want)
			}
		})
	}
}

// TestHandleWhileServing registers commands from one goroutine while many
// clients call; the race detector checks the registry's locking.
func TestHandleWhileServing(t *testing.T) {
	const commands, clients = 200, 8
	s := startServer(t, "tcp", nil)
	registered := make(chan int, commands)
	go func() {
		defer close(registered)
		for i := range commands {
			name := fmt.Sprintf("cmd%d", i)
			reply := "ran " + name
			s.E.HandleFunc(name, func(_ context.Context, req *endpoint.Request) error { return req.WriteLine(reply) })
			registered <- i
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	ctx := context.Background()
	for k := range clients {
		cl := s.client(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range commands {
				name := fmt.Sprintf("cmd%d", (i*7+k)%commands)
				reply, err := cl.Call(ctx, name)
				switch {
				case err == nil && reply != "ran "+name:
					errs <- fmt.Errorf("%s replied %q", name, reply)
					return
				case err != nil && !strings.Contains(err.Error(), "unknown command"):
					errs <- fmt.Errorf("%s: %v", name, err) // not yet registered is the only excuse
					return
				}
				if _, err := cl.Call(ctx, "HELP"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range registered {
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Once registered, every command is served and listed.
	cl := s.client(t)
	for i := range commands {
		name := fmt.Sprintf("CMD%d", i)
		if reply, err := cl.Call(ctx, name); err != nil || reply != "ran "+strings.ToLower(name) {
			t.Fatalf("%s: %q, %v", name, reply, err)
		}
	}
	help, err := cl.Call(ctx, "HELP")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(help, " CMD"); n != commands {
		t.Errorf("HELP lists %d CMD commands, want %d", n, commands)
	}
}
