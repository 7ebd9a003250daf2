package endpoint

import (
	"io"
	"net"
	"time"
)

// Closing a socket that still has unread input makes the kernel send a reset,
// which can destroy the "ERR" line written just before, unread, on the
// client's side. So when a connection is closed for bad input, or refused,
// the endpoint first closes its writing side (the client reads the ERR line
// and then end of input), then reads and discards what the client still
// sends, for a moment and a bounded amount, as net/http does before closing
// on an error.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

type closeWriter interface{ CloseWrite() error }

// lingerClose shuts rwc's writing side and discards its input for a moment;
// the caller then closes it.
func lingerClose(rwc net.Conn) {
	cw, ok := rwc.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	rwc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, rwc, lingerBytes)
}
