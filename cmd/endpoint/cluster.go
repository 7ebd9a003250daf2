package main

import (
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/endpoint-rpc/endpoint/handlers"
	"github.com/endpoint-rpc/endpoint/natsbroker"
	"github.com/pkg/errors"
)

// joinCluster, with -nats, makes chat's room span every node of the NATS
// server with the same -room, its member IDs qualified by the node's name,
// and returns what leaves the cluster at the end of the run. A NATS server
// that is down is an outage: the node serves its local room, logs, and keeps
// reconnecting. Without -nats it does nothing.
func (cfg *config) joinCluster(chat *handlers.Chat, addr net.Addr, logger *slog.Logger) (leave func(), err error) {
	if cfg.natsURL == "" {
		return func() {}, nil
	}
	node := cfg.node
	if node == "" {
		node = defaultNode(addr)
	}
	b, err := natsbroker.Connect(natsbroker.Options{URL: cfg.natsURL, Node: node, Logger: logger})
	if err != nil {
		return nil, errors.Wrap(err, "-nats")
	}
	chat.Node = node
	r := chat.Room()
	r.Broker, r.Name = b, cfg.room
	if err := r.Connect(); err != nil {
		b.Close()
		return nil, errors.Wrap(err, "-nats")
	}
	logger.Info("chat room spans the nodes of NATS", "room", cfg.room, "node", node)
	return func() {
		r.Close()
		b.Close()
	}, nil
}

// defaultNode is the host name and the port the node serves on (for a unix
// socket, its path).
func defaultNode(addr net.Addr) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if ta, ok := addr.(*net.TCPAddr); ok {
		return host + ":" + strconv.Itoa(ta.Port)
	}
	return host + ":" + addr.String()
}
