package endpoint_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/internal/testpki"
)

// mtlsServer serves TLS that requires a client certificate from the run's
// authority, with WHOAMI replying the client certificate's common name.
func mtlsServer(t *testing.T, configure func(*endpoint.Endpoint)) *testServer {
	return startServer(t, "tls", func(e *endpoint.Endpoint) {
		e.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
		e.TLSConfig.ClientCAs = testPKI().ca.Pool
		e.HandleFunc("WHOAMI", func(_ context.Context, req *endpoint.Request) error {
			if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			return req.WriteLine(req.TLS.PeerCertificates[0].Subject.CommonName)
		})
		if configure != nil {
			configure(e)
		}
	})
}

// dialTLS opens a TLS connection presenting certs, and reports the first
// error of the handshake or of the first request.
func dialTLS(t *testing.T, addr string, certs ...tls.Certificate) (*rawConn, error) {
	cfg := clientTLS()
	cfg.Certificates = certs
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: hangTimeout}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{Conn: c, tb: t, r: newReader(c)}
	c.SetDeadline(time.Now().Add(hangTimeout))
	rc.write("PING\n")
	if line, err := rc.readLine(); err != nil || line != "PONG" {
		return nil, fmt.Errorf("PING: %q, %v", line, err)
	}
	return rc, nil
}

func TestMutualTLS(t *testing.T) {
	s := mtlsServer(t, nil)
	c, err := dialTLS(t, s.Addr, testPKI().client)
	if err != nil {
		t.Fatalf("a client with a certificate from the CA: %v", err)
	}
	c.write("WHOAMI\n")
	c.expect("alice") // handlers see the verified certificate

	other, err := testpki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Client("mallory")
	expired, _ := testPKI().ca.ExpiredClient("alice")
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":              nil,
		"a certificate of another CA": {foreign},
		"an expired certificate":      {expired},
	} {
		if _, err := dialTLS(t, s.Addr, certs...); err == nil {
			t.Errorf("%s: served, want the handshake to fail", name)
		}
	}
	c.ping() // the good client is still served
}

// A client that connects and never handshakes is closed after the handshake
// timeout, and holds a MaxConns slot only until then.
func TestHandshakeTimeout(t *testing.T) {
	s := startServer(t, "tls", func(e *endpoint.Endpoint) {
		e.HandshakeTimeout = 300 * time.Millisecond
		e.MaxConns = 2
	})
	bystander := s.connected(t)
	silent, err := net.DialTimeout("tcp", s.Addr, hangTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	over := s.dial(t) // the silent one's handshake still counts
	over.expectErr("too many connections")
	over.expectClosed()
	silent.SetReadDeadline(time.Now().Add(hangTimeout))
	if _, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a client that never handshakes: %v, want the server to close it", err)
	}
	bystander.ping()
	// Its slot is free again once the endpoint has forgotten it, which it
	// logs; the client sees the close a moment before.
	s.Log.waitFor(t, 1, "connection closed")
	s.connected(t).ping()
}

// Plain text to a TLS endpoint gets a plain-text ERR line.
func TestPlainTextToTLS(t *testing.T) {
	s := startServer(t, "tls", nil)
	c := dialRaw(t, "tcp", s.Addr)
	c.write("PING\n")
	c.expect("ERR this endpoint requires TLS")
	c.expectClosed()
	s.connected(t).ping()
}

// The Admit hook refuses by certificate subject.
func TestAdmitByCertificateSubject(t *testing.T) {
	s := mtlsServer(t, func(e *endpoint.Endpoint) {
		e.Admit = func(_ context.Context, p endpoint.Peer) error {
			if cn := p.TLS.PeerCertificates[0].Subject.CommonName; cn != "alice" {
				return fmt.Errorf("%s is not admitted", cn)
			}
			return nil
		}
	})
	if _, err := dialTLS(t, s.Addr, testPKI().client); err != nil {
		t.Fatalf("alice: %v", err)
	}
	bob, err := testPKI().ca.Client("bob")
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientTLS()
	cfg.Certificates = []tls.Certificate{bob}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: hangTimeout}, "tcp", s.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{Conn: c, tb: t, r: newReader(c)}
	t.Cleanup(func() { c.Close() })
	rc.expect("ERR bob is not admitted")
	rc.expectClosed()
}
