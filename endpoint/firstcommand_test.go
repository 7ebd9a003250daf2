package endpoint_test

import (
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// TestFirstCommandChat: with FirstCommand "CHAT" every connection is a chat
// member from the start, after the greeting, with nothing to type.
func TestFirstCommandChat(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.Greeting = "multiecho server v1.0"
		e.FirstCommand = "CHAT"
	})
	a, b := s.dial(t), s.dial(t)
	var ids []string
	for _, c := range []*rawConn{a, b} {
		c.expect("multiecho server v1.0")
		line, err := c.readLine()
		if err != nil || !strings.HasPrefix(line, "client id: ") {
			t.Fatalf("second line %q, %v; want client id: ID", line, err)
		}
		ids = append(ids, strings.TrimPrefix(line, "client id: "))
	}
	a.write("hello\r\n")
	b.expect("(" + ids[0] + ") hello")
	b.write("PING\n") // a message now, not a command
	a.expect("(" + ids[1] + ") PING")
	a.write("/QUIT\n")
	a.expectClosed()
}

// TestFirstCommandRoomFull: a connection over MaxMembers gets the room's
// ERR line and goes on serving requests, as after a CHAT it sent itself.
func TestFirstCommandRoomFull(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) {
		e.FirstCommand = "CHAT"
		e.MaxMembers = 1
	})
	a := s.dial(t)
	if line, err := a.readLine(); err != nil || !strings.HasPrefix(line, "client id: ") {
		t.Fatalf("first member: %q, %v", line, err)
	}
	b := s.dial(t)
	b.expectErr("chat room full")
	b.ping()
}

// TestFirstCommandUnknown: an unknown FirstCommand is the unknown-command
// ERR line, and the connection stays open.
func TestFirstCommandUnknown(t *testing.T) {
	s := startServer(t, "tcp", func(e *endpoint.Endpoint) { e.FirstCommand = "NOPE" })
	c := s.dial(t)
	c.expectErr(`unknown command "NOPE"`)
	c.ping()
}
