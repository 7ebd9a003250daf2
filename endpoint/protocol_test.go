package endpoint_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// Each test here ends by sending a PING and expecting PONG as the very next
// line: a request answered twice, or a blank line answered at all, would put
// an extra line before it.

func TestCommandLineTrimming(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		c := s.dial(t)
		for _, req := range []string{
			"PING\r\n",     // telnet's CRLF
			"  PING  \n",   // spaces around the name
			"\tPING\t\r\n", // tabs and CRLF
			" \t PING \t \r\n",
		} {
			c.write(req)
			c.expect("PONG")
		}
		// The payload line is the command's: only its "\n" and one "\r"
		// go, so the text keeps its own spaces.
		c.write("  STRING \r\n  two  words \r\n")
		c.expect("OK   two  words ")
		c.ping()
	})
}

func TestBlankLinesBetweenRequestsAreIgnored(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		c := s.dial(t)
		c.write("\n\r\n   \n\t\r\n \r\nPING\n\n\nSTRING\nx\n\r\n")
		c.expect("PONG")
		c.expect("OK x")
		c.ping()
	})
}

func TestCommandNamesAreCaseInsensitive(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		seen := make(chan string, 3)
		s := startServer(t, network, func(e *endpoint.Endpoint) {
			e.HandleFunc("echo", func(_ context.Context, req *endpoint.Request) error {
				seen <- req.Command
				return req.WriteLine("echoed")
			})
		})
		if !slices.Contains(s.E.Commands(), "ECHO") || slices.Contains(s.E.Commands(), "echo") {
			t.Fatalf("Commands() = %q, want the name stored upper-case as ECHO", s.E.Commands())
		}
		c := s.dial(t)
		c.write("ping\nPiNg\nstring\nlower\nString\nmixed\n")
		c.expect("PONG")
		c.expect("PONG")
		c.expect("OK lower")
		c.expect("OK mixed")
		for _, name := range []string{"echo", "ECHO", "eChO"} {
			c.write(name + "\n")
			c.expect("echoed")
			if got := <-seen; got != "ECHO" {
				t.Errorf("called as %q, Request.Command = %q, want ECHO", name, got)
			}
		}
		c.ping()
	})
}

func TestBuiltinString(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		c := s.dial(t)
		for _, tc := range []struct{ payload, reply string }{
			{"hello", "OK hello"},
			{"", "OK"},
			{"\r", "OK"},
			{"ERR not an error", "OK ERR not an error"},
			{"ünïcode ✓", "OK ünïcode ✓"},
		} {
			c.write("STRING\n" + tc.payload + "\n")
			if got, err := c.readLine(); err != nil || got != tc.reply {
				t.Errorf("STRING %q: reply %q, %v; want %q", tc.payload, got, err, tc.reply)
			}
		}
		c.ping()
	})
}

func TestBuiltinGob(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		c := s.dial(t)
		for _, tc := range []struct {
			v     handlers.GobPayload
			reply string
		}{
			{handlers.GobPayload{
				N: 42, S: "outer", M: map[string]int{"a": 1}, P: []byte{0, 1, 2},
				C: &handlers.GobPayload{N: 7, S: "inner", C: &handlers.GobPayload{N: 8}},
			}, `OK N=42 S="outer"`},
			{handlers.GobPayload{N: -3, S: "two\nlines \"quoted\"", C: &handlers.GobPayload{S: "x"}}, `OK N=-3 S="two\nlines \"quoted\""`},
			{handlers.GobPayload{}, `OK N=0 S=""`},
		} {
			var buf bytes.Buffer
			buf.WriteString("GOB\n")
			if err := codec.EncodeGob(&buf, tc.v); err != nil {
				t.Fatal(err)
			}
			c.write(buf.String())
			c.expect(tc.reply)
		}
		c.ping()
	})
}

func TestBuiltinHelpAndPing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, func(e *endpoint.Endpoint) {
			e.HandleFunc("zed", func(_ context.Context, req *endpoint.Request) error { return req.WriteLine("z") })
		})
		c := s.dial(t)
		c.write("HELP\n")
		got, err := c.readLine()
		if err != nil {
			t.Fatal(err)
		}
		want := "commands: " + strings.Join(s.E.Commands(), " ")
		if got != want {
			t.Errorf("HELP = %q, want %q", got, want)
		}
		names := strings.Fields(strings.TrimPrefix(got, "commands: "))
		for _, name := range []string{"GOB", "HELP", "PING", "STRING", "ZED"} {
			if !slices.Contains(names, name) {
				t.Errorf("HELP = %q does not list %s", got, name)
			}
		}
		if !slices.IsSorted(names) {
			t.Errorf("HELP = %q is not sorted", got)
		}
		c.ping() // HELP was one line: the next line is PING's
	})
}

// request is one request of a pipelined batch and the reply it must get.
type request struct {
	wire  []byte
	reply string
}

// mixedRequests returns n requests, a mix of STRING, PING and GOB, each with a
// reply that tells it apart from the others.
func mixedRequests(tb testing.TB, n int) []request {
	tb.Helper()
	reqs := make([]request, n)
	for i := range reqs {
		var b bytes.Buffer
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "STRING\nline %d\n", i)
			reqs[i].reply = "OK line " + strconv.Itoa(i)
		case 1:
			b.WriteString("PING\n")
			reqs[i].reply = "PONG"
		case 2:
			b.WriteString("GOB\n")
			v := handlers.GobPayload{N: i, S: "gob " + strconv.Itoa(i), C: &handlers.GobPayload{N: -i}}
			if err := codec.EncodeGob(&b, v); err != nil {
				tb.Fatal(err)
			}
			reqs[i].reply = fmt.Sprintf("OK N=%d S=%q", i, v.S)
		}
		reqs[i].wire = b.Bytes()
	}
	return reqs
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	const n = 10000
	reqs := mixedRequests(t, n)
	forEachTransport(t, func(t *testing.T, network string) {
		s := startServer(t, network, nil)
		c := s.dial(t)
		// One goroutine writes every request before any reply is read
		// (through a buffer, so they go out in large writes); this one
		// reads, so that full socket buffers cannot deadlock the two.
		written := make(chan error, 1)
		go func() {
			c.SetWriteDeadline(time.Now().Add(time.Minute))
			w := bufio.NewWriterSize(c.Conn, 64<<10)
			for _, r := range reqs {
				w.Write(r.wire)
			}
			w.WriteString("PING\n") // a sentinel after the batch
			written <- w.Flush()
		}()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		for i, r := range reqs {
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatalf("reply %d of %d: %v", i, n, err)
			}
			if got := strings.TrimSuffix(line, "\n"); got != r.reply {
				t.Fatalf("reply %d = %q, want %q", i, got, r.reply)
			}
		}
		if err := <-written; err != nil {
			t.Fatal(err)
		}
		c.expect("PONG")
		c.ping()
	})
}
