package handlers

import (
	"context"
	"strconv"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// Stats serves STATS: one line of space-separated key=value fields, for a
// person at nc to read. Every count is exact: connections (open now,
// request/reply and chat together), members (chat members now), requests
// (requests answered since start, this one excluded), errors (ERR lines
// sent since start), then accepted, refused, panics, protocol_errors and
// slow_members.
func Stats(e *endpoint.Endpoint) endpoint.HandlerFunc {
	return func(_ context.Context, req *endpoint.Request) error {
		s := e.Stats()
		var protocol, refused int64
		for _, n := range s.ProtocolErrors {
			protocol += n
		}
		for _, n := range s.Refused {
			refused += n
		}
		b := make([]byte, 0, 160)
		field := func(key string, v int64) {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, key...)
			b = append(b, '=')
			b = strconv.AppendInt(b, v, 10)
		}
		field("connections", s.Connections)
		field("members", s.Members)
		field("requests", s.Requests)
		field("errors", s.Errors)
		field("accepted", s.Accepted)
		field("refused", refused)
		field("panics", s.Panics)
		field("protocol_errors", protocol)
		field("slow_members", s.SlowMembers)
		return req.WriteLine(string(b))
	}
}
