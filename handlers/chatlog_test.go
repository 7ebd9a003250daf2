package handlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// A logBuffer collects log lines written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log lines whose msg starts with "chat ".
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := r["msg"].(string); strings.HasPrefix(msg, "chat ") {
			out = append(out, r)
		}
	}
	return out
}

func TestChatLogsMembersComingAndGoing(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	// Register gives the chat the endpoint's Logger.
	_, _, addr := chatServer(t, func(e *endpoint.Endpoint) { e.Logger = logger; e.MaxLineBytes = 64 })

	a := dialMember(t, addr).join()
	a.send("/MUTE\nshh\n /unmute \nhi\n/quit\n")
	a.eof() // the chat has logged the member's leaving before it closes
	b := dialMember(t, addr).join()
	b.send(strings.Repeat("x", 65) + "\n")
	if got := b.next(5 * time.Second); !strings.HasPrefix(got, "ERR line too long") {
		t.Fatalf("over-long line got %q, want ERR line too long", got)
	}
	b.eof()

	type rec struct{ msg, member, reason string }
	var got []rec
	for _, r := range logs.records(t) {
		if r["level"] != "INFO" {
			t.Errorf("logged at %v, want INFO: %v", r["level"], r)
		}
		reason, _ := r["reason"].(string)
		member, _ := r["member"].(string)
		got = append(got, rec{r["msg"].(string), member, reason})
	}
	want := []rec{
		{"chat member joined", a.id, ""},
		{"chat member muted", a.id, ""},
		{"chat member unmuted", a.id, ""},
		{"chat member quit", a.id, ""},
		{"chat member left", a.id, "quit"},
		{"chat member joined", b.id, ""},
		{"chat member left", b.id, "line too long"},
	}
	if len(got) != len(want) {
		t.Fatalf("chat log lines:\n%v\nwant:\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chat log line %d: %v, want %v", i, got[i], want[i])
		}
	}
	// The leaving line gives the member's counts.
	left := logs.records(t)[4]
	if left["delivered"] != 1.0 || left["muted"] != 1.0 {
		t.Errorf("left line %v, want delivered=1 muted=1", left)
	}
}
