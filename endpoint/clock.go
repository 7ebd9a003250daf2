package endpoint

import "time"

// The coarse clock. Reading the clock costs about 50 ns on this project's
// machine, a sixth of what a pipelined STRING request costs, and a
// connection must check its deadlines at every request's start. So it checks
// them against Endpoint.coarse, the time as of the last tick of a ticker that
// runs while the endpoint serves or has connections, and reads the real
// clock only to set a deadline. A tick is at most 1/128 of IdleTimeout,
// within the 1/64 by which a deadline may differ from the one wanted (see
// renewDeadlines).

// holdClockLocked counts a user of the coarse clock (a Serve call, a
// connection), starting the ticker for the first; e.mu is held.
func (e *Endpoint) holdClockLocked() {
	e.clockUsers++
	if e.clockUsers > 1 {
		return
	}
	e.coarse.Store(time.Now().UnixNano())
	idle := e.idleTimeout()
	if idle <= 0 {
		return // no deadlines to check
	}
	stop := make(chan struct{})
	e.clockStop = stop
	t := time.NewTicker(min(max(idle/128, time.Millisecond), time.Second))
	go func() {
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				e.coarse.Store(now.UnixNano())
			case <-stop:
				return
			}
		}
	}()
}

// releaseClockLocked ends a use of the coarse clock, stopping the ticker
// after the last; e.mu is held.
func (e *Endpoint) releaseClockLocked() {
	e.clockUsers--
	if e.clockUsers == 0 && e.clockStop != nil {
		close(e.clockStop)
		e.clockStop = nil
	}
}
