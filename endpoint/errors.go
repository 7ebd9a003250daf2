package endpoint

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/endpoint-rpc/endpoint/codec"
)

// Errors returned by the Endpoint and the Client. Those without the
// "endpoint: " prefix are also sent on the wire, as the text of an "ERR"
// line, and a Client's [*RemoteError] matches them with errors.Is.
var (
	// ErrEndpointClosed is returned by Serve and ListenAndServe after Shutdown
	// or Close.
	ErrEndpointClosed = errors.New("endpoint: endpoint closed")
	// ErrClientClosed is returned by calls on a Client after Close.
	ErrClientClosed = errors.New("endpoint: client closed")
	// ErrConnBroken is wrapped by the error of every call that was pending, or
	// is made, after a Client's connection failed.
	ErrConnBroken = errors.New("endpoint: connection broken")
	// ErrHijacked is returned by a Request's writes once its connection has
	// been hijacked: the Stream owns the connection then.
	ErrHijacked = errors.New("endpoint: connection hijacked")

	// ErrUnknownCommand is wrapped by the error for a command with no handler.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrTooManyConns is sent to a connection over the MaxConns limit.
	ErrTooManyConns = errors.New("too many connections")
	// ErrRoomFull is returned by Request.Hijack, and sent, when MaxMembers
	// connections are hijacked already (chat members, usually).
	ErrRoomFull = errors.New("chat room full")
	// ErrIdleTimeout is sent to a connection closed by the idle timeout.
	ErrIdleTimeout = errors.New("idle timeout")
	// ErrInternal is sent for a request whose handler panicked or failed in a
	// way that would reveal the server's insides (an I/O error, say).
	ErrInternal = errors.New("internal error")
	// ErrBadPayload is sent for a payload that could not be decoded.
	ErrBadPayload = errors.New("invalid payload")
	// ErrIncomplete is sent for a request cut short by the end of the
	// client's input.
	ErrIncomplete = errors.New("incomplete request")
)

// wireErrors pairs the errors a client may be told with the text that starts
// their "ERR" line, so that errText and RemoteError.Is say the same thing.
var wireErrors = []struct {
	err  error
	text string
}{
	{ErrUnknownCommand, "unknown command"},
	{ErrTooManyConns, "too many connections"},
	{ErrRoomFull, "chat room full"},
	{ErrIdleTimeout, "idle timeout"},
	{ErrInternal, "internal error"},
	{ErrBadPayload, "invalid payload"},
	{ErrIncomplete, "incomplete request"},
	{codec.ErrLineTooLong, "line too long"},
	{codec.ErrPayloadTooLarge, "payload too large"},
	{codec.ErrGobRefused, "gob payload refused"},
}

// A ProtocolError is an error after which the connection's stream cannot be
// trusted, such as a payload over its limit or one that cannot be decoded: the
// endpoint replies with an "ERR" line and then closes the connection.
type ProtocolError struct {
	Err error
}

func (e *ProtocolError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// isProtocolError reports whether err wraps a *ProtocolError. It is a
// function of its own so that the target of errors.As is allocated only on
// the error path.
func isProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// A RemoteError is an "ERR" reply received by a Client: the server understood
// the request and refused it. Test for it with errors.As, or for a particular
// refusal with errors.Is and the sentinel errors the server sends
// (ErrUnknownCommand, ErrIdleTimeout, codec.ErrLineTooLong, ...).
type RemoteError struct {
	Command string // the command that was refused
	Message string // the text after "ERR "
}

func (e *RemoteError) Error() string {
	return "endpoint: " + e.Command + ": " + e.Message
}

// Is reports whether the server's message is the one it sends for target.
func (e *RemoteError) Is(target error) bool {
	for _, w := range wireErrors {
		if w.err == target {
			return e.Message == w.text || strings.HasPrefix(e.Message, w.text+" ") || strings.HasPrefix(e.Message, w.text+":")
		}
	}
	return false
}

// errText is what the client is told of err, the text of its "ERR" line: the
// wire text of a known error, with what the client may know of it (a limit,
// say); the handler's own words for an error of its own; and ErrInternal for
// one that could carry the server's insides (socket addresses, file paths,
// Go-internal text). limits adds the limit to a limit's error.
func errText(err error, limits func(error) string) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrIdleTimeout.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrIncomplete.Error()
	}
	for _, w := range wireErrors {
		if !errors.Is(err, w.err) {
			continue
		}
		switch w.err {
		case ErrUnknownCommand:
			// What follows is the endpoint's own words: the name.
			return oneLine(err.Error())
		case codec.ErrGobRefused:
			// The checker says why before its sentinel: "<why>: codec:
			// gob payload refused", behind codec's own prefixes.
			why, found := strings.CutSuffix(err.Error(), ": "+codec.ErrGobRefused.Error())
			if i := strings.LastIndex(why, "codec: decode gob: "); i >= 0 {
				why = why[i+len("codec: decode gob: "):]
			}
			if !found || why == "" {
				return w.text
			}
			return oneLine(w.text + ": " + why)
		}
		if l := limits(w.err); l != "" {
			return w.text + " (" + l + ")"
		}
		return w.text
	}
	if revealing(err) {
		return ErrInternal.Error()
	}
	return oneLine(err.Error())
}

// revealing reports whether err comes from the operating system, the network
// or the runtime, whose text names sockets, files and Go's insides.
func revealing(err error) bool {
	var (
		op   *net.OpError
		path *fs.PathError
		sys  *os.SyscallError
		link *os.LinkError
		errn syscall.Errno
		rt   runtime.Error
		ne   net.Error
	)
	return errors.As(err, &op) || errors.As(err, &path) || errors.As(err, &sys) ||
		errors.As(err, &link) || errors.As(err, &errn) || errors.As(err, &rt) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// oneLine makes text fit on one line: an error reply is one line.
func oneLine(text string) string {
	if strings.ContainsAny(text, "\r\n") {
		text = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(text)
	}
	return text
}
