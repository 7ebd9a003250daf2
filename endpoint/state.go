package endpoint

import "time"

// A connection's state, in conn.state: Shutdown reads it to decide whether a
// connection may be woken (it waits for a command) or must be waited for (it
// serves one). The connection's goroutine changes it with atomic operations
// alone; only a connection that meets a Shutdown waking it takes conn.mu.
const (
	stateIdle     int32 = iota // waiting for a command line
	stateActive                // reading, serving or replying to a request
	stateWaking                // Shutdown is setting a past read deadline
	stateWoken                 // Shutdown has set a past read deadline
	stateHijacked              // taken over by a handler for its whole life
)

// waiting reports whether the connection waits for a command line.
func (c *conn) waiting() bool {
	s := c.state.Load()
	return s == stateIdle || s == stateWaking || s == stateWoken
}

// setIdle marks the connection as waiting for a command line (a connection
// that Shutdown has woken stays so). If the endpoint is shutting down, the
// connection drains: it serves what has already arrived and then closes.
func (c *conn) setIdle() {
	c.state.CompareAndSwap(stateActive, stateIdle)
	if c.e.inShutdown.Load() {
		c.draining = true
	}
}

// setActive marks the connection as serving a request. If Shutdown woke it
// with a past read deadline, the next wait sets one afresh.
func (c *conn) setActive() {
	switch c.state.Load() {
	case stateActive: // a pipelined request: it never went idle
		return
	case stateIdle:
		if c.state.CompareAndSwap(stateIdle, stateActive) {
			return
		}
	}
	c.mu.Lock() // waits for a Shutdown that is waking the connection
	c.state.Store(stateActive)
	c.deadline = aLongTimeAgo // surely not the one wanted: it is set anew
	c.mu.Unlock()
}

// woken reports whether Shutdown has woken the waiting connection, and if so
// makes it drain. A connection checks after setting its own deadline, which
// may have overwritten the past one Shutdown set to wake it.
func (c *conn) woken() bool {
	if s := c.state.Load(); s != stateWaking && s != stateWoken {
		return false
	}
	c.draining = true
	return true
}

// wakeForShutdown makes a waiting connection's blocked read return, so that
// it notices the shutdown; a hijacked connection is closed outright.
func (c *conn) wakeForShutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.CompareAndSwap(stateIdle, stateWaking) {
		c.rwc.SetReadDeadline(aLongTimeAgo)
		c.state.Store(stateWoken)
	} else if c.state.Load() == stateHijacked {
		c.cancel()
		c.stream.close(false)
	}
}

var aLongTimeAgo = time.Unix(1, 0)
