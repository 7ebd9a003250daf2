package handlers

import (
	"context"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// String serves STRING: the payload is one line of text, and the reply is that
// text after "OK " (so a text that begins with "ERR " is not mistaken for an
// error), or "OK" alone for an empty line.
func String(_ context.Context, req *endpoint.Request) error {
	line, err := req.ReadLine()
	if err != nil {
		return err
	}
	w := req.RW.Writer
	w.WriteString("OK")
	if len(line) > 0 {
		w.WriteByte(' ')
		w.Write(line)
	}
	return w.WriteByte('\n')
}
