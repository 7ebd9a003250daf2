package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

func TestClientCall(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) {
			e.HandleFunc("JOIN", func(_ context.Context, req *endpoint.Request) error {
				a, err := req.ReadLine()
				if err != nil {
					return err
				}
				a = append([]byte(nil), a...)
				b, err := req.ReadLine()
				if err != nil {
					return err
				}
				return req.WriteLine(string(a) + "+" + string(b))
			})
		})
		cl := s.client(t)
		ctx := context.Background()
		for _, tc := range []struct {
			command string
			lines   []string
			want    string
		}{
			{"PING", nil, "PONG"},
			{"ping", nil, "PONG"},
			{"STRING", []string{"hello world"}, "OK hello world"},
			{"STRING", []string{""}, "OK"},
			{"JOIN", []string{"left", "right"}, "left+right"},
		} {
			got, err := cl.Call(ctx, tc.command, tc.lines...)
			if err != nil || got != tc.want {
				t.Errorf("Call(%s, %q) = %q, %v; want %q", tc.command, tc.lines, got, err, tc.want)
			}
		}
		v := handlers.GobPayload{N: 99, S: "via client", M: map[string]int{"k": 1}, C: &handlers.GobPayload{N: 1, S: "nested"}}
		if got, err := cl.CallGob(ctx, "GOB", v); err != nil || got != `OK N=99 S="via client"` {
			t.Errorf("CallGob = %q, %v", got, err)
		}
		help, err := cl.Call(ctx, "HELP")
		if want := "commands: " + strings.Join(s.E.Commands(), " "); err != nil || help != want {
			t.Errorf("HELP = %q, %v; want %q", help, err, want)
		}
	})
}

func TestClientRejectsWhatWouldBreakFraming(t *testing.T) {
	s := startServer(t, "tcp", nil)
	cl := s.client(t)
	ctx := context.Background()
	if _, err := cl.Call(ctx, "STRING", "two\nlines"); !errors.Is(err, codec.ErrNewline) {
		t.Errorf("payload with a newline: %v, want codec.ErrNewline", err)
	}
	for _, name := range []string{"", "TWO WORDS", "PING\n"} {
		if _, err := cl.Call(ctx, name); err == nil {
			t.Errorf("command %q was sent", name)
		}
	}
	// Nothing was written: the connection is still in step.
	if got, err := cl.Call(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
}

func TestClientRemoteError(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.HandleFunc("FAIL", func(context.Context, *endpoint.Request) error {
			return errors.New("it failed\non two lines")
		})
	})
	cl := s.client(t)
	ctx := context.Background()

	_, err := cl.Call(ctx, "NOSUCH")
	var re *endpoint.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("unknown command: error %v (%T), want a *RemoteError", err, err)
	}
	if re.Command != "NOSUCH" || !strings.Contains(re.Message, "unknown command") || !strings.Contains(re.Message, "NOSUCH") {
		t.Errorf("RemoteError = %+v", re)
	}

	// A handler's error is one ERR line even if its text has newlines.
	_, err = cl.Call(ctx, "FAIL")
	if !errors.As(err, &re) || re.Command != "FAIL" || re.Message != "it failed on two lines" {
		t.Fatalf("FAIL: %v, want a *RemoteError with the handler's message on one line", err)
	}
	if got, err := cl.Call(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after ERR replies = %q, %v", got, err)
	}
}

