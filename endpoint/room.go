package endpoint

import (
	"strings"
	"sync"
)

// A Room is a set of Streams that receive broadcasts, such as the members of
// a chat. The zero value is an empty room, ready to use; it is safe for many
// goroutines at once.
//
// Broadcast holds the room's lock only to queue lines (Stream.Send never
// blocks) and never writes to a socket, so one stalled member cannot stall the
// others or the sender.
type Room struct {
	mu      sync.RWMutex // protects members
	members map[*Stream]struct{}
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
// returns how many members it was queued for. A member whose queue is full is
// disconnected, as Stream.Send says, and removed from the room. A line that
// contains a newline is sent to nobody.
func (r *Room) Broadcast(line string, except *Stream) int {
	if strings.IndexByte(line, '\n') >= 0 {
		return 0
	}
	var sent int
	var slow []*Stream
	r.mu.RLock()
	for s := range r.members {
		if s == except {
			continue
		}
		if s.enqueue(line) {
			sent++
		} else {
			slow = append(slow, s)
		}
	}
	r.mu.RUnlock()
	for _, s := range slow {
		r.Leave(s)
	}
	return sent
}
