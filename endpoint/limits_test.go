package endpoint_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// Every test of bad input here also checks, with a connection opened before
// the bad input (a bystander), that the rest of the server is unharmed.

func TestUnknownCommandKeepsTheConnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		bystander := s.connected(t)
		c := s.dial(t)
		c.write("frobnicate\n")
		c.expectErr("unknown command", "frobnicate")
		c.write("NO SUCH THING\r\n")
		c.expectErr("unknown command", "NO SUCH THING")
		// Only ASCII letters fold: this name is not PING.
		c.write("pıng\n")
		c.expectErr("unknown command", "pıng")
		c.ping()
		c.write("STRING\nstill here\n")
		c.expect("OK still here")
		bystander.ping()
	})
}

// lineLimits are the MaxLineBytes values tested: one within bufio's 4096-byte
// buffer, and one beyond it, where lines are assembled on a slower path.
var lineLimits = []int{1024, 10000}

func TestCommandLineLimit(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		for _, limit := range lineLimits {
			t.Run(strconv.Itoa(limit), func(t *testing.T) {
				s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxLineBytes = limit })
				bystander := s.connected(t)
				pad := func(n int) string { return "PING" + strings.Repeat(" ", n-len("PING")) }

				c := s.dial(t)
				c.write(pad(limit) + "\n") // exactly the limit
				c.expect("PONG")
				c.write(pad(limit) + "\r\n") // the "\r" does not count
				c.expect("PONG")
				c.write(pad(limit+1) + "\n") // one over
				c.expectErr("line too long", strconv.Itoa(limit))
				c.expectClosed()

				// Far over the limit, without a newline at all: the server
				// must not wait for the end of the line.
				c = s.dial(t)
				c.sendAsync([]byte(strings.Repeat("x", 3*limit+5000)))
				c.expectErr("line too long")
				c.expectClosed()

				bystander.ping()
			})
		}
	})
}

func TestStringPayloadLimit(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		for _, limit := range lineLimits {
			t.Run(strconv.Itoa(limit), func(t *testing.T) {
				s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxLineBytes = limit })
				bystander := s.connected(t)
				c := s.dial(t)
				text := strings.Repeat("y", limit)
				c.write("STRING\n" + text + "\r\n")
				c.expect("OK " + text)
				c.write("STRING\n" + text + "z\nPING\n")
				c.expectErr("line too long", strconv.Itoa(limit))
				c.expectClosed() // and the PING after it is not served
				bystander.ping()
			})
		}
	})
}

func TestInvalidGobPayloadClosesTheConnection(t *testing.T) {
	encode := func(v any) string {
		var b bytes.Buffer
		if err := codec.EncodeGob(&b, v); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	type wrongFieldType struct{ N string }
	type noCommonFields struct{ X, Y int }
	cases := map[string]string{
		"garbage":          "\x05\xff\xff\xff\xff\xff",
		"bad length":       "\xf0\x00\x00",
		"a string":         encode("not a struct"),
		"an int":           encode(42),
		"wrong field type": encode(wrongFieldType{N: "42"}),
		"no common fields": encode(noCommonFields{1, 2}),
		"value without its type": func() string {
			// The last message of a fresh encoding is the value; send it
			// alone, its type definition missing.
			full := encode(handlers.GobPayload{N: 1})
			return full[len(full)-lastGobMessageLen(t, []byte(full)):]
		}(),
	}
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		bystander := s.connected(t)
		for name, payload := range cases {
			t.Run(name, func(t *testing.T) {
				c := s.dial(t)
				c.write("GOB\n" + payload + "PING\n")
				c.expectErr()
				c.expectClosed()
			})
		}
		bystander.ping()
	})
}

// lastGobMessageLen returns the length, prefix included, of the last gob
// message in b, a stream of whole messages.
func lastGobMessageLen(tb testing.TB, b []byte) int {
	tb.Helper()
	last := 0
	for i := 0; i < len(b); {
		start := i
		n := uint64(b[i])
		i++
		if n >= 0x80 {
			width := int(-int8(b[start]))
			n = 0
			for _, c := range b[i : i+width] {
				n = n<<8 | uint64(c)
			}
			i += width
		}
		i += int(n)
		last = i - start
	}
	return last
}

