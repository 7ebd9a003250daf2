package endpoint

import "time"

// Deadlines. The socket's deadline matters only when the connection has to
// wait, so it is set only then: reading what has already arrived never looks
// at the clock (a pipelined batch is served with no clock reading at all).
//
//   - Waiting for the next request (armIdle): IdleTimeout from now. It also
//     bounds writing out the replies before the wait.
//   - Waiting in the middle of a request, for the rest of its command line or
//     its payload (armRequest): IdleTimeout from the request's start, so that a
//     client cannot stretch one request for ever by trickling it. A request
//     starts when its first byte arrives after an idle wait, or else when it
//     first has to wait.

// armIdle sets the deadline for waiting for the next request. A deadline
// within 1/64 of the one wanted is left as it is, since setting one costs more
// than serving a request.
func (c *conn) armIdle(now time.Time) {
	if c.idle <= 0 {
		c.clearDeadline()
		return
	}
	want := now.Add(c.idle)
	if d := want.Sub(c.deadline); d < -c.idle/64 || d > c.idle/64 {
		c.rwc.SetDeadline(want)
		c.deadline = want
	}
}

// armRequest sets the deadlines for a read that must wait in the middle of a
// request, and for writing out the replies before it.
func (c *conn) armRequest(now time.Time) {
	if c.reqStart.IsZero() {
		c.reqStart = now
	}
	if c.idle <= 0 {
		c.clearDeadline()
		return
	}
	c.rwc.SetReadDeadline(c.reqStart.Add(c.idle))
	c.rwc.SetWriteDeadline(now.Add(c.idle))
	c.deadline = aLongTimeAgo // two deadlines now: armIdle must set its own
}

// clearDeadline removes a deadline that was set (by Shutdown's wake, say)
// when the endpoint has no idle timeout.
func (c *conn) clearDeadline() {
	if !c.deadline.IsZero() {
		c.rwc.SetDeadline(time.Time{})
		c.deadline = time.Time{}
	}
}
