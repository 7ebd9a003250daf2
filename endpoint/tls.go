package endpoint

import (
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/pkg/errors"
)

// DefaultHandshakeTimeout bounds a connection's TLS handshake and its Admit
// hook, where Endpoint.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// ErrTLSRequired is sent, as plain text, to a client that speaks plain text
// to a TLS endpoint.
var ErrTLSRequired = errors.New("this endpoint requires TLS")

// A Peer is what the endpoint knows of who is calling, for Endpoint.Admit.
type Peer struct {
	// RemoteAddr is the peer's address, as in Request.RemoteAddr.
	RemoteAddr string
	// TLS is the connection's TLS state once its handshake is done, with the
	// verified client certificate (PeerCertificates, VerifiedChains) under
	// mutual TLS; nil without TLS.
	TLS *tls.ConnectionState
	// Cred is the peer process's credentials on a unix socket where the
	// operating system tells them (Linux); nil otherwise.
	Cred *PeerCred
}

// PeerCred are the credentials of the process at the other end of a unix
// socket, as the kernel saw them when it connected.
type PeerCred struct {
	UID, GID, PID int
}

// ServeTLS is Serve with TLS: every connection accepted on l first completes
// a TLS handshake with e.TLSConfig (which needs a certificate, or
// GetCertificate), on its own goroutine, within HandshakeTimeout, counted
// against MaxConns while it runs. A client that speaks plain text instead is
// sent the plain-text line "ERR this endpoint requires TLS" and closed.
// Everything else holds over TLS as over plain TCP.
func (e *Endpoint) ServeTLS(l net.Listener) error {
	if e.TLSConfig == nil {
		l.Close()
		return errors.New("endpoint: ServeTLS needs Endpoint.TLSConfig")
	}
	cfg := e.TLSConfig.Clone()
	return e.serve(l, cfg)
}

// ListenAndServeTLS listens on the network address and serves TLS
// connections on it, as ServeTLS does, until Shutdown or Close.
func (e *Endpoint) ListenAndServeTLS(network, addr string) error {
	if e.shuttingDown() {
		return ErrEndpointClosed
	}
	if e.TLSConfig == nil {
		return errors.New("endpoint: ListenAndServeTLS needs Endpoint.TLSConfig")
	}
	l, err := Listen(network, addr)
	if err != nil {
		return err
	}
	return e.ServeTLS(l)
}

func (e *Endpoint) handshakeTimeout() time.Duration {
	if e.HandshakeTimeout > 0 {
		return e.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

// admit runs the connection's TLS handshake, if it has one, and the Admit
// hook, within HandshakeTimeout, before the connection's first request.
func (c *conn) admit() error {
	tc, isTLS := c.rwc.(*tls.Conn)
	if !isTLS && c.e.Admit == nil {
		return nil
	}
	deadline := time.Now().Add(c.e.handshakeTimeout())
	c.rwc.SetDeadline(deadline)
	c.rdl, c.wdl = deadline.UnixNano(), deadline.UnixNano()
	if isTLS {
		// Bounded by the deadline just set; c.ctx ends it at Close. (A
		// context of its own would stay behind in the conn: 0.4 KiB.)
		if err := tc.HandshakeContext(c.ctx); err != nil {
			var rhe tls.RecordHeaderError
			if errors.As(err, &rhe) && rhe.Conn != nil {
				// Plain text: say so in plain text, as net/http does.
				rhe.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
				io.WriteString(rhe.Conn, "ERR "+ErrTLSRequired.Error()+"\n")
				lingerClose(rhe.Conn)
			}
			return errors.Wrap(err, "TLS handshake")
		}
		st := tc.ConnectionState()
		c.req.TLS = &st
	}
	if c.e.Admit != nil {
		if err := c.e.Admit(c.ctx, Peer{RemoteAddr: c.remoteAddr, TLS: c.req.TLS, Cred: c.req.Cred}); err != nil {
			c.e.logger().Warn("connection not admitted", "remote", c.remoteAddr, "err", err)
			return c.replyErr(&ProtocolError{Err: err})
		}
	}
	return nil
}
