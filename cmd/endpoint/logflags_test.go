package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunRejectsBadLogFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"-log-level", "loud"}, `-log-level must be debug, info, warn or error, not "loud"`},
		{[]string{"-log-level", "INFO"}, `-log-level must be debug, info, warn or error`},
		{[]string{"-log-format", "xml"}, `-log-format must be text or json, not "xml"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run %q: status %d, stderr:\n%s\nwant status 2 and %q", tc.args, code, &stderr, tc.want)
		}
	}
}

// jsonRecords parses every line of s as a JSON log record, failing the test
// on a line that is not one.
func jsonRecords(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(s) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("log line has no %q: %q", k, line)
			}
		}
		out = append(out, r)
	}
	return out
}

// TestLogFormatJSON checks that -log-format json writes one JSON object a
// line; that a chat member's coming and going is logged with its ID; and that
// a client that hangs up, with a FIN or a reset, after reading its replies is
// logged as a connection closed, at Info and with no reason, not as an error.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	p := start(t, "-addr", "127.0.0.1:0", "-log-format", "json")
	addr := p.waitLog(t, regexp.MustCompile(`"level":"INFO","msg":"listening","network":"tcp","addr":"([^"]+)"`))[1]

	m := dial(t, "tcp", addr)
	id := join(t, m)
	m.send("/mute\n/unmute\n/quit\n")
	m.expectClosed()

	hangUp := dial(t, "tcp", addr)
	hangUp.send("PING\n")
	hangUp.expect("PONG")
	hangUp.conn.Close() // FIN
	reset := dial(t, "tcp", addr)
	reset.send("PING\n")
	reset.expect("PONG")
	reset.conn.(*net.TCPConn).SetLinger(0) // Close sends RST
	reset.conn.Close()
	for _, w := range []*wire{hangUp, reset} {
		p.waitLog(t, regexp.MustCompile(`"msg":"connection closed","remote":"`+regexp.QuoteMeta(w.conn.LocalAddr().String())+`"`))
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, p.stderr)
	}
	records := jsonRecords(t, p.stderr.String())
	var chat []string
	closed := make(map[string]map[string]any)
	for _, r := range records {
		msg := r["msg"].(string)
		if strings.HasPrefix(msg, "chat member ") {
			if r["member"] != id || r["level"] != "INFO" {
				t.Errorf("chat line %v, want level INFO and member %s", r, id)
			}
			chat = append(chat, strings.TrimPrefix(msg, "chat member "))
		}
		if msg == "connection closed" {
			closed[r["remote"].(string)] = r
		}
		if r["level"] == "ERROR" || r["level"] == "WARN" {
			t.Errorf("logged at %s: %v", r["level"], r)
		}
	}
	if got, want := strings.Join(chat, " "), "joined muted unmuted quit left"; got != want {
		t.Errorf("chat member lines: %s, want %s", got, want)
	}
	for what, w := range map[string]*wire{"a hang-up": hangUp, "a reset": reset} {
		r := closed[w.conn.LocalAddr().String()]
		if r["level"] != "INFO" || r["reason"] != nil {
			t.Errorf("%s is logged as %v, want a connection closed at INFO with no reason", what, r)
		}
	}
}

// TestLogLevelWarn checks that -log-level warn drops the Info lines and keeps
// the warnings.
func TestLogLevelWarn(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	p := start(t, "-addr", addr, "-log-level", "warn", "-max-conns", "1")
	// No "listening" line to wait for: dial until the endpoint answers.
	var conn net.Conn
	poll(t, "endpoint listening", func() bool {
		var err error
		conn, err = net.DialTimeout("tcp", addr, waitTimeout)
		return err == nil
	})
	conn.SetDeadline(time.Now().Add(waitTimeout))
	t.Cleanup(func() { conn.Close() })
	first := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
	first.send("PING\n")
	first.expect("PONG")
	refused := dial(t, "tcp", addr)
	expectErr(refused)
	p.waitLog(t, regexp.MustCompile(`level=WARN msg="connection refused"`))

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, p.stderr)
	}
	if log := p.stderr.String(); strings.Contains(log, "level=INFO") {
		t.Fatalf("-log-level warn logged Info lines:\n%s", log)
	}
}
