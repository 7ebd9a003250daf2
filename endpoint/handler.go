package endpoint

import (
	"bufio"
	"context"
	"crypto/tls"
)

// A Handler serves one command. ServeCommand reads the command's payload, if it
// has one, from req.RW and writes its reply to req.RW; the endpoint flushes the
// reply. A non-nil error is sent to the client as one "ERR" line instead, so a
// handler that fails must not have written a reply. An error that wraps a
// [*ProtocolError] also closes the connection after the "ERR" line: return one
// when the payload could not be read whole, since the stream is then out of step.
//
// ServeCommand runs on the connection's own goroutine, so requests on one
// connection are served in order. It must not keep req after it returns.
type Handler interface {
	ServeCommand(ctx context.Context, req *Request) error
}

// HandlerFunc adapts a plain function to [Handler].
type HandlerFunc func(ctx context.Context, req *Request) error

// ServeCommand calls f(ctx, req).
func (f HandlerFunc) ServeCommand(ctx context.Context, req *Request) error {
	return f(ctx, req)
}

// A Request is one command received on a connection. The endpoint reuses it for
// the connection's next request, so a handler must not keep it.
type Request struct {
	// Command is the command's registered name.
	Command string
	// RemoteAddr is the client's address as the endpoint sees it, such as
	// "127.0.0.1:50000"; a client with no address (a unix socket client,
	// usually) is named "unix-N", unique within the endpoint's run.
	RemoteAddr string
	// TLS is the connection's TLS state, with the verified client
	// certificate under mutual TLS; nil without TLS.
	TLS *tls.ConnectionState
	// Cred is the peer process's credentials on a unix socket where the
	// operating system tells them (Linux); nil otherwise.
	Cred *PeerCred
	// RW reads the request's payload and buffers its reply. Read from it only
	// through the bounded readers (ReadLine, DecodeGob, or a reader of your own
	// with a limit) and write exactly one reply.
	RW *bufio.ReadWriter

	c *conn
}
