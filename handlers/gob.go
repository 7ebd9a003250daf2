package handlers

import (
	"context"
	"strconv"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// GobPayload is the value the GOB command takes: a struct that may nest
// itself through C.
type GobPayload struct {
	N int
	S string
	M map[string]int
	P []byte
	C *GobPayload
}

// Gob serves GOB: the payload is one self-describing gob value of the shape of
// GobPayload, and the reply shows its outer N and S, as `OK N=42 S="text"` (S
// quoted, so the reply stays one line).
func Gob(_ context.Context, req *endpoint.Request) error {
	var v GobPayload
	if err := req.DecodeGob(&v); err != nil {
		return err
	}
	w := req.RW.Writer
	w.WriteString("OK N=")
	w.WriteString(strconv.Itoa(v.N))
	w.WriteString(" S=")
	w.WriteString(strconv.Quote(v.S))
	return w.WriteByte('\n')
}
