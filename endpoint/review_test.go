package endpoint_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// The bugs a code review found, each as the test that showed it.

// prefixConn is a connection whose first bytes were consumed by someone
// before the endpoint got it (a protocol sniffer, say), and which counts what
// is read through it: the endpoint must read through it, never around it.
type prefixConn struct {
	*net.TCPConn
	prefix []byte
	read   *atomic.Int64
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		c.read.Add(int64(n))
		return n, nil
	}
	n, err := c.TCPConn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

type prefixListener struct {
	net.Listener
	read *atomic.Int64
}

func (l prefixListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &prefixConn{TCPConn: c.(*net.TCPConn), prefix: []byte("PI"), read: l.read}, nil
}

func TestWrappedConnIsReadThroughItsOwnRead(t *testing.T) {
	var read atomic.Int64
	s := startServerWrapped(t, "tcp", func(l net.Listener) net.Listener {
		return prefixListener{Listener: l, read: &read}
	}, func(e *endpoint.Endpoint) { handlers.Register(e) })
	c := s.dial(t)
	c.write("NG\n") // "PI" came first, through the wrapper
	c.expect("PONG")
	sent := "STRING\nthrough the wrapper\n"
	c.write(sent)
	c.expect("OK through the wrapper")
	if got, want := read.Load(), int64(len("PING\n")+len(sent)); got != want {
		t.Fatalf("the wrapper saw %d bytes read, want %d: the endpoint read around it", got, want)
	}
}

// A reply larger than the writer's buffer, written by a handler after the
// connection had been idle for most of the timeout, is written whole: the
// write deadline is the request's, not the one set when the connection went
// idle. (The pauses are a fraction of the timeout, with wide margins.)
func TestLargeReplyAfterIdlePauseIsWrittenWhole(t *testing.T) {
	const idle = 3 * time.Second
	reply := strings.Repeat("r", 256<<10)
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		e.IdleTimeout = idle
		e.HandleFunc("BIG", func(ctx context.Context, req *endpoint.Request) error {
			select {
			case <-time.After(idle / 2): // past the deadline set when idle began
			case <-ctx.Done():
				return ctx.Err()
			}
			return req.WriteLine(reply)
		})
	})
	c := s.dial(t)
	c.write("PING\n")
	c.expect("PONG")
	time.Sleep(2 * idle / 3)
	c.write("BIG\n")
	c.SetReadDeadline(time.Now().Add(hangTimeout))
	if got, err := c.readLine(); err != nil || got != reply {
		t.Fatalf("reply of %d bytes, %v; want all %d", len(got), err, len(reply))
	}
}

// badGob fails to encode, as a value gob cannot send would.
type badGob struct{ X int }

func (badGob) GobEncode() ([]byte, error) { return nil, errors.New("cannot encode") }
func (*badGob) GobDecode([]byte) error    { return nil }

// A typed reply that fails to encode sends one ERR line and nothing of the
// reply: no "OK", no partial gob.
func TestTypedEncodeFailureSendsOneErrLine(t *testing.T) {
	type resp struct{ V badGob }
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		e.Handle("TYPED", endpoint.Typed(func(context.Context, *struct{ N int }) (*resp, error) {
			return &resp{V: badGob{X: 1}}, nil
		}))
	})
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	_, err := endpoint.CallTyped[resp](ctx, c, "TYPED", struct{ N int }{1})
	if !errors.Is(err, endpoint.ErrInternal) {
		t.Fatalf("CallTyped: %v, want the server's internal error", err)
	}
}

// Writing to a Request after Hijack fails with ErrHijacked and does not race
// with the Stream's writer (run with -race).
func TestWriteAfterHijackFails(t *testing.T) {
	errs := make(chan error, 2)
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		e.HandleFunc("TAKE", func(_ context.Context, req *endpoint.Request) error {
			st, err := req.Hijack()
			if err != nil {
				return err
			}
			for range 100 {
				st.Send("pushed")
			}
			errs <- req.WriteLine("late")
			_, err = req.RW.WriteString("late")
			errs <- err
			st.Send("end")
			for {
				if _, err := st.ReadLine(); err != nil {
					return nil
				}
			}
		})
	})
	c := s.dial(t)
	c.write("TAKE\n")
	for range 100 {
		c.expect("pushed")
	}
	c.expect("end")
	for range 2 {
		if err := <-errs; !errors.Is(err, endpoint.ErrHijacked) {
			t.Fatalf("write after Hijack: %v, want ErrHijacked", err)
		}
	}
}

// The server's refusals match the exported sentinels on the client side.
func TestRemoteErrorMatchesSentinels(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxLineBytes = 16 })
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	_, err := c.Call(ctx, "NOPE")
	var re *endpoint.RemoteError
	if !errors.Is(err, endpoint.ErrUnknownCommand) || !errors.As(err, &re) || re.Command != "NOPE" {
		t.Fatalf("unknown command: %v, want a RemoteError matching ErrUnknownCommand", err)
	}
	if errors.Is(err, endpoint.ErrInternal) {
		t.Fatalf("unknown command matches ErrInternal too")
	}
	_, err = c.Call(ctx, "STRING", strings.Repeat("x", 17))
	if !errors.Is(err, codec.ErrLineTooLong) {
		t.Fatalf("line too long: %v, want a RemoteError matching codec.ErrLineTooLong", err)
	}
}

// A Client that is sent a line no call asked for breaks the connection
// rather than hand the line to the next call as its reply.
func TestClientBreaksOnUnaskedLine(t *testing.T) {
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		// Two lines for one request, in one write.
		e.HandleFunc("RAW2", func(_ context.Context, req *endpoint.Request) error {
			_, err := req.RW.WriteString("first\nunasked\n")
			return err
		})
	})
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if got, err := c.Call(ctx, "RAW2"); err != nil || got != "first" {
		t.Fatalf("first call: %q, %v", got, err)
	}
	if got, err := c.Call(ctx, "PING"); !errors.Is(err, endpoint.ErrConnBroken) {
		t.Fatalf("next call: %q, %v; want ErrConnBroken, not the unasked line", got, err)
	}
}
