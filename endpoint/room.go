package endpoint

import (
	"strings"
	"sync"
	"time"
)

// DefaultSlowWait is how long Room.Broadcast waits for room in a member's
// full queue before it disconnects that member, where Room.SlowWait is zero.
const DefaultSlowWait = time.Second

// A Room is a set of Streams that receive broadcasts, such as the members of
// a chat. The zero value is an empty room, ready to use; it is safe for many
// goroutines at once.
//
// The flow-control policy: a member that keeps reading is never disconnected
// because another writes fast, and one that stops reading never stalls the
// others for long. Broadcast queues a line for every member without waiting;
// for a member whose queue is full it then waits, up to SlowWait in all, for
// room, and disconnects the members still full after that. The caller of
// Broadcast (a chat member's reading loop, say) is held up meanwhile, so a
// member that writes faster than the room delivers is slowed to its pace,
// and every line the room accepted reaches every member that keeps reading,
// in the order written. No socket is written while the room's lock is held.
type Room struct {
	// SlowWait bounds how long one Broadcast waits for members whose queue
	// is full before it disconnects them. Zero means DefaultSlowWait; a
	// negative value means no wait: a full member is disconnected at once.
	SlowWait time.Duration

	// Broker, if not nil, joins the room with the rooms of the same Name on
	// other nodes: every Broadcast is also published through it, and, once
	// Connect has subscribed the room, the lines of other nodes reach its
	// members. Nil means the room is local to this process. Set both before
	// the room is used.
	Broker Broker
	// Name is the room's name for its Broker (a NATS subject, say).
	Name string

	mu          sync.RWMutex // protects members and unsubscribe
	members     map[*Stream]struct{}
	unsubscribe func() // set by Connect
}

// Join adds s to the room. If welcome is not empty it is sent to s first, as
// part of joining: no broadcast can come between, so a peer that has read its
// welcome line knows that it receives every later broadcast.
func (r *Room) Join(s *Stream, welcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if welcome != "" {
		s.Send(welcome)
	}
	if r.members == nil {
		r.members = make(map[*Stream]struct{})
	}
	r.members[s] = struct{}{}
}

// Leave removes s from the room.
func (r *Room) Leave(s *Stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.members, s)
}

// Len returns the number of members.
func (r *Room) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.members)
}

// Broadcast sends line to every member but except (which may be nil) and
// returns how many members it was queued for. A member whose queue stays full
// for SlowWait is disconnected and removed from the room, as the Room's
// policy says. A line that contains a newline is sent to nobody. With a
// Broker the line is also published to the other nodes, after the local
// members have it; the count is of local members only.
func (r *Room) Broadcast(line string, except *Stream) int {
	return r.BroadcastFrom("", line, except)
}

// BroadcastFrom is Broadcast of a line written by the member whose ID is
// member, which the Broker's Message carries to the other nodes. A Broker's
// failure to publish does not fail the local delivery: the line reaches this
// node's members only (the Broker reports its own failures).
func (r *Room) BroadcastFrom(member, line string, except *Stream) int {
	if strings.IndexByte(line, '\n') >= 0 {
		return 0
	}
	sent := r.broadcastLocal(line, except)
	if r.Broker != nil {
		_ = r.Broker.Publish(r.Name, Message{Member: member, Text: line})
	}
	return sent
}

// broadcastLocal is Broadcast to this node's members only.
func (r *Room) broadcastLocal(line string, except *Stream) int {
	var sent int
	var full []*Stream
	r.mu.RLock()
	for s := range r.members {
		if s == except {
			continue
		}
		switch s.offer(line) {
		case offerQueued:
			sent++
		case offerFull:
			full = append(full, s)
		}
	}
	r.mu.RUnlock()
	if len(full) > 0 {
		sent += r.waitForRoom(full, line)
	}
	return sent
}

// waitForRoom queues line for members whose queue was full, waiting up to
// SlowWait in all, and disconnects those still full then.
func (r *Room) waitForRoom(full []*Stream, line string) int {
	wait := r.SlowWait
	if wait == 0 {
		wait = DefaultSlowWait
	}
	var expired <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}
	sent := 0
	for _, s := range full {
		if expired != nil {
			select {
			case s.queue <- line:
				sent++
				continue
			case <-s.done:
				continue
			case <-expired:
				expired = nil // the time is up for every member after this one too
			}
		}
		if s.offer(line) == offerQueued {
			sent++
			continue
		}
		s.tooSlow()
		r.Leave(s)
	}
	return sent
}
