package main

import (
	"bufio"
	"context"
	"encoding/gob"
	"net"
	"sync/atomic"

	"github.com/pkg/errors"
)

// wireConn is the load generator's own client for the wire of PROTOCOL.md. It
// drives both the endpoint and the raw server, so that the two differ only on
// the server side: it writes a request, flushes, and reads the reply line; to
// pipeline it writes a batch of requests with one flush and then reads as
// many replies.
type wireConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// wireBufSize is large enough for a whole pipelined batch of requests, so a
// batch goes out in one write.
const wireBufSize = 64 << 10

// stringRequest is one whole STRING request: the command line and its payload.
var stringRequest = []byte("STRING\n" + stringPayload + "\n")

func dialWire(ctx context.Context, addr string) (Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &wireConn{
		c:  c,
		br: bufio.NewReaderSize(c, wireBufSize),
		bw: bufio.NewWriterSize(c, wireBufSize),
	}, nil
}

func (w *wireConn) String() error {
	w.bw.Write(stringRequest)
	if err := w.bw.Flush(); err != nil {
		return errors.Wrap(err, "write STRING")
	}
	return w.expect(wantString)
}

func (w *wireConn) Gob() error {
	w.bw.WriteString("GOB\n")
	// A fresh encoder per value: the protocol's GOB payload carries its type.
	if err := gob.NewEncoder(w.bw).Encode(gobPayload); err != nil {
		return errors.Wrap(err, "encode GOB")
	}
	if err := w.bw.Flush(); err != nil {
		return errors.Wrap(err, "write GOB")
	}
	return w.expect(wantGob)
}

func (w *wireConn) Pipe(depth int, stop *atomic.Bool) (int64, error) {
	var n int64
	for n < maxOpsPerLoop && !stop.Load() {
		for range depth {
			w.bw.Write(stringRequest)
		}
		if err := w.bw.Flush(); err != nil {
			return n, errors.Wrap(err, "write STRING batch")
		}
		for range depth {
			if err := w.expect(wantString); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// expect reads one reply line and checks it is want.
func (w *wireConn) expect(want string) error {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return errors.Wrap(err, "read reply")
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return checkReply(line, want)
}

func (w *wireConn) Close() error { return w.c.Close() }
