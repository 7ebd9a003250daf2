package endpoint

import "time"

// armFor keeps the connection's deadline where it should be at time now:
// IdleTimeout after now while the connection waits for a command, and
// IdleTimeout after the request began while it serves one, so that a client
// cannot stretch one request for ever by trickling its payload.
//
// It is called before each read from the socket, not for each request: a
// pipelined batch is served from the buffer with no clock reading at all, and
// a deadline within 1/64 of the one wanted is left as it is, since setting
// one costs more than serving a request.
func (c *conn) armFor(now time.Time) {
	if c.idle <= 0 {
		// No timeout; but a connection that Shutdown woke with a past
		// deadline (setActive then sets c.deadline) must read its payload.
		if !c.deadline.IsZero() {
			c.rwc.SetDeadline(time.Time{})
			c.deadline = time.Time{}
		}
		return
	}
	want := now.Add(c.idle)
	if c.state.Load() == stateActive {
		want = c.reqStart.Add(c.idle)
	}
	if d := want.Sub(c.deadline); d < -c.idle/64 || d > c.idle/64 {
		c.rwc.SetDeadline(want)
		c.deadline = want
	}
}
