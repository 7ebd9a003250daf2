package main

import (
	"context"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// sessionGobConn makes the nested-struct call as the typed GOBS command, with
// the library's Client and its gob session codec (endpoint.CallTyped): one
// encoder and decoder for the connection's life, as net/rpc has.
type sessionGobConn struct {
	endpointClientConn
}

func dialSessionGob(ctx context.Context, addr string) (Conn, error) {
	c, err := endpoint.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &sessionGobConn{endpointClientConn{c: c}}, nil
}

func (s *sessionGobConn) Gob() error {
	reply, err := endpoint.CallTyped[string](context.Background(), s.c, "GOBS", gobPayload)
	if err != nil {
		return err
	}
	return checkReplyString(*reply, wantGob)
}
