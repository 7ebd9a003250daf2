package endpoint_test

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// A client still sending an over-long line when the server gives up on it must
// be able to finish writing and then read the ERR line: the server closes its
// side first and drains, instead of closing with input unread (which resets
// the connection and can lose the ERR line and fail the client's write).
func TestOverlongLineErrorSurvivesClientStillWriting(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.MaxLineBytes = 1024 })
	// A small send buffer, set before connecting, keeps the client's write
	// going after the server has stopped reading.
	d := net.Dialer{Control: smallBuffer(syscall.SO_SNDBUF)}
	for round := range 20 {
		conn, err := d.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		// Far more than the limit, and more than the socket buffers hold
		// before the server stops reading.
		wrote := make(chan error, 1)
		go func() {
			_, err := conn.Write([]byte(strings.Repeat("x", 200<<10) + "\n"))
			wrote <- err
		}()
		if err := <-wrote; err != nil {
			t.Fatalf("round %d: the client's write failed: %v (the server reset the connection)", round, err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if !strings.HasPrefix(line, "ERR line too long (limit 1024 bytes)") {
			t.Fatalf("round %d: got %.60q, %v; want the ERR line", round, line, err)
		}
		conn.Close()
	}
}
