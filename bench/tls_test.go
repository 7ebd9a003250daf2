package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"
)

// TestTLSRows checks that the wire TLS rows speak TLS 1.3, verified against
// the run's certificate, and that their servers refuse plain text.
func TestTLSRows(t *testing.T) {
	for _, tg := range allTargets {
		if !tg.TLS {
			continue
		}
		t.Run(tg.Name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop, err := servers[tg.Server](l)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			c, err := tg.Dial(context.Background(), l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.String(); err != nil {
				t.Fatalf("String: %v", err)
			}
			if w, ok := c.(*wireConn); ok {
				tc, ok := w.c.(*tls.Conn)
				if !ok {
					t.Fatalf("wire connection is a %T, not a *tls.Conn", w.c)
				}
				if st := tc.ConnectionState(); st.Version != tls.VersionTLS13 || !st.HandshakeComplete {
					t.Fatalf("version %x, handshake complete %v; want TLS 1.3, complete", st.Version, st.HandshakeComplete)
				}
			}
			// Plain text to a TLS server is not answered as a request.
			if p, err := dialWire(context.Background(), l.Addr().String()); err == nil {
				p.(*wireConn).c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := p.String(); err == nil {
					t.Errorf("a plain-text STRING to %s was answered", tg.Server)
				}
				p.Close()
			}
		})
	}
}

// TestTLSFiles checks the run's certificate: ECDSA P-256, self-signed for
// 127.0.0.1, valid for hours only, and handed over intact through the PEM
// files the server processes load.
func TestTLSFiles(t *testing.T) {
	m, err := benchTLS()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(m.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 24*time.Hour {
		t.Errorf("valid for %v, want a short validity", life)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.roots, DNSName: tlsServerName}); err != nil {
		t.Errorf("does not verify for %s against itself: %v", tlsServerName, err)
	}

	args, remove, err := tlsFiles()
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if len(args) != 4 || args[0] != "-tls-cert" || args[2] != "-tls-key" {
		t.Fatalf("serve flags %q", args)
	}
	saved := tlsCur
	t.Cleanup(func() { tlsCur = saved })
	if err := loadTLS(args[1], args[3]); err != nil {
		t.Fatal(err)
	}
	if string(tlsCur.certPEM) != string(m.certPEM) || string(tlsCur.keyPEM) != string(m.keyPEM) {
		t.Error("the loaded certificate is not the one written")
	}
	remove()
	if _, err := os.Stat(args[1]); !os.IsNotExist(err) {
		t.Errorf("%s still there after remove: %v", args[1], err)
	}
}

func TestHeapProfilePath(t *testing.T) {
	for _, c := range []struct {
		base string
		n    int
		want string
	}{
		{"d/heap-raw-tls-idle-r1.prof", 1, "d/heap-raw-tls-idle-r1-before.prof"},
		{"d/heap-raw-tls-idle-r1.prof", 2, "d/heap-raw-tls-idle-r1.prof"},
		{"d/heap-raw-tls-idle-r1.prof", 3, "d/heap-raw-tls-idle-r1.prof"},
	} {
		if got := heapProfilePath(c.base, c.n); got != c.want {
			t.Errorf("heapProfilePath(%q, %d) = %q, want %q", c.base, c.n, got, c.want)
		}
	}
}
