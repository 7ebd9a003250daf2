package main

import (
	"net"
	"strings"

	"github.com/endpoint-rpc/endpoint/endpoint"
)

// dialAddress turns the -connect value into an address to dial on network.
// For unix it is the socket's path as given. For TCP a value with a port is
// kept; one without gets endpoint.DefaultPort: "host" and "host:" become
// "host:61000", and an IPv6 literal, bare ("::1") or bracketed ("[::1]"),
// becomes "[::1]:61000".
func dialAddress(network, connect string) string {
	if network == "unix" {
		return connect
	}
	if host, port, err := net.SplitHostPort(connect); err == nil {
		if port == "" {
			port = endpoint.DefaultPort
		}
		return net.JoinHostPort(host, port)
	}
	// No port: a host name, an IPv4 address or an IPv6 literal, the last
	// perhaps in brackets.
	host := connect
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, endpoint.DefaultPort)
}