func TestManyClientsAtOnce(t *testing.T) {
	const clients, calls = 200, 20
	s := startServer(t, "tcp", nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for k := range clients {
		cl := s.client(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				text := fmt.Sprintf("client %d call %d", k, i)
				want := "OK " + text
				got, err := cl.Call(ctx, "STRING", text)
				if i%2 == 1 {
					want = fmt.Sprintf("OK N=%d S=%q", i, text)
					got, err = cl.CallGob(ctx, "GOB", handlers.GobPayload{N: i, S: text, C: &handlers.GobPayload{}})
				}
				if err != nil || got != want {
					errs <- fmt.Errorf("client %d call %d = %q, %v; want %q", k, i, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClientSharedByManyGoroutines(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		const goroutines, calls = 50, 100
		s := startServer(t, network, nil)
		cl := s.client(t)
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for k := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range calls {
					text := fmt.Sprintf("g%d-%d", k, i)
					var got, want string
					var err error
					switch i % 3 {
					case 0:
						got, err = cl.Call(ctx, "STRING", text)
						want = "OK " + text
					case 1:
						got, err = cl.Call(ctx, "PING")
						want = "PONG"
					case 2:
						got, err = cl.CallGob(ctx, "GOB", handlers.GobPayload{N: k, S: text})
						want = fmt.Sprintf("OK N=%d S=%q", k, text)
					}
					if err != nil || got != want {
						errs <- fmt.Errorf("goroutine %d call %d = %q, %v; want %q", k, i, got, err, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestClientAbandonedCall checks that a call whose ctx ends while the server
// delays its reply returns at once, and that the late reply is discarded
// rather than handed to a later call.
func TestClientAbandonedCall(t *testing.T) {
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			b := newBlocker(t)
			s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.Handle("BLOCK", b) })
			cl := s.client(t)

			ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
			if how == "deadline" {
				ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			}
			defer cancel()
			res := make(chan error, 1)
			go func() {
				_, err := cl.Call(ctx, "BLOCK")
				res <- err
			}()
			b.waitEntered(t) // the request was written and is being served
			if how == "cancel" {
				cancel()
			}
			err := waitErr(t, res, "the abandoned call")
			if !errors.Is(err, ctx.Err()) || err == nil {
				t.Fatalf("abandoned call: %v, want %v", err, ctx.Err())
			}

			// A call made while the server still holds the abandoned
			// request is queued behind it, and gets its own reply.
			bg := context.Background()
			next := make(chan string, 1)
			go func() {
				reply, err := cl.Call(bg, "STRING", "mine")
				if err != nil {
					reply = err.Error()
				}
				next <- reply
			}()
			b.unblock() // the server now sends "released", for nobody
			select {
			case got := <-next:
				if got != "OK mine" {
					t.Fatalf("call after the abandoned one got %q, want OK mine", got)
				}
			case <-time.After(hangTimeout):
				t.Fatal("the call after the abandoned one hangs")
			}
			for i := range 5 {
				want := fmt.Sprintf("OK %d", i)
				if got, err := cl.Call(bg, "STRING", fmt.Sprint(i)); err != nil || got != want {
					t.Fatalf("later call = %q, %v; want %q", got, err, want)
				}
			}
		})
	}
}

func TestClientFailsPendingCallsWhenConnectionBreaks(t *testing.T) {
	for _, how := range []string{"Endpoint.Close", "protocol error"} {
		t.Run(how, func(t *testing.T) {
			b := newBlocker(t)
			s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
				e.Handle("BLOCK", b)
				e.HandleFunc("BREAK", func(ctx context.Context, req *endpoint.Request) error {
					b.entered <- struct{}{}
					<-b.release
					return &endpoint.ProtocolError{Err: errors.New("out of step")}
				})
			})
			cl := s.client(t)
			ctx := context.Background()
			first := "BLOCK"
			if how == "protocol error" {
				first = "BREAK"
			}
			const pending = 20
			type result struct {
				call, reply string
				err         error
			}
			results := make(chan result, pending+1)
			go func() {
				reply, err := cl.Call(ctx, first)
				results <- result{first, reply, err}
			}()
			b.waitEntered(t) // the first call is being served: the others queue behind it
			for i := range pending {
				go func() {
					reply, err := cl.Call(ctx, "STRING", fmt.Sprint(i))
					results <- result{fmt.Sprint("STRING ", i), reply, err}
				}()
			}
			if how == "Endpoint.Close" {
				s.E.Close()
			} else {
				b.unblock()
			}
			for range pending + 1 {
				var r result
				select {
				case r = <-results:
				case <-time.After(hangTimeout):
					t.Fatal("a pending call hangs")
				}
				var re *endpoint.RemoteError
				if r.call == "BREAK" && errors.As(r.err, &re) && strings.Contains(re.Message, "out of step") {
					// BREAK's own ERR reply, if the client read it
					// before it found the connection broken.
					continue
				}
				if !errors.Is(r.err, endpoint.ErrConnBroken) {
					t.Errorf("pending call %s = %q, %v; want an error wrapping ErrConnBroken", r.call, r.reply, r.err)
				}
			}
			if _, err := cl.Call(ctx, "PING"); !errors.Is(err, endpoint.ErrConnBroken) {
				t.Errorf("call after the break: %v, want ErrConnBroken", err)
			}
		})
	}
}

func TestClientClose(t *testing.T) {
	b := newBlocker(t)
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.Handle("BLOCK", b) })
	cl := s.client(t)
	ctx := context.Background()
	pending := make(chan error, 1)
	go func() {
		_, err := cl.Call(ctx, "BLOCK")
		pending <- err
	}()
	b.waitEntered(t)
	for range 2 {
		if err := cl.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := waitErr(t, pending, "the pending call"); !errors.Is(err, endpoint.ErrClientClosed) {
		t.Errorf("pending call: %v, want ErrClientClosed", err)
	}
	if _, err := cl.Call(ctx, "PING"); !errors.Is(err, endpoint.ErrClientClosed) {
		t.Errorf("Call after Close: %v, want ErrClientClosed", err)
	}
	if _, err := cl.CallGob(ctx, "GOB", handlers.GobPayload{}); !errors.Is(err, endpoint.ErrClientClosed) {
		t.Errorf("CallGob after Close: %v, want ErrClientClosed", err)
	}
}

func TestDialFailure(t *testing.T) {
	l := listen(t, "tcp")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if cl, err := endpoint.Dial(ctx, "tcp", addr); err == nil {
		cl.Close()
		t.Fatal("Dial to a closed port succeeded")
	} else if !strings.Contains(err.Error(), addr) {
		t.Errorf("Dial error %q does not name the address %s", err, addr)
	}
}

// TestClientCancelJustAfterWrite cancels calls the moment the server has
// their request, which is often before the calling goroutine has finished
// its bookkeeping for the write: the connection must stay usable, each later
// call getting its own reply.
func TestClientCancelJustAfterWrite(t *testing.T) {
	const rounds = 200
	entered := make(chan struct{})
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.HandleFunc("WAIT", func(ctx context.Context, req *endpoint.Request) error {
			entered <- struct{}{}
			return req.WriteLine("late")
		})
	})
	cl := s.client(t)
	for i := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			_, err := cl.Call(ctx, "WAIT")
			res <- err
		}()
		<-entered
		cancel()
		if err := waitErr(t, res, "WAIT"); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: WAIT: %v, want its reply or context.Canceled", i, err)
		}
		want := fmt.Sprintf("OK %d", i)
		if got, err := cl.Call(context.Background(), "STRING", fmt.Sprint(i)); err != nil || got != want {
			t.Fatalf("round %d: call after a cancelled one = %q, %v; want %q", i, got, err, want)
		}
	}
}
