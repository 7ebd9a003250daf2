package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"google.golang.org/grpc/credentials"
)

// The TLS rows (endpoint-tls, raw-tls, grpc-tls) share one certificate: an
// ECDSA P-256 key and a self-signed certificate for 127.0.0.1, made by the
// bench process as a run starts, valid for a few hours, and never stored
// beyond the run. The server processes get it as two PEM files in a
// temporary directory, named by the hidden serve flags -tls-cert and
// -tls-key (see tlsFiles). Every TLS row uses crypto/tls's defaults with
// TLS 1.3 required on both sides: the same protocol, key exchange and
// cipher suite for every row.

// tlsValidity is how long the run's certificate is valid.
const tlsValidity = 6 * time.Hour

// tlsServerName is the name the clients verify: the certificate's IP
// address, since every server listens on loopback.
const tlsServerName = "127.0.0.1"

// tlsMaterial is the run's certificate and key, in PEM and parsed.
type tlsMaterial struct {
	certPEM, keyPEM []byte
	cert            tls.Certificate
	roots           *x509.CertPool // the certificate itself, as the clients' only root
}

var (
	tlsMu  sync.Mutex
	tlsCur *tlsMaterial // the certificate of this process: loaded, or made on first use
)

// benchTLS returns this process's certificate: the one loaded from the
// serve flags, or else one made now (the parent of a run, a test, a server
// started by hand).
func benchTLS() (*tlsMaterial, error) {
	tlsMu.Lock()
	defer tlsMu.Unlock()
	if tlsCur == nil {
		m, err := newTLSMaterial(time.Now())
		if err != nil {
			return nil, err
		}
		tlsCur = m
	}
	return tlsCur, nil
}

// loadTLS makes the certificate in the PEM files this process's one.
func loadTLS(certFile, keyFile string) error {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	m, err := parseTLSMaterial(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("-tls-cert %s, -tls-key %s: %w", certFile, keyFile, err)
	}
	tlsMu.Lock()
	tlsCur = m
	tlsMu.Unlock()
	return nil
}

// newTLSMaterial makes an ECDSA P-256 key and a self-signed certificate for
// 127.0.0.1, ::1 and localhost, valid from a minute before now for
// tlsValidity.
func newTLSMaterial(now time.Time) (*tlsMaterial, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "endpoint bench"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(tlsValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return parseTLSMaterial(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func parseTLSMaterial(certPEM, keyPEM []byte) (*tlsMaterial, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("no certificate in the PEM")
	}
	return &tlsMaterial{certPEM: certPEM, keyPEM: keyPEM, cert: cert, roots: roots}, nil
}

// serverTLSConfig is every TLS row's server configuration: the run's
// certificate, TLS 1.3, crypto/tls's defaults otherwise.
func serverTLSConfig() (*tls.Config, error) {
	m, err := benchTLS()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{m.cert}, MinVersion: tls.VersionTLS13}, nil
}

var (
	clientTLSOnce sync.Once
	clientTLS     *tls.Config
	clientTLSErr  error
)

// clientTLSConfig is every TLS row's client configuration: the run's
// certificate as the only root, verified for 127.0.0.1, TLS 1.3, no session
// cache (every connection makes a full handshake), crypto/tls's defaults
// otherwise. It is made once and shared, as a client program would.
func clientTLSConfig() (*tls.Config, error) {
	clientTLSOnce.Do(func() {
		m, err := benchTLS()
		if err != nil {
			clientTLSErr = err
			return
		}
		clientTLS = &tls.Config{RootCAs: m.roots, ServerName: tlsServerName, MinVersion: tls.VersionTLS13}
	})
	return clientTLS, clientTLSErr
}

// tlsFiles writes this process's certificate and key as PEM files into a
// new temporary directory, and returns the serve flags that name them and a
// function that removes the directory.
func tlsFiles() (args []string, remove func(), err error) {
	m, err := benchTLS()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "endpoint-bench-tls-")
	if err != nil {
		return nil, nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, m.certPEM, 0o600); err != nil {
		remove()
		return nil, nil, err
	}
	if err := os.WriteFile(keyFile, m.keyPEM, 0o600); err != nil {
		remove()
		return nil, nil, err
	}
	return []string{"-tls-cert", certFile, "-tls-key", keyFile}, remove, nil
}

// serveEndpointTLS is serveEndpoint over TLS: Endpoint.TLSConfig and
// ServeTLS, which makes each handshake on its connection's goroutine.
func serveEndpointTLS(l net.Listener) (stop func(), err error) {
	cfg, err := serverTLSConfig()
	if err != nil {
		return nil, err
	}
	return serveEndpointWith(l, &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), TLSConfig: cfg})
}

// serveRawTLS is serveRaw behind crypto/tls: every accepted connection is a
// tls.Server (tls.NewListener), whose handshake runs on the connection's
// goroutine at its first read, and the same bufio loop reads and writes it.
func serveRawTLS(l net.Listener) (stop func(), err error) {
	cfg, err := serverTLSConfig()
	if err != nil {
		return nil, err
	}
	return serveRaw(tls.NewListener(l, cfg))
}

// serveGRPCTLS is serveGRPC with TLS transport credentials.
func serveGRPCTLS(l net.Listener) (stop func(), err error) {
	cfg, err := serverTLSConfig()
	if err != nil {
		return nil, err
	}
	return serveGRPCWith(l, credentials.NewTLS(cfg))
}

// dialWireTLS is dialWire over TLS: the same wire client, over a tls.Client
// connection whose handshake is made here, before any request.
func dialWireTLS(ctx context.Context, addr string) (Conn, error) {
	cfg, err := clientTLSConfig()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return &wireConn{
		c:  tc,
		br: bufio.NewReaderSize(tc, wireBufSize),
		bw: bufio.NewWriterSize(tc, wireBufSize),
	}, nil
}

// dialGRPCTLS is dialGRPC with TLS transport credentials.
func dialGRPCTLS(_ context.Context, addr string) (Conn, error) {
	cfg, err := clientTLSConfig()
	if err != nil {
		return nil, err
	}
	return dialGRPCWith(addr, credentials.NewTLS(cfg))
}
