package endpoint_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

var updateGolden = flag.Bool("update", false, "rewrite the server sections of the golden transcripts in ../testdata/transcripts")

const transcriptDir = "../testdata/transcripts"

// A transcript file holds the exact bytes a client sends and the exact bytes
// it receives, in two sections:
//
//	optional comment lines
//	-- client --
//	bytes sent (ending in "\n")
//	-- server --
//	bytes received, up to the server closing the connection
//
// The test sends the client section in one go, half-closes the connection,
// reads until the server closes it, and compares what it got with the server
// section byte for byte. With -update it rewrites the server section.
const (
	clientMarker = "-- client --\n"
	serverMarker = "-- server --\n"
)

// transcriptConfig is the endpoint every transcript is recorded against: the
// built-in handlers, with limits small enough to reach in a readable file.
func transcriptConfig(e *endpoint.Endpoint) {
	e.MaxLineBytes = 64
	e.MaxPayloadBytes = 1024
}

func parseTranscript(tb testing.TB, data []byte) (comment, client, server []byte) {
	tb.Helper()
	c := bytes.Index(data, []byte(clientMarker))
	s := bytes.Index(data, []byte("\n"+serverMarker))
	if c < 0 || s < c {
		tb.Fatalf("want %q, then %q on a line of its own", clientMarker, serverMarker)
	}
	if c > 0 && data[c-1] != '\n' {
		tb.Fatalf("%q must start a line", clientMarker)
	}
	return data[:c], data[c+len(clientMarker) : s+1], data[s+1+len(serverMarker):]
}

func TestGoldenTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no transcripts in %s", transcriptDir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			comment, client, want := parseTranscript(t, data)
			s := startServer(t, "tcp", transcriptConfig)
			got := runSession(t, s, client)
			if *updateGolden {
				out := append(append(append(append(comment, clientMarker...), client...), serverMarker...), got...)
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("server sent:\n%q\nwant (from %s):\n%q\n(run go test -run TestGoldenTranscripts -update if the change is intended)", got, file, want)
			}
		})
	}
}

// runSession sends client on a fresh connection, half-closes it, and returns
// everything the server sends until it closes the connection.
func runSession(tb testing.TB, s *testServer, client []byte) []byte {
	tb.Helper()
	c := s.dial(tb)
	c.SetDeadline(time.Now().Add(hangTimeout))
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Conn.Write(client)
		if err == nil {
			err = c.Conn.(interface{ CloseWrite() error }).CloseWrite()
		}
		wrote <- err
	}()
	got, err := io.ReadAll(c.Conn)
	if err != nil && !isClosed(err) {
		tb.Fatalf("reading the server's bytes: %v (got %q)", err, got)
	}
	if err := <-wrote; err != nil && !isClosed(err) && !isBrokenPipe(err) {
		tb.Fatalf("sending the client's bytes: %v", err)
	}
	return got
}

// isBrokenPipe reports whether a write failed because the server had closed
// the connection, as it does after a request it cannot serve.
func isBrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }
