package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/endpoint-rpc/endpoint/internal/testpki"
)

// pki writes a CA, a server certificate and a client certificate into a
// temporary directory.
type pki struct {
	ca                  *testpki.CA
	dir                 string
	caFile              string
	serverCert, servKey string
	client              tls.Certificate
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	ca, err := testpki.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{ca: ca, dir: t.TempDir()}
	if p.caFile, err = ca.WriteCA(p.dir, "ca"); err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server()
	if err != nil {
		t.Fatal(err)
	}
	if p.serverCert, p.servKey, err = testpki.WriteFiles(p.dir, "server", server); err != nil {
		t.Fatal(err)
	}
	if p.client, err = ca.Client("alice"); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsPing dials addr with TLS, trusting roots and presenting certs, and
// sends PING; it returns the connection and its reply.
func tlsPing(t *testing.T, addr string, roots *testpki.CA, certs ...tls.Certificate) (net.Conn, string) {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots.Pool, ServerName: "127.0.0.1", Certificates: certs}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", addr, cfg)
	if err != nil {
		return nil, "handshake: " + err.Error()
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitTimeout))
	c.Write([]byte("PING\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return c, "read: " + err.Error()
	}
	return c, strings.TrimSuffix(line, "\n")
}

func TestMutualTLSFlags(t *testing.T) {
	t.Parallel()
	k := newPKI(t, "flags CA")
	p := start(t, "-addr", "127.0.0.1:0", "-tls-cert", k.serverCert, "-tls-key", k.servKey, "-tls-client-ca", k.caFile)
	addr := p.addr(t)
	if _, got := tlsPing(t, addr, k.ca, k.client); got != "PONG" {
		t.Fatalf("with a client certificate: %q, want PONG", got)
	}
	if _, got := tlsPing(t, addr, k.ca); got == "PONG" {
		t.Fatal("served a client without a certificate")
	}
	// Plain text gets the plain-text refusal.
	w := dial(t, "tcp", addr)
	w.send("PING\n")
	w.expect("ERR this endpoint requires TLS")
	p.stop(t, syscall.SIGTERM)
}

// SIGHUP re-reads the certificate: a new client sees the new one, a
// connection already open keeps working, and a bad new file keeps the old
// certificate with one logged error.
func TestCertificateRotationOnSIGHUP(t *testing.T) {
	t.Parallel()
	old := newPKI(t, "old CA")
	p := start(t, "-addr", "127.0.0.1:0", "-tls-cert", old.serverCert, "-tls-key", old.servKey)
	addr := p.addr(t)
	before, got := tlsPing(t, addr, old.ca)
	if got != "PONG" {
		t.Fatalf("before rotation: %q", got)
	}

	// A bad file first: the old certificate stays.
	if err := os.WriteFile(old.serverCert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.signal(t, syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`certificate not reloaded; keeping the old one`))
	if _, got := tlsPing(t, addr, old.ca); got != "PONG" {
		t.Fatalf("after a bad file: %q, want the old certificate still served", got)
	}

	// Then a new certificate from another CA, in the same files.
	fresh := newPKI(t, "new CA")
	for from, to := range map[string]string{fresh.serverCert: old.serverCert, fresh.servKey: old.servKey} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.signal(t, syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`msg="certificate reloaded"`))
	if _, got := tlsPing(t, addr, fresh.ca); got != "PONG" {
		t.Fatalf("a new client trusting the new CA: %q, want PONG", got)
	}
	if _, got := tlsPing(t, addr, old.ca); got == "PONG" {
		t.Fatal("a new client trusting only the old CA was served: the certificate was not replaced")
	}
	before.Write([]byte("PING\n"))
	if line, err := bufio.NewReader(before).ReadString('\n'); err != nil || line != "PONG\n" {
		t.Fatalf("the connection opened before rotation: %q, %v", line, err)
	}
	p.stop(t, syscall.SIGTERM)
}

func TestBadCertificateFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	k := newPKI(t, "CA")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tls-cert", missing, "-tls-key", k.servKey}, missing},
		{[]string{"-tls-cert", k.servKey, "-tls-key", k.servKey}, k.servKey},
		{[]string{"-tls-cert", k.serverCert, "-tls-key", k.servKey, "-tls-client-ca", missing}, missing},
		{[]string{"-tls-cert", k.serverCert}, "-tls-key"},
	} {
		p := start(t, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
		if code := p.wait(t); code == 0 {
			t.Errorf("%q: exit status 0", tc.args)
		}
		out := strings.TrimSpace(p.stderr.String())
		if strings.Count(out, "\n") > 0 || !strings.Contains(out, tc.want) || strings.Contains(out, "goroutine") {
			t.Errorf("%q: stderr %q, want one line naming %s", tc.args, out, tc.want)
		}
	}
}

func TestUnixSocketMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want os.FileMode
	}{{nil, 0o600}, {[]string{"-unix-mode", "0660"}, 0o660}} {
		dir, err := os.MkdirTemp("", "ep")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "s.sock")
		p := start(t, append([]string{"-network", "unix", "-addr", path}, tc.args...)...)
		p.addr(t)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%q: socket mode %#o, want %#o", tc.args, got, tc.want)
		}
		p.stop(t, syscall.SIGTERM)
	}
}
