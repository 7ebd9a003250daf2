package endpoint_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// A server that never reads fills the socket buffers, and the Client's write
// blocks. A call's context still ends it: the call blocked in the write and a
// call waiting for the write slot behind it both return when their deadlines
// pass, instead of hanging.
func TestClientContextEndsBlockedWrite(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan net.Conn, 1)
	go func() {
		conn, err := l.Accept()
		if err == nil {
			held <- conn // accepted, never read
		}
	}()
	c, err := endpoint.Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() {
		if conn := <-held; conn != nil {
			conn.Close()
		}
	}()

	big := strings.Repeat("x", 64<<20) // far more than loopback buffers hold
	results := make(chan error, 2)
	call := func(payload string) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.Call(ctx, "STRING", payload)
		results <- err
	}
	go call(big)     // blocks in the write
	go call("small") // blocks waiting for the write slot, or fails with the first
	for range 2 {
		select {
		case err := <-results:
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, endpoint.ErrConnBroken) {
				t.Fatalf("call returned %v, want its deadline's error (or the broken connection's)", err)
			}
		case <-time.After(hangTimeout):
			t.Fatal("a call whose context ended is still blocked writing to a server that does not read")
		}
	}
}
