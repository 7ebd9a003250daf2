package endpoint

// SetTestHookShutdownWoken has f called once Shutdown has woken every idle
// connection, for tests of what a connection does when that lands.
func SetTestHookShutdownWoken(f func()) { testHookShutdownWoken = f }

// QueuedForTest returns how many calls have requests waiting for the
// writer, for tests of write coalescing.
func (c *Client) QueuedForTest() uint64 {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.queued
}
