package endpoint

// SetTestHookShutdownWoken has f called once Shutdown has woken every idle
// connection, for tests of what a connection does when that lands.
func SetTestHookShutdownWoken(f func()) { testHookShutdownWoken = f }
