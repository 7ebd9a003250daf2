package handlers_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/internal/testnet"
)

// chatServer starts an endpoint with the built-ins on loopback TCP and returns
// it with its chat room. The endpoint is shut down when the test ends.
func chatServer(t testing.TB, configure func(*endpoint.Endpoint)) (*endpoint.Endpoint, *handlers.Chat, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return chatServerOn(t, l, configure)
}

// chatServerOn is chatServer on the listener l.
func chatServerOn(t testing.TB, l net.Listener, configure func(*endpoint.Endpoint)) (*endpoint.Endpoint, *handlers.Chat, string) {
	t.Helper()
	e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(e)
	}
	chat := handlers.Register(e)
	served := make(chan error, 1)
	go func() { served <- e.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != endpoint.ErrEndpointClosed {
			t.Errorf("Serve returned %v, want ErrEndpointClosed", err)
		}
	})
	return e, chat, l.Addr().String()
}

// A member is one chat connection seen from the client side.
type member struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	id   string
}

func dialMember(t testing.TB, addr string) *member {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &member{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// join sends CHAT and reads the member's id.
func (m *member) join() *member {
	m.t.Helper()
	m.send("CHAT\n")
	line := m.next(5 * time.Second)
	id, ok := strings.CutPrefix(line, "client id: ")
	if !ok {
		m.t.Fatalf("first line after CHAT = %q, want client id: ...", line)
	}
	if id != m.conn.LocalAddr().String() {
		m.t.Fatalf("client id %q, want the client's address as the server sees it, %q", id, m.conn.LocalAddr())
	}
	m.id = id
	return m
}

func (m *member) send(s string) {
	m.t.Helper()
	if _, err := io.WriteString(m.conn, s); err != nil {
		m.t.Fatalf("write %q: %v", s, err)
	}
}

// next reads the next line, failing the test if none comes within d.
func (m *member) next(d time.Duration) string {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(d))
	line, err := m.r.ReadString('\n')
	if err != nil {
		m.t.Fatalf("member %s: reading a line: %v (got %q)", m.id, err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

// eof checks that the server closed the connection, with nothing before.
func (m *member) eof() {
	m.t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := m.r.ReadString('\n')
	if err != io.EOF || line != "" {
		m.t.Fatalf("member %s: want the connection closed, got %q, %v", m.id, line, err)
	}
}

// runChatScript plays a transcript from testdata/chat: see its header.
func runChatScript(t *testing.T, chat *handlers.Chat, addr, path string) map[string]*member {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]*member{}
	ids := strings.NewReplacer() // filled in as ids are learned
	var pairs []string
	for n, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		who, op, text := line[:1], line[1:2], line[3:]
		m := members[who]
		if m == nil {
			m = dialMember(t, addr)
			members[who] = m
		}
		switch op {
		case ">":
			end := "\n"
			if who == "C" {
				end = "\r\n"
			}
			m.send(text + end)
		case "<":
			if text == "EOF" {
				m.eof()
				delete(members, who)
				continue
			}
			got := m.next(5 * time.Second)
			if id, ok := strings.CutPrefix(got, "client id: "); ok && text == "client id: {"+who+"}" {
				m.id = id
				pairs = append(pairs, "{"+who+"}", id)
				ids = strings.NewReplacer(pairs...)
				continue
			}
			if want := ids.Replace(text); got != want {
				t.Fatalf("%s line %d: member %s got %q, want %q", path, n+1, who, got, want)
			}
		default:
			t.Fatalf("%s line %d: bad line %q", path, n+1, line)
		}
	}
	// Nothing unlisted may have reached the members still open: a last
	// broadcast must be the next line each of them reads.
	chat.Broadcast("END")
	for who, m := range members {
		if got := m.next(5 * time.Second); got != "END" {
			t.Fatalf("member %s received %q, which the transcript does not list", who, got)
		}
	}
	return members
}

func TestChatThreeClientsTranscript(t *testing.T) {
	_, chat, addr := chatServer(t, nil)
	runChatScript(t, chat, addr, "../testdata/chat/three_clients.txt")
}

func TestChatShutdownTable(t *testing.T) {
	e, chat, addr := chatServer(t, nil)
	members := runChatScript(t, chat, addr, "../testdata/chat/three_clients.txt")
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		m.eof() // Shutdown closed the members still in the room
	}
	want, err := os.ReadFile("../testdata/chat/three_clients.table")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := chat.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	checkAligned(t, got)
	// The ids are the clients' real addresses, of any width; put the
	// placeholders back and align the table again for them.
	stats := chat.Stats()
	if len(stats) != 3 {
		t.Fatalf("Stats has %d members, want 3", len(stats))
	}
	ids := make(map[string]string)
	for i, s := range stats {
		ids[s.ID] = "{" + string(rune('A'+i)) + "}"
	}
	got = realign(got, ids)
	if *update {
		if err := os.WriteFile("../testdata/chat/three_clients.table", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(want) {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

// update makes the golden tests write their files instead of checking them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkAligned fails unless table is made of lines of four fields separated
// by spaces only, with no space at either end, and every field but the
// first begins in the same column on every line.
func checkAligned(t *testing.T, table string) {
	t.Helper()
	var starts []int
	for _, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		if strings.ContainsAny(line, "\t\r") || strings.TrimSpace(line) != line {
			t.Fatalf("table line %q: tabs, or spaces at an end", line)
		}
		var at []int
		for i := 1; i < len(line); i++ {
			if line[i-1] == ' ' && line[i] != ' ' {
				at = append(at, i)
			}
		}
		if len(at) != 3 {
			t.Fatalf("table line %q has %d fields, want 4", line, len(at)+1)
		}
		if starts == nil {
			starts = at
		} else if !slices.Equal(at, starts) {
			t.Fatalf("table line %q: fields begin at %v, the header's at %v", line, at, starts)
		}
	}
}

// realign replaces the first field of every line of table by ids[field],
// where there is one, and aligns the columns again as WriteTable does.
func realign(table string, ids map[string]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	for _, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		f := strings.Fields(line)
		if id, ok := ids[f[0]]; ok {
			f[0] = id
		}
		fmt.Fprintln(tw, strings.Join(f, "\t"))
	}
	tw.Flush()
	return b.String()
}

func TestChatPushToSilentMember(t *testing.T) {
	_, chat, addr := chatServer(t, nil)
	m := dialMember(t, addr).join()
	for i := range 100 {
		if n := chat.Broadcast(fmt.Sprintf("push %d", i)); n != 1 {
			t.Fatalf("Broadcast reached %d members, want 1", n)
		}
	}
	for i := range 100 {
		if got, want := m.next(5*time.Second), fmt.Sprintf("push %d", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestChatEmptyLinesAndUnknownSlashCommand(t *testing.T) {
	_, _, addr := chatServer(t, nil)
	a, b := dialMember(t, addr).join(), dialMember(t, addr).join()
	a.send("\n\r\n/nope\n  \n")
	if got := b.next(5 * time.Second); got != "("+a.id+") /nope" {
		t.Fatalf("got %q, want the unknown /command delivered as text", got)
	}
	if got := b.next(5 * time.Second); got != "("+a.id+")   " {
		t.Fatalf("got %q, want a line of spaces delivered (only empty lines are dropped)", got)
	}
}

// A member that stops reading is disconnected, and while that happens the
// others, who read, get every line in order. The stalled peer is made by
// the listener (its writes never complete), not by small socket buffers, so
// the test does not depend on the kernel's buffer sizes.
func TestChatSlowMemberDisconnectedOthersServed(t *testing.T) {
	const readers, lines = 20, 100
	l, err := testnet.Listen()
	if err != nil {
		t.Fatal(err)
	}
	_, chat, addr := chatServerOn(t, l, func(e *endpoint.Endpoint) { e.SendQueueLen = 16 })
	slow := dialMember(t, addr).join()
	l.Stall(slow.conn.LocalAddr()) // from now on it reads nothing
	got := readAll(t, addr, readers)
	sender := dialMember(t, addr).join()
	var batch strings.Builder
	for i := range lines {
		fmt.Fprintf(&batch, "line %d\n", i)
	}
	sender.send(batch.String())
	for i, ch := range got {
		for n := range lines {
			if want := fmt.Sprintf("(%s) line %d", sender.id, n); nextOf(t, ch) != want {
				t.Fatalf("reader %d: line %d is not %q", i, n, want)
			}
		}
	}
	// The server closed the stalled member's connection.
	slow.conn.SetReadDeadline(time.Now().Add(hangTimeout))
	if _, err := io.Copy(io.Discard, slow.conn); err != nil {
		t.Fatalf("stalled member: want the server to have closed the connection, got %v", err)
	}
	if n := chat.Members(); n != readers+1 {
		t.Fatalf("%d members left, want the %d readers and the sender", n, readers+1)
	}
}

// A member writing as fast as it can is slowed to the pace the room delivers:
// every member that reads gets every line in order, and nobody is
// disconnected, not even with queues far shorter than the burst.
func TestChatFastWriterDisconnectsNobody(t *testing.T) {
	const readers, lines = 20, 2000
	_, chat, addr := chatServer(t, func(e *endpoint.Endpoint) { e.SendQueueLen = 4 })
	got := readAll(t, addr, readers)
	sender := dialMember(t, addr).join()
	var batch strings.Builder
	for i := range lines {
		fmt.Fprintf(&batch, "line %d %s\n", i, strings.Repeat("x", 100))
	}
	go sender.conn.Write([]byte(batch.String())) // larger than the socket buffers may hold
	for i, ch := range got {
		for n := range lines {
			if want := fmt.Sprintf("(%s) line %d %s", sender.id, n, strings.Repeat("x", 100)); nextOf(t, ch) != want {
				t.Fatalf("reader %d: line %d is not %.40q", i, n, want)
			}
		}
	}
	if n := chat.Members(); n != readers+1 {
		t.Fatalf("%d members left, want all %d", n, readers+1)
	}
}

// readAll joins n members that read every line they are sent onto their
// channel, which is closed when the connection ends.
func readAll(t *testing.T, addr string, n int) []chan string {
	got := make([]chan string, n)
	for i := range n {
		m := dialMember(t, addr).join()
		got[i] = make(chan string, 64)
		go func() {
			defer close(got[i])
			m.conn.SetReadDeadline(time.Now().Add(2 * hangTimeout))
			for {
				line, err := m.r.ReadString('\n')
				if err != nil {
					return
				}
				got[i] <- strings.TrimSuffix(line, "\n")
			}
		}()
	}
	return got
}

// nextOf returns the next line from ch, failing the test if none comes
// within hangTimeout or the connection ended.
func nextOf(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case line, ok := <-ch:
		if !ok {
			t.Fatal("the member was disconnected")
		}
		return line
	case <-time.After(hangTimeout):
		t.Fatal("no line within the timeout")
	}
	return ""
}

func TestChatThousandMembersEachReceiveOnce(t *testing.T) {
	const n = 1000
	_, chat, addr := chatServer(t, nil)
	members := make([]*member, n)
	var wg sync.WaitGroup
	for i := range members {
		members[i] = dialMember(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			members[i].send("CHAT\n")
		}()
	}
	wg.Wait()
	for _, m := range members {
		if line := m.next(10 * time.Second); !strings.HasPrefix(line, "client id: ") {
			t.Fatalf("got %q, want the id line", line)
		}
	}
	if got := chat.Broadcast("once"); got != n {
		t.Fatalf("Broadcast reached %d members, want %d", got, n)
	}
	chat.Broadcast("END")
	for i, m := range members {
		if got := m.next(10 * time.Second); got != "once" {
			t.Fatalf("member %d got %q, want once", i, got)
		}
		if got := m.next(10 * time.Second); got != "END" {
			t.Fatalf("member %d got %q after the broadcast, want END: a broadcast arrived twice", i, got)
		}
	}
}

func TestChatUnixSocketMembersGetRunUniqueIDs(t *testing.T) {
	e := &endpoint.Endpoint{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	handlers.Register(e)
	path := t.TempDir() + "/chat.sock"
	l, err := endpoint.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() { e.Close() })
	join := func() (net.Conn, *bufio.Reader, string) {
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		io.WriteString(conn, "CHAT\n")
		r := bufio.NewReader(conn)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r.ReadString('\n')
		id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "client id: ")
		if err != nil || !ok || !strings.HasPrefix(id, "unix-") {
			t.Fatalf("join line %q, %v; want client id: unix-N", line, err)
		}
		return conn, r, id
	}
	a, _, idA := join()
	_, rb, idB := join()
	if idA == idB {
		t.Fatalf("two unix members share the id %q", idA)
	}
	io.WriteString(a, "over a unix socket\n")
	if line, _ := rb.ReadString('\n'); line != "("+idA+") over a unix socket\n" {
		t.Fatalf("got %q", line)
	}
}

// TestChatNodeQualifiesIDs: with Node set, IDs are NODE/IP:PORT in the
// client id line, in delivered lines and in the stats.
func TestChatNodeQualifiesIDs(t *testing.T) {
	_, chat, addr := chatServer(t, nil)
	chat.Node = "n1"
	a, b := dialMember(t, addr), dialMember(t, addr)
	for _, m := range []*member{a, b} {
		m.send("CHAT\n")
		m.id = strings.TrimPrefix(m.next(5*time.Second), "client id: ")
		if want := "n1/" + m.conn.LocalAddr().String(); m.id != want {
			t.Fatalf("id %q, want %q", m.id, want)
		}
	}
	a.send("hi\n")
	if got, want := b.next(5*time.Second), "("+a.id+") hi"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := chat.Stats()[0].ID; got != a.id {
		t.Fatalf("Stats ID %q, want %q", got, a.id)
	}
}
