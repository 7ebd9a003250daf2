package endpoint

import (
	"errors"
	"strings"
)

// Errors returned by the Endpoint and the Client.
var (
	// ErrEndpointClosed is returned by Serve and ListenAndServe after Shutdown
	// or Close.
	ErrEndpointClosed = errors.New("endpoint: endpoint closed")
	// ErrClientClosed is returned by calls on a Client after Close.
	ErrClientClosed = errors.New("endpoint: client closed")
	// ErrConnBroken is wrapped by the error of every call that was pending, or
	// is made, after a Client's connection failed.
	ErrConnBroken = errors.New("endpoint: connection broken")
	// ErrUnknownCommand is wrapped by the error for a command with no handler.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrTooManyConns is sent to a connection over the MaxConns limit.
	ErrTooManyConns = errors.New("too many connections")
	// ErrInternal is sent for a request whose handler panicked.
	ErrInternal = errors.New("internal error")
)

// A ProtocolError is an error after which the connection's stream cannot be
// trusted, such as a payload over its limit or one that cannot be decoded: the
// endpoint replies with an "ERR" line and then closes the connection.
type ProtocolError struct {
	Err error
}

func (e *ProtocolError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// A RemoteError is an "ERR" reply received by a Client: the server understood
// the request and refused it. Test for it with errors.As.
type RemoteError struct {
	Command string // the command that was refused
	Message string // the text after "ERR "
}

func (e *RemoteError) Error() string {
	return "endpoint: " + e.Command + ": " + e.Message
}

// errLine is the one-line "ERR" reply for err: newlines in its text become
// spaces, since an error reply is one line.
func errLine(err error) string {
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
	}
	return "ERR " + msg
}