func TestGobPayloadLimit(t *testing.T) {
	v := handlers.GobPayload{N: 1, S: "sized", P: bytes.Repeat([]byte{7}, 300), C: &handlers.GobPayload{N: 2}}
	var enc bytes.Buffer
	if err := codec.EncodeGob(&enc, v); err != nil {
		t.Fatal(err)
	}
	size := int64(enc.Len())
	forEachTransport(t, func(t *testing.T, network string) {
		t.Run("exactly the limit", func(t *testing.T) {
			s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxPayloadBytes = size })
			c := s.dial(t)
			c.write("GOB\n" + enc.String())
			c.expect(`OK N=1 S="sized"`)
			c.ping()
		})
		t.Run("one byte over", func(t *testing.T) {
			s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxPayloadBytes = size - 1 })
			bystander := s.connected(t)
			c := s.dial(t)
			c.write("GOB\n" + enc.String() + "PING\n")
			c.expectErr("payload too large")
			c.expectClosed()
			bystander.ping()
		})
		t.Run("far over", func(t *testing.T) {
			// A value that declares a megabyte is refused at its length
			// prefix: the server answers before the client has sent it all.
			s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxPayloadBytes = 1024 })
			bystander := s.connected(t)
			var big bytes.Buffer
			big.WriteString("GOB\n")
			if err := codec.EncodeGob(&big, handlers.GobPayload{P: make([]byte, 1<<20)}); err != nil {
				t.Fatal(err)
			}
			c := s.dial(t)
			c.sendAsync(big.Bytes())
			c.expectErr("payload too large")
			c.expectClosed()
			bystander.ping()
		})
	})
}

func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) { e.IdleTimeout = idle })
		t.Run("silent", func(t *testing.T) {
			c := s.dial(t)
			c.expectIdleTimeout()
		})
		t.Run("after a request", func(t *testing.T) {
			c := s.connected(t)
			c.expectIdleTimeout()
		})
		for name, started := range map[string]string{
			"STRING without its payload":  "STRING\n",
			"STRING with half a payload":  "STRING\nhalf a li",
			"GOB with half a payload":     "GOB\n\x20\xff",
			"half a command line":         "PIN",
			"command line, then too slow": "STRING\r\n",
		} {
			t.Run(name, func(t *testing.T) {
				c := s.dial(t)
				c.write(started)
				c.expectIdleTimeout()
			})
		}
		s.connected(t) // and new connections are served
	})
}

// TestIdleTimeoutIsPerRequest checks that the timeout is reset by every
// request: a client that keeps talking, for longer in all than the timeout,
// is served throughout.
func TestIdleTimeoutIsPerRequest(t *testing.T) {
	const idle = 500 * time.Millisecond
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) { e.IdleTimeout = idle })
		c := s.dial(t)
		tick := time.NewTicker(idle / 5)
		defer tick.Stop()
		for range 12 {
			<-tick.C
			c.ping()
		}
	})
}

func TestHandlerPanic(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) {
			e.HandleFunc("BOOM", func(context.Context, *endpoint.Request) error {
				panic("boom-7f3a")
			})
		})
		bystander := s.connected(t)
		c := s.dial(t)
		c.write("PING\nBOOM\nPING\n")
		c.expect("PONG") // answered before the panic
		c.expectErr("internal error")
		c.expectClosed() // the PING after the panic is not served
		s.Log.waitFor(t, 1, "handler panicked", "boom-7f3a", "command=BOOM")
		log := s.Log.String()
		for _, want := range []string{"goroutine ", "panic(", "limits_test.go", "TestHandlerPanic"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks the panic's stack (%q):\n%s", want, log)
			}
		}
		bystander.ping()
		s.connected(t)
	})
}

func TestMaxConns(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) { e.MaxConns = 2 })
		a := s.connected(t)
		b := s.connected(t)
		extra := s.dial(t)
		extra.expectErr("too many connections")
		extra.expectClosed()
		a.ping()
		b.ping()

		// Once a connection closes, its place is free. The endpoint logs
		// "connection closed" after it has forgotten the connection.
		a.Close()
		s.Log.waitFor(t, 1, "connection closed")
		c := s.connected(t)
		b.ping()
		c.ping()
		again := s.dial(t)
		again.expectErr("too many connections")
		again.expectClosed()
	})
}
