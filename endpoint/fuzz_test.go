package endpoint_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
)

// Limits of the endpoint that FuzzCommandStream talks to: small, so that
// random input reaches them.
const (
	fuzzMaxLine    = 256
	fuzzMaxPayload = 4096
)

// FuzzCommandStream sends arbitrary bytes to a live endpoint (STRING, GOB and
// the built-ins) over a real connection, then half-closes it. The server must
// answer exactly as a simple model of the protocol says, close the connection,
// and go on serving a second connection.
func FuzzCommandStream(f *testing.F) {
	var gob bytes.Buffer
	codec.EncodeGob(&gob, handlers.GobPayload{N: 5, S: "five", M: map[string]int{"a": 1}, P: []byte{1}, C: &handlers.GobPayload{N: 6}})
	for _, seed := range []string{
		"PING\n",
		"  ping \r\n\n\r\nHELP\n",
		"STRING\nhello\nSTRING\n\r\n",
		"GOB\n" + gob.String() + "PING\n",
		"GOB\n" + gob.String()[:20],
		"GOB\n\x03\xff\xff\xff",
		"FROB\nPING\n",
		"STRING\n" + strings.Repeat("s", fuzzMaxLine+1) + "\nPING\n",
		strings.Repeat("c", fuzzMaxLine+1) + "\n",
		strings.Repeat("p", fuzzMaxLine+2),
		"STRING\nno newline",
		"STRING\n",
		"PIN",
		"\xff\xfe\x00\n",
	} {
		f.Add([]byte(seed))
	}
	s := startServerWith(f, "unix", func(e *endpoint.Endpoint) {
		e.MaxLineBytes = fuzzMaxLine
		e.MaxPayloadBytes = fuzzMaxPayload
		e.HandleFunc("STRING", handlers.String)
		e.HandleFunc("GOB", handlers.Gob)
	})
	help := "commands: " + strings.Join(s.E.Commands(), " ")
	f.Fuzz(func(t *testing.T, in []byte) {
		got := runSession(t, s, in)
		wants := modelSession(in, help)
		ok := false
		for _, want := range wants {
			ok = ok || bytes.Equal(got, want)
		}
		if !ok {
			t.Errorf("for input %q\nserver sent %q\nwant %q", in, got, wants[0])
			if len(wants) > 1 {
				t.Errorf("or %q", wants[1])
			}
		}
		s.dial(t).ping()
	})
}

// modelSession returns what a correct endpoint with the limits above sends
// for the client bytes in, followed by the end of input. Where the protocol
// leaves a choice (an unfinished line at the end of input that is also over
// the limit may or may not be reported as too long), it returns both.
func modelSession(in []byte, help string) [][]byte {
	var out bytes.Buffer
	// readLine reads a line as a bounded reader must: ok is false at the
	// end of input, and tooLong says the line is over the limit.
	readLine := func() (line []byte, ok, tooLong bool) {
		line, rest, found := bytes.Cut(in, []byte("\n"))
		if !found {
			return in, false, false
		}
		in = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, true, len(line) > fuzzMaxLine
	}
	// unfinished returns the outcomes for a line that the input ends in
	// the middle of: err is the reply for a line over the limit, eof the
	// one otherwise.
	// A line is refused as soon as more than the limit (and room for a
	// "\r") has arrived, so an unfinished line is too long or not.
	unfinished := func(partial []byte, eof, tooLong string) [][]byte {
		n := len(partial)
		if n > fuzzMaxLine+1 || n == fuzzMaxLine+1 && partial[n-1] != '\r' {
			eof = tooLong
		}
		return [][]byte{append(out.Bytes(), eof...)}
	}
	lineTooLong := fmt.Sprintf("ERR line too long (limit %d bytes)\n", fuzzMaxLine)
	cmdTooLong := lineTooLong
	for {
		line, ok, tooLong := readLine()
		if !ok {
			return unfinished(line, "", cmdTooLong)
		}
		if tooLong {
			out.WriteString(cmdTooLong)
			return [][]byte{out.Bytes()}
		}
		name := bytes.Trim(line, " \t\r")
		switch string(bytes.ToUpper(name)) {
		case "":
			continue // a blank line
		case "PING":
			if !asciiOnly(name) {
				break
			}
			out.WriteString("PONG\n")
			continue
		case "HELP":
			if !asciiOnly(name) {
				break
			}
			out.WriteString(help + "\n")
			continue
		case "STRING":
			if !asciiOnly(name) {
				break
			}
			payload, ok, tooLong := readLine()
			if !ok {
				return unfinished(payload, "ERR incomplete request\n", lineTooLong)
			}
			if tooLong {
				out.WriteString(lineTooLong)
				return [][]byte{out.Bytes()}
			}
			out.WriteString("OK")
			if len(payload) > 0 {
				out.WriteString(" ")
				out.Write(payload)
			}
			out.WriteString("\n")
			continue
		case "GOB":
			if !asciiOnly(name) {
				break
			}
			// The model trusts codec.DecodeGob, which has its own
			// tests, for what the value is and where it ends; what is
			// checked here is how the endpoint frames it.
			r := bytes.NewReader(in)
			br := bufio.NewReader(r)
			var v handlers.GobPayload
			if err := codec.DecodeGob(br, fuzzMaxPayload, &v); err != nil {
				out.WriteString(modelGobError(err))
				return [][]byte{out.Bytes()}
			}
			in = in[len(in)-r.Len()-br.Buffered():]
			fmt.Fprintf(&out, "OK N=%d S=%s\n", v.N, strconv.Quote(v.S))
			continue
		}
		fmt.Fprintf(&out, "ERR unknown command %.80q\n", name) // names are cut at 80 runes
	}
}

// modelGobError is the ERR line for a GOB payload that DecodeGob refused:
// what the client may know of why, and nothing of encoding/gob's own words.
func modelGobError(err error) string {
	switch {
	case errors.Is(err, codec.ErrPayloadTooLarge):
		return fmt.Sprintf("ERR payload too large (limit %d bytes)\n", fuzzMaxPayload)
	case errors.Is(err, codec.ErrGobRefused):
		// The checker's reason comes before its sentinel.
		why := strings.TrimSuffix(err.Error(), ": "+codec.ErrGobRefused.Error())
		why = strings.TrimPrefix(why, "codec: decode gob: ")
		return "ERR gob payload refused: " + why + "\n"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "ERR incomplete request\n"
	}
	return "ERR invalid payload\n"
}

// asciiOnly reports whether b is all ASCII: only such names fold to the
// built-in commands (bytes.ToUpper above would fold "pıng" too).
func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
