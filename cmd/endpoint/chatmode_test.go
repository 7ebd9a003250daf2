package main

import (
	"strings"
	"syscall"
	"testing"
)

// TestChatFlag: with -chat every connection is a chat member at once, after
// the greeting, as in the multi-echo chat people reach with telnet.
func TestChatFlag(t *testing.T) {
	p := start(t, "-chat", "-greeting", "multiecho server v1.0", "-addr", freePort(t))
	addr := p.addr(t)
	a, b := dial(t, "tcp", addr), dial(t, "tcp", addr)
	var ids []string
	for _, w := range []*wire{a, b} {
		if got := w.line(); got != "multiecho server v1.0" {
			t.Fatalf("first line %q, want the greeting", got)
		}
		id, ok := strings.CutPrefix(w.line(), "client id: ")
		if !ok {
			t.Fatal("no client id line after the greeting")
		}
		ids = append(ids, id)
	}
	a.send("hello from a\r\n")
	b.expect("(" + ids[0] + ") hello from a")
	b.send("PING\n") // a message in chat mode, not a command
	a.expect("(" + ids[1] + ") PING")
	a.send("/QUIT\r\n")
	a.expectClosed()
	p.stop(t, syscall.SIGTERM)
	b.expectClosed()
	if got := p.stdout.String(); !strings.Contains(got, ids[0]) || !strings.Contains(got, ids[1]) {
		t.Fatalf("table %q lacks a member", got)
	}
}
