package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/pkg/errors"
)

// tlsFlags are the TLS and unix-socket flags of the command line.
type tlsFlags struct {
	cert, key, clientCA string
	unixMode            fileMode
}

// fileMode is a flag.Value for a file mode written in octal.
type fileMode os.FileMode

func (m *fileMode) String() string { return fmt.Sprintf("%#o", os.FileMode(*m)) }

func (m *fileMode) Set(s string) error {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return errors.Errorf("%q is not an octal file mode such as 0600", s)
	}
	*m = fileMode(v)
	return nil
}

// certHolder holds the serving certificate, which SIGHUP replaces.
type certHolder struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// load reads the certificate and key files. An error names the file and the
// cause.
func (h *certHolder) load() error {
	certPEM, err := os.ReadFile(h.certFile)
	if err != nil {
		return errors.Wrap(err, "-tls-cert")
	}
	keyPEM, err := os.ReadFile(h.keyFile)
	if err != nil {
		return errors.Wrap(err, "-tls-key")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return errors.Wrapf(err, "-tls-cert %s with -tls-key %s", h.certFile, h.keyFile)
	}
	h.cert.Store(&cert)
	return nil
}

func (h *certHolder) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return h.cert.Load(), nil }

// reloadOnHUP re-reads the certificate on every SIGHUP until stop is closed:
// new connections get the new one, open ones keep theirs, and a bad new file
// keeps the old certificate with one logged error.
func (h *certHolder) reloadOnHUP(logger *slog.Logger, stop <-chan struct{}) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if err := h.load(); err != nil {
				logger.Error("certificate not reloaded; keeping the old one", "err", err)
				continue
			}
			logger.Info("certificate reloaded", "cert", h.certFile)
		case <-stop:
			return
		}
	}
}

// tlsConfig returns the TLS configuration the flags ask for, or nil when
// they ask for none, with the certificate's holder.
func (f *tlsFlags) tlsConfig() (*tls.Config, *certHolder, error) {
	if f.cert == "" && f.key == "" {
		if f.clientCA != "" {
			return nil, nil, errors.New("-tls-client-ca needs -tls-cert and -tls-key")
		}
		return nil, nil, nil
	}
	if f.cert == "" || f.key == "" {
		return nil, nil, errors.New("-tls-cert and -tls-key go together")
	}
	h := &certHolder{certFile: f.cert, keyFile: f.key}
	if err := h.load(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{GetCertificate: h.get, MinVersion: tls.VersionTLS12}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return nil, nil, errors.Wrap(err, "-tls-client-ca")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, errors.Errorf("-tls-client-ca %s: no PEM certificate in it", f.clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, h, nil
}
