package codec

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/pkg/errors"
)

// ReadLine reads one line from r and returns it without its "\n" and without
// one trailing "\r" (telnet sends CRLF). A line longer than max bytes (not
// counting its terminator) fails with ErrLineTooLong as soon as more than max
// bytes of it (and room for a "\r") have arrived without a newline, whatever
// max is next to r's buffer: a peer cannot make the caller wait for the end of
// a line that is already too long. At most max+1 bytes of the line are held;
// the rest of it is left unread. A max of zero or less means no limit beyond
// memory, and is meant only for trusted peers.
//
// When the line fits in r's buffer, the returned slice points into that buffer
// and is valid only until the next read from r; nothing is allocated. A longer
// line is assembled in a new slice.
//
// At end of input ReadLine returns io.EOF if nothing was read, and
// io.ErrUnexpectedEOF if a partial line was.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	var long []byte // the start of a line longer than r's buffer
	for {
		// Look only at what has arrived: a read could wait.
		buf, _ := r.Peek(r.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line := buf[:i+1]
			if long != nil {
				line = append(long, line...)
			}
			r.Discard(i + 1)
			return checkLen(trimEOL(line), max)
		}
		if max > 0 && tooLong(long, buf, max) {
			return nil, ErrLineTooLong
		}
		if len(buf) == r.Size() {
			long = append(long, buf...)
			r.Discard(len(buf))
			buf = nil
		}
		// Wait for at least one more byte.
		if _, err := r.Peek(len(buf) + 1); err != nil && r.Buffered() == len(buf) {
			return nil, partial(len(long)+len(buf), err)
		}
	}
}

// tooLong reports whether a line that starts with long and buf, and has no
// newline yet, is surely longer than max: by more than a "\r".
func tooLong(long, buf []byte, max int) bool {
	n := len(long) + len(buf)
	if n <= max {
		return false
	}
	return n > max+1 || len(buf) > 0 && buf[len(buf)-1] != '\r'
}

func checkLen(line []byte, max int) ([]byte, error) {
	if max > 0 && len(line) > max {
		return nil, ErrLineTooLong
	}
	return line, nil
}

// trimEOL drops the "\n" that ends line and one "\r" before it.
func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// partial turns a read error, after n bytes of a line, into the one ReadLine
// reports.
func partial(n int, err error) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// TrimCommand trims the spaces, tabs and "\r" around a command name, as the
// protocol allows. It does not allocate.
func TrimCommand(line []byte) []byte {
	for len(line) > 0 && isCommandSpace(line[0]) {
		line = line[1:]
	}
	for len(line) > 0 && isCommandSpace(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	return line
}

func isCommandSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' }

// WriteLine writes s and a "\n" to w. It fails with ErrNewline, writing nothing,
// when s contains a newline. The text is buffered; the caller flushes.
func WriteLine(w *bufio.Writer, s string) error {
	if strings.IndexByte(s, '\n') >= 0 {
		return errors.WithStack(ErrNewline)
	}
	w.WriteString(s)
	return w.WriteByte('\n')
}
