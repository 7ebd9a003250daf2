package codec

import (
	"bufio"
	"io"
	"strings"

	"github.com/pkg/errors"
)

// ReadLine reads one line from r and returns it without its "\n" and without
// one trailing "\r" (telnet sends CRLF). A line longer than max bytes (not
// counting its terminator) fails with ErrLineTooLong after at most max+2 bytes
// of it (room for a "\r\n") have been held; the rest of it is left unread. A max of zero or less
// means no limit beyond memory, and is meant only for trusted peers.
//
// When the line fits in r's buffer, the returned slice points into that buffer
// and is valid only until the next read from r; nothing is allocated. A longer
// line is assembled in a new slice.
//
// At end of input ReadLine returns io.EOF if nothing was read, and
// io.ErrUnexpectedEOF if a partial line was.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return checkLen(trimEOL(line), max)
	}
	if err != bufio.ErrBufferFull {
		return nil, partial(line, err)
	}
	// The line is longer than r's buffer: assemble it, holding at most the
	// limit and a "\r\n".
	var buf []byte
	for {
		if max > 0 && len(buf)+len(line) > max+2 {
			return nil, ErrLineTooLong
		}
		buf = append(buf, line...)
		if err == nil {
			return checkLen(trimEOL(buf), max)
		}
		if err != bufio.ErrBufferFull {
			return nil, partial(buf, err)
		}
		line, err = r.ReadSlice('\n')
	}
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

// partial turns a read error into the one ReadLine reports.
func partial(read []byte, err error) error {
	if err == io.EOF && len(read) > 0 {
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
