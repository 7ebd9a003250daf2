package endpoint_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// connection, Serve loop and Client reader must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
