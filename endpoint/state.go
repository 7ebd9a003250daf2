package endpoint

import "strconv"

// A ConnState is where a connection is in its life, as Endpoint.ConnState
// reports it (the model is net/http's ConnState).
type ConnState int

const (
	// StateNew: accepted, not yet served (a TLS handshake or the greeting
	// happens here). Shutdown lets it start and then closes it.
	StateNew ConnState = iota
	// StateActive: reading, serving or replying to requests.
	StateActive
	// StateIdle: waiting for the next request with nothing buffered.
	// Shutdown closes an idle connection at once.
	StateIdle
	// StateHijacked: taken over by a handler for the rest of its life
	// (a chat member). Shutdown closes it at once.
	StateHijacked
	// StateClosed: closed. The last state.
	StateClosed
)

var stateNames = [...]string{"new", "active", "idle", "hijacked", "closed"}

func (s ConnState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "ConnState(" + strconv.Itoa(int(s)) + ")"
}

// setState moves the connection to s.
func (c *conn) setState(s ConnState) {
	c.mu.Lock()
	c.setStateLocked(s)
	c.mu.Unlock()
}

// setStateLocked moves the connection to s, telling Endpoint.ConnState when
// it changes; c.mu is held.
func (c *conn) setStateLocked(s ConnState) {
	if c.state == s {
		return
	}
	c.state = s
	if hook := c.e.ConnState; hook != nil {
		hook(c.rwc, s)
	}
}
