package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// join makes w a chat member and returns its id.
func join(t testing.TB, w *wire) string {
	t.Helper()
	w.send("CHAT\n")
	id, ok := strings.CutPrefix(w.line(), "client id: ")
	if !ok {
		t.Fatal("no client id line after CHAT")
	}
	return id
}

func TestConsoleBroadcastAndShutdownTable(t *testing.T) {
	// An OS pipe, not io.Pipe: the child reads it directly, and Wait does
	// not wait for a copy of it to end.
	console, typed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	defer typed.Close()
	p := startIn(t, console, "-addr", freePort(t))
	addr := p.addr(t)
	a, b, c := dial(t, "tcp", addr), dial(t, "tcp", addr), dial(t, "tcp", addr)
	idA, idB, idC := join(t, a), join(t, b), join(t, c)

	// A line typed on the console reaches every member, as typed; an empty
	// one reaches nobody.
	io.WriteString(typed, "\nhello members\r\n")
	for _, m := range []*wire{a, b, c} {
		m.expect("hello members")
	}

	a.send("hi\n/mute\nshh\n/unmute\nagain\n/quit\n")
	for _, m := range []*wire{b, c} {
		m.expect("(" + idA + ") hi")
		m.expect("(" + idA + ") again")
	}
	a.expectClosed()
	b.send("from b\n")
	c.expect("(" + idB + ") from b")

	p.stop(t, syscall.SIGTERM)
	b.expectClosed() // the members still in the room were closed before the table
	c.expectClosed()
	want := strings.Join([]string{
		"id delivered muted quit",
		idA + " 2 1 true",
		idB + " 1 0 false",
		idC + " 0 0 false",
	}, "\n") + "\n"
	// The columns are aligned: compare the fields of each line.
	if got := p.stdout.String(); fieldsOf(got) != want {
		t.Fatalf("standard output:\n%s\nwant, aligned:\n%s", got, want)
	}
}

func TestConsoleEndOfInputKeepsServing(t *testing.T) {
	p := startIn(t, strings.NewReader("said to nobody\n"), "-addr", freePort(t))
	addr := p.addr(t)
	p.waitLog(t, regexp.MustCompile(`console input ended; still serving`))
	m := dial(t, "tcp", addr)
	join(t, m)
	w := dial(t, "tcp", addr)
	w.send("PING\n")
	w.expect("PONG")
	p.stop(t, syscall.SIGINT)
	if got := p.stdout.String(); !regexp.MustCompile(`^id +delivered +muted +quit\n\S+ +0 +0 +false\n$`).MatchString(got) {
		t.Fatalf("standard output %q, want the header and one row", got)
	}
}

// fieldsOf returns text with every run of spaces in a line made one space.
func fieldsOf(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		b.WriteString(strings.Join(strings.Fields(line), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
