package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// The Admit hook refuses by the unix peer's uid.
func TestAdmitByUnixUID(t *testing.T) {
	for _, tc := range []struct {
		uid  int
		want string
	}{{os.Getuid(), "PONG"}, {os.Getuid() + 1, "ERR uid not admitted"}} {
		s := startServer(t, "unix", func(e *endpoint.Endpoint) {
			e.Admit = func(_ context.Context, p endpoint.Peer) error {
				if p.Cred == nil || p.Cred.UID != tc.uid {
					return errors.New("uid not admitted")
				}
				return nil
			}
			e.HandleFunc("WHO", func(_ context.Context, req *endpoint.Request) error {
				return req.WriteLine(fmt.Sprintf("uid=%d pid=%d", req.Cred.UID, req.Cred.PID))
			})
		})
		c := s.dial(t)
		c.write("PING\n")
		c.expect(tc.want)
		if tc.want == "PONG" {
			c.write("WHO\n")
			c.expect(fmt.Sprintf("uid=%d pid=%d", os.Getuid(), os.Getpid()))
		}
	}
}
