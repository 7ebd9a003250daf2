package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"text/tabwriter"

	"github.com/endpoint-rpc/endpoint/codec"
	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/pkg/errors"
)

// Chat serves CHAT: the connection joins a chat room for the rest of its
// life. The member is first sent "client id: ID", ID being its remote address
// as the endpoint names it (IP:PORT, or "unix-N" for a unix socket client). Each later line it writes goes to
// every other member as "(ID) text"; the sender gets no copy and empty lines
// are dropped. "/mute" makes the member's lines counted but not delivered,
// "/unmute" ends that, and "/quit" closes the connection; these three are
// recognised without regard to ASCII case, with spaces and "\r" around them
// trimmed. A member over the endpoint's MaxMembers gets ErrRoomFull and stays
// a request/reply connection.
//
// Chat counts, for every member of the run, the messages it delivered to the
// room and those it sent while muted, and whether it left with /quit.
//
// It logs, at level Info with the member's ID, each member's joining, its
// /mute, /unmute and /quit, and its leaving, with why it left and its counts.
type Chat struct {
	// Logger receives the chat's log lines. Nil means slog.Default(), as for
	// an Endpoint's Logger; slog.New(slog.DiscardHandler) silences them. Set
	// it before the chat serves its first member.
	Logger *slog.Logger
	// Node, if not empty, qualifies every member's ID as "NODE/IP:PORT", so
	// that IDs never collide in a room that spans nodes (see Room). Set it
	// before the chat serves its first member.
	Node string

	room endpoint.Room

	mu      sync.Mutex // protects members
	members []*MemberStats
}

// MemberStats are one chat member's figures for the run.
type MemberStats struct {
	ID        string
	Delivered int  // messages delivered to the room, each counted once
	Muted     int  // messages sent while muted
	Quit      bool // left with /quit
}

// NewChat returns an empty chat room.
func NewChat() *Chat { return new(Chat) }

// ServeCommand serves one member until it leaves.
func (ch *Chat) ServeCommand(_ context.Context, req *endpoint.Request) error {
	s, err := req.Hijack()
	if err != nil {
		return err // the room is full: the connection goes on serving requests
	}
	id := req.RemoteAddr
	if ch.Node != "" {
		id = ch.Node + "/" + id
	}
	m := ch.join(id)
	ch.room.Join(s, "client id: "+m.ID)
	log := ch.logger()
	log.Info("chat member joined", "member", m.ID, "members", ch.room.Len())
	why := "closed" // the member hung up, or the endpoint closed the connection
	defer func() {
		ch.room.Leave(s)
		got := ch.member(m)
		log.Info("chat member left", "member", got.ID, "reason", why,
			"delivered", got.Delivered, "muted", got.Muted, "members", ch.room.Len())
	}()

	muted := false
	for {
		line, err := s.ReadLine()
		if errors.Is(err, codec.ErrLineTooLong) {
			why = "line too long"
			return &endpoint.ProtocolError{Err: err}
		}
		if err != nil {
			return nil // the member hung up, or the connection was closed
		}
		if len(line) == 0 {
			continue
		}
		switch cmd := bytes.TrimSpace(line); {
		case bytes.EqualFold(cmd, []byte("/quit")):
			ch.update(func() { m.Quit = true })
			why = "quit"
			log.Info("chat member quit", "member", m.ID)
			return nil
		case bytes.EqualFold(cmd, []byte("/mute")):
			muted = true
			log.Info("chat member muted", "member", m.ID)
			continue
		case bytes.EqualFold(cmd, []byte("/unmute")):
			muted = false
			log.Info("chat member unmuted", "member", m.ID)
			continue
		}
		if muted {
			ch.update(func() { m.Muted++ })
			continue
		}
		ch.update(func() { m.Delivered++ })
		ch.room.BroadcastFrom(m.ID, "("+m.ID+") "+string(line), s)
	}
}

// join records a new member.
func (ch *Chat) join(id string) *MemberStats {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	m := &MemberStats{ID: id}
	ch.members = append(ch.members, m)
	return m
}

// member returns a copy of m's figures.
func (ch *Chat) member(m *MemberStats) MemberStats {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return *m
}

// logger returns where the chat logs.
func (ch *Chat) logger() *slog.Logger {
	if ch.Logger != nil {
		return ch.Logger
	}
	return slog.Default()
}

func (ch *Chat) update(f func()) {
	ch.mu.Lock()
	f()
	ch.mu.Unlock()
}

// Broadcast sends line to every member, as the server's console does, and
// returns how many members it was queued for. It fails for a line with a
// newline.
func (ch *Chat) Broadcast(line string) int {
	return ch.room.Broadcast(line, nil)
}

// Room returns the chat's room, for setting its Broker and Name (and then
// calling Connect) before the chat serves its first member, so that the
// chat spans the nodes of that broker.
func (ch *Chat) Room() *endpoint.Room { return &ch.room }

// Members returns the number of members in the room now.
func (ch *Chat) Members() int { return ch.room.Len() }

// Stats returns every member of the run, in the order they joined.
func (ch *Chat) Stats() []MemberStats {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	out := make([]MemberStats, len(ch.members))
	for i, m := range ch.members {
		out[i] = *m
	}
	return out
}

// WriteTable writes the run's figures, one member a row after a header:
// ID, messages delivered, messages muted, and whether it left with /quit.
// The columns are aligned for people to read, with spaces (never tabs)
// between them and none at the end of a line, so that splitting a line at
// runs of spaces gives its four fields.
func (ch *Chat) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "id\tdelivered\tmuted\tquit")
	for _, m := range ch.Stats() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%t\n", m.ID, m.Delivered, m.Muted, m.Quit)
	}
	tw.Flush() // it cannot fail: b takes everything
	_, err := w.Write(b.Bytes())
	return errors.Wrap(err, "handlers: write chat table")
}
