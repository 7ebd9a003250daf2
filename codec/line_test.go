package codec_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
)

// readerOf returns a bufio.Reader of the given buffer size over s.
func readerOf(s string, size int) *bufio.Reader {
	return bufio.NewReaderSize(strings.NewReader(s), size)
}

// bufSizes are the reader buffer sizes tried: the smallest bufio allows
// (so that most lines take the slow path) and the default.
var bufSizes = []int{16, 4096}

func TestReadLine(t *testing.T) {
	for _, size := range bufSizes {
		for _, tc := range []struct {
			in    string
			max   int
			lines []string // the lines read, in order
			err   error    // then this error
		}{
			{"abc\n", 3, []string{"abc"}, io.EOF},
			{"abc\r\n", 3, []string{"abc"}, io.EOF}, // the "\r" does not count
			{"abcd\n", 3, nil, codec.ErrLineTooLong},
			{"abcd\r\n", 3, nil, codec.ErrLineTooLong},
			{"abc\r\r\n", 3, nil, codec.ErrLineTooLong}, // only one "\r" is trimmed
			{"ab\r\r\n", 3, []string{"ab\r"}, io.EOF},
			{"\n\r\n", 3, []string{"", ""}, io.EOF},
			{"a\rb\n", 3, []string{"a\rb"}, io.EOF},
			{"one\ntwo\r\nthree\n", 5, []string{"one", "two", "three"}, io.EOF},
			{"", 3, nil, io.EOF},
			{"abc", 3, nil, io.ErrUnexpectedEOF}, // a partial line at EOF
			{"ok\nab", 3, []string{"ok"}, io.ErrUnexpectedEOF},
			{"ok\n\r", 3, []string{"ok"}, io.ErrUnexpectedEOF},
			{strings.Repeat("x", 100) + "\n", 100, []string{strings.Repeat("x", 100)}, io.EOF},
			{strings.Repeat("x", 101) + "\n", 100, nil, codec.ErrLineTooLong},
			{strings.Repeat("x", 100) + "\r\n", 100, []string{strings.Repeat("x", 100)}, io.EOF},
			{strings.Repeat("x", 5000) + "\nnext\n", 5000, []string{strings.Repeat("x", 5000), "next"}, io.EOF},
			{strings.Repeat("x", 5001) + "\n", 5000, nil, codec.ErrLineTooLong},
			{strings.Repeat("x", 50000), 100, nil, codec.ErrLineTooLong},
			{strings.Repeat("x", 5000) + "\n", 0, []string{strings.Repeat("x", 5000)}, io.EOF},  // no limit
			{strings.Repeat("x", 5000) + "\n", -1, []string{strings.Repeat("x", 5000)}, io.EOF}, // no limit
		} {
			r := readerOf(tc.in, size)
			var got []string
			var err error
			for {
				var line []byte
				line, err = codec.ReadLine(r, tc.max)
				if err != nil {
					break
				}
				got = append(got, string(line))
			}
			if strings.Join(got, "|") != strings.Join(tc.lines, "|") || len(got) != len(tc.lines) || !errors.Is(err, tc.err) {
				t.Errorf("buffer %d, ReadLine(%.30q, %d): lines %.40q then %v; want %.40q then %v", size, tc.in, tc.max, got, err, tc.lines, tc.err)
			}
		}
	}
}

// TestReadLineHoldsNoMoreThanTheLimit checks that a line over the limit is
// refused without reading much more of it than the limit: a hostile peer
// sending a huge line must not make the reader hold it.
func TestReadLineHoldsNoMoreThanTheLimit(t *testing.T) {
	const max, size = 100, 16
	src := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20) + "\n")}
	_, err := codec.ReadLine(bufio.NewReaderSize(src, size), max)
	if !errors.Is(err, codec.ErrLineTooLong) {
		t.Fatalf("a line of a MiB: %v, want ErrLineTooLong", err)
	}
	if src.n > max+2+size {
		t.Fatalf("read %d bytes of a line of a MiB with limit %d, want at most %d", src.n, max, max+2+size)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTrimCommand(t *testing.T) {
	for in, want := range map[string]string{
		"PING":             "PING",
		"  PING \t\r":      "PING",
		"\t\r PING":        "PING",
		" TWO WORDS ":      "TWO WORDS",
		" \t\r ":           "",
		"":                 "",
		"\u00a0PING\u00a0": "\u00a0PING\u00a0", // only ASCII spaces, tabs and CRs
	} {
		if got := string(codec.TrimCommand([]byte(in))); got != want {
			t.Errorf("TrimCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteLine(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	for _, s := range []string{"hello", "", "with\rCR"} {
		if err := codec.WriteLine(w, s); err != nil {
			t.Fatalf("WriteLine(%q): %v", s, err)
		}
	}
	for _, s := range []string{"two\nlines", "\n", "end\n"} {
		if err := codec.WriteLine(w, s); !errors.Is(err, codec.ErrNewline) {
			t.Errorf("WriteLine(%q) = %v, want ErrNewline", s, err)
		}
	}
	w.Flush()
	if got, want := b.String(), "hello\n\nwith\rCR\n"; got != want {
		t.Fatalf("wrote %q, want %q (a refused line must write nothing)", got, want)
	}
}

// TestReadLineRefusesBeforeTheLineEnds is the refusal that does not wait: a
// line over the limit is refused as soon as more than the limit has arrived,
// also when the limit is below the reader's buffer size and the peer then
// sends nothing more (the writer below never closes).
func TestReadLineRefusesBeforeTheLineEnds(t *testing.T) {
	for _, tc := range []struct{ max, size, sent int }{
		{1024, 4096, 3 << 10},
		{10, 4096, 12},
		{10, 16, 12},
		{5000, 4096, 5002},
	} {
		pr, pw := io.Pipe()
		go pw.Write([]byte(strings.Repeat("x", tc.sent)))
		got := make(chan error, 1)
		go func() {
			_, err := codec.ReadLine(bufio.NewReaderSize(pr, tc.size), tc.max)
			got <- err
		}()
		select {
		case err := <-got:
			if !errors.Is(err, codec.ErrLineTooLong) {
				t.Errorf("limit %d, %d bytes sent: %v, want ErrLineTooLong", tc.max, tc.sent, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("limit %d, %d bytes sent without a newline: ReadLine still waits for the line's end", tc.max, tc.sent)
		}
		pr.Close()
	}
	// One byte over the limit may still be the "\r" of a "\r\n": that line
	// is good.
	r := bufio.NewReaderSize(strings.NewReader("12345\r\n"), 16)
	if line, err := codec.ReadLine(r, 5); err != nil || string(line) != "12345" {
		t.Fatalf("a line at the limit ended by CRLF: %q, %v", line, err)
	}
}
