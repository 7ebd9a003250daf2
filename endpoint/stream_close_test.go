package endpoint_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// A hijacked connection whose peer has stopped reading is closed by Shutdown
// at once, even while its Stream is being closed with a flush (as when a chat
// member's handler returns): the flush gives up after a second, and a hard
// close always closes the socket.
func TestStreamCloseWithUnreadPeerDoesNotHangShutdown(t *testing.T) {
	returned := make(chan struct{})
	s := startServerWith(t, "tcp", func(e *endpoint.Endpoint) {
		e.Logger = slog.New(slog.DiscardHandler)
		e.HandleFunc("FLOOD", func(_ context.Context, req *endpoint.Request) error {
			st, err := req.Hijack()
			if err != nil {
				return err
			}
			line := strings.Repeat("x", 64<<10)
			for range 200 { // 12.8 MB, more than the socket buffers; fewer lines than the queue holds
				if !st.Send(line) {
					panic("Send failed")
				}
			}
			close(returned)
			return nil // as a chat member's handler does after /quit
		})
	})
	// A small receive buffer, set before connecting, so the socket
	// buffers hold far less than the handler sends.
	d := net.Dialer{Control: smallBuffer(syscall.SO_RCVBUF)}
	conn, err := d.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("FLOOD\n")); err != nil {
		t.Fatal(err)
	}
	<-returned // the handler returned: the Stream is being closed with flush

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.E.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown returned %v after %v: the hijacked connection, whose peer does not read, was neither closed at once nor within Stream.Close's second",
			err, time.Since(start).Round(time.Millisecond))
	}
}
