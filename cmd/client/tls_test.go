package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/internal/testpki"
)

// The client's TLS flags against an endpoint that requires mutual TLS.
func TestTLSFlags(t *testing.T) {
	ca, err := testpki.NewCA("client test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, err := ca.WriteCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	server, _ := ca.Server()
	client, _ := ca.Client("alice")
	certFile, keyFile, err := testpki.WriteFiles(dir, "alice", client)
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint.Endpoint{Logger: slog.New(slog.DiscardHandler), TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{server}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert,
	}}
	handlers.Register(e)
	e.HandleFunc("WHOAMI", func(_ context.Context, req *endpoint.Request) error {
		return req.WriteLine(req.TLS.PeerCertificates[0].Subject.CommonName)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.ServeTLS(l) }()
	t.Cleanup(func() {
		e.Close()
		if err := <-served; !errors.Is(err, endpoint.ErrEndpointClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	addr := l.Addr().String()
	tlsArgs := []string{"-connect", addr, "-tls", "-tls-ca", caFile, "-tls-server-name", "localhost"}

	runClient(t, append(tlsArgs, "-tls-cert", certFile, "-tls-key", keyFile, "WHOAMI")...).expect(t, "alice\n", 0)
	runClient(t, append(tlsArgs, "-tls-cert", certFile, "-tls-key", keyFile, "STRING", "over", "tls")...).expect(t, "OK over tls\n", 0)
	// -i over TLS: a batch, pipelined.
	code, stdout, stderr := runBounded(t, strings.NewReader("WHOAMI\nSTRING batch over tls\nPING\n"),
		append(tlsArgs, "-tls-cert", certFile, "-tls-key", keyFile, "-i")...)
	if code != 0 || stdout != "alice\nOK batch over tls\nPONG\n" || stderr != "" {
		t.Errorf("-i over TLS: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	runClient(t, append(tlsArgs, "WHOAMI")...).expectFailure(t, addr)          // no client certificate
	runClient(t, "-connect", addr, "-tls", "PING").expectFailure(t, addr)      // the server's CA is not trusted
	runClient(t, "-connect", addr, "-tls-ca", caFile, "PING").expectFailure(t) // -tls-ca without -tls
}
