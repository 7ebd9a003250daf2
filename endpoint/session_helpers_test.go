package endpoint_test

import (
	"bufio"
	"encoding/gob"
	"net"
	"strings"
	"testing"
)

// lineAndGobReader reads a stream of reply lines and gob session values.
type lineAndGobReader struct {
	r   *bufio.Reader
	dec *gob.Decoder
}

func newLineAndGobReader(conn net.Conn) *lineAndGobReader {
	r := bufio.NewReader(conn)
	return &lineAndGobReader{r: r, dec: gob.NewDecoder(r)}
}

func (l *lineAndGobReader) line(t *testing.T) string {
	t.Helper()
	s, err := l.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}
