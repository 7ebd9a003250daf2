package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/pkg/errors"
)

// tlsFlags are the TLS flags of the command line.
type tlsFlags struct {
	on            bool
	ca, cert, key string
	serverName    string
}

// dialer returns the Dialer the flags ask for. An unreadable file is an
// error that names it.
func (f *tlsFlags) dialer() (*endpoint.Dialer, error) {
	d := new(endpoint.Dialer)
	if !f.on {
		if f.ca != "" || f.cert != "" || f.key != "" || f.serverName != "" {
			return nil, errors.New("-tls-ca, -tls-cert, -tls-key and -tls-server-name need -tls")
		}
		return d, nil
	}
	cfg := &tls.Config{ServerName: f.serverName, MinVersion: tls.VersionTLS12}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, errors.Wrap(err, "-tls-ca")
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errors.Errorf("-tls-ca %s: no PEM certificate in it", f.ca)
		}
	}
	if f.cert != "" || f.key != "" {
		if f.cert == "" || f.key == "" {
			return nil, errors.New("-tls-cert and -tls-key go together")
		}
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, errors.Wrapf(err, "-tls-cert %s with -tls-key %s", f.cert, f.key)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	d.TLSConfig = cfg
	return d, nil
}
