package main

import (
	"bufio"
	"encoding/gob"
	"net"
	"strconv"

	"github.com/endpoint-rpc/endpoint/handlers"
)

// serveRaw serves STRING and GOB, and nothing else, on the wire of
// PROTOCOL.md as plainly as Go allows: the practical limit of the protocol,
// and the yardstick for the endpoint.
func serveRaw(l net.Listener) (stop func(), err error) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveRawConn(c)
		}
	}()
	return func() { l.Close() }, nil
}

// serveRawConn serves one connection: one goroutine, a bufio reader and
// writer, lines read with ReadSlice (bounded by the reader's buffer), a fresh
// gob.Decoder per GOB value straight over the bufio.Reader (an io.ByteReader,
// so gob reads no further than the value), and a flush only when no further
// request is buffered.
func serveRawConn(c net.Conn) {
	defer c.Close()
	defer func() { recover() }() // a gob decoder panic ends this connection only
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	var num []byte
	for {
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				bw.WriteString("ERR line too long\n")
				bw.Flush()
			}
			return
		}
		switch string(trimSpace(line)) {
		case "":
		case "STRING":
			text, err := br.ReadSlice('\n')
			if err != nil {
				if err == bufio.ErrBufferFull {
					bw.WriteString("ERR line too long\n")
					bw.Flush()
				}
				return
			}
			text = text[:len(text)-1]
			if n := len(text); n > 0 && text[n-1] == '\r' {
				text = text[:n-1]
			}
			bw.WriteString("OK")
			if len(text) > 0 {
				bw.WriteByte(' ')
				bw.Write(text)
			}
			bw.WriteByte('\n')
		case "GOB":
			var v handlers.GobPayload
			if err := gob.NewDecoder(br).Decode(&v); err != nil {
				bw.WriteString("ERR bad gob payload\n")
				bw.Flush()
				return
			}
			bw.WriteString("OK N=")
			num = strconv.AppendInt(num[:0], int64(v.N), 10)
			bw.Write(num)
			bw.WriteString(" S=")
			num = strconv.AppendQuote(num[:0], v.S)
			bw.Write(num)
			bw.WriteByte('\n')
		case "PING":
			bw.WriteString("PONG\n")
		default:
			bw.WriteString("ERR unknown command\n")
		}
	}
}

// trimSpace trims the spaces, tabs, "\r" and "\n" around a command line.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
