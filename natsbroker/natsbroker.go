// Package natsbroker is an endpoint.Broker over NATS: the rooms of one name
// on every node connected to the same NATS server are one room.
//
// Each room is one NATS subject, SubjectPrefix followed by the room's name
// ("endpoint.room.chat"). Each line travels as a JSON envelope,
// {"node":…,"member":…,"text":…}; a node drops the envelopes of its own
// node, so that its members never get a line twice (they had it from the
// local room already).
//
// Delivery is as NATS core gives it: at most once, the lines one node
// publishes reach every other node in the order published, with no order
// across nodes. Publishing is never buffered for an outage
// (nats.ReconnectBufSize(-1)): while the node has no NATS connection, its
// lines reach its own members only, and Publish fails at once instead of
// holding the member up. The node reconnects by itself, for ever, every
// ReconnectWait; losing the connection and getting it back are both logged
// (at Warn and Info). A server that is down when the node starts is an
// outage like any other.
//
// # Slow consumers
//
// A node's room delivers another node's line to each of its members as the
// room's own lines are (endpoint.Room): a member whose queue stays full for
// the room's SlowWait is disconnected; meanwhile that room's subscription
// waits. The lines NATS has for a subscription that waits are held by the
// client up to PendingMsgs lines or PendingBytes bytes
// (Subscription.SetPendingLimits); past either, NATS drops the room's newest
// lines for this node (logged once per episode, at Warn, as a slow consumer)
// rather than stall the NATS connection, whose other rooms go on.
package natsbroker

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/endpoint-rpc/endpoint/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/pkg/errors"
)

// Defaults of Options.
const (
	DefaultSubjectPrefix = "endpoint.room."
	DefaultPendingMsgs   = 65536
	DefaultPendingBytes  = 64 << 20
	DefaultReconnectWait = time.Second
)

// Options configure a Broker.
type Options struct {
	// URL is the NATS server's, nats://HOST:PORT (a comma-separated list
	// of servers also works).
	URL string
	// Node names this node in every envelope it publishes; it must not be
	// empty, and no two nodes of a room may share it.
	Node string
	// Logger receives the broker's log lines; nil means slog.Default().
	Logger *slog.Logger
	// SubjectPrefix goes before a room's name to make its subject. Empty
	// means DefaultSubjectPrefix.
	SubjectPrefix string
	// PendingMsgs and PendingBytes bound the lines a room's subscription
	// holds for its room while the room is behind; zero means the defaults.
	PendingMsgs, PendingBytes int
	// ReconnectWait is the pause between reconnection attempts; zero means
	// DefaultReconnectWait.
	ReconnectWait time.Duration
}

// A Broker is one node's connection to NATS. It is safe for many goroutines.
type Broker struct {
	nc     *nats.Conn
	node   string
	prefix string
	log    *slog.Logger
	pMsgs  int
	pBytes int
}

var _ endpoint.Broker = (*Broker)(nil)

// An envelope is a line on the wire between nodes.
type envelope struct {
	Node   string `json:"node"`
	Member string `json:"member,omitempty"`
	Text   string `json:"text"`
}

// CheckURL reports whether u is a URL (or a comma-separated list) that NATS
// can dial: nats://, tls://, ws:// or wss:// with a host.
func CheckURL(u string) error {
	if strings.TrimSpace(u) == "" {
		return errors.New("empty NATS URL")
	}
	for _, one := range strings.Split(u, ",") {
		one = strings.TrimSpace(one)
		p, err := url.Parse(one)
		if err != nil {
			return errors.Errorf("malformed NATS URL %q", one)
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return errors.Errorf("NATS URL %q: the scheme must be nats, tls, ws or wss", one)
		}
		if p.Hostname() == "" {
			return errors.Errorf("NATS URL %q has no host", one)
		}
	}
	return nil
}

// Connect starts the node's NATS connection. A server that cannot be reached
// now is not an error: the node keeps trying, as after an outage. Only a
// malformed URL or option fails.
func Connect(o Options) (*Broker, error) {
	if err := CheckURL(o.URL); err != nil {
		return nil, errors.Wrap(err, "natsbroker")
	}
	if o.Node == "" {
		return nil, errors.New("natsbroker: empty node name")
	}
	b := &Broker{node: o.Node, prefix: o.SubjectPrefix, log: o.Logger, pMsgs: o.PendingMsgs, pBytes: o.PendingBytes}
	if b.prefix == "" {
		b.prefix = DefaultSubjectPrefix
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.pMsgs == 0 {
		b.pMsgs = DefaultPendingMsgs
	}
	if b.pBytes == 0 {
		b.pBytes = DefaultPendingBytes
	}
	wait := o.ReconnectWait
	if wait == 0 {
		wait = DefaultReconnectWait
	}
	log := b.log.With("node", o.Node)
	nc, err := nats.Connect(o.URL,
		nats.Name("endpoint "+o.Node),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		nats.ReconnectJitter(wait/10, wait/10),
		nats.ReconnectBufSize(-1), // at most once: nothing is held for an outage
		nats.ConnectHandler(func(c *nats.Conn) {
			log.Info("nats connected", "server", c.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected; the room is this node's alone until it reconnects", "err", err)
			} else {
				log.Info("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subject := ""
			if s != nil {
				subject = s.Subject
			}
			if errors.Is(err, nats.ErrSlowConsumer) {
				log.Warn("nats slow consumer: lines for this node's room dropped", "subject", subject,
					"pending_msgs", b.pMsgs, "pending_bytes", b.pBytes)
				return
			}
			log.Error("nats error", "subject", subject, "err", err)
		}),
	)
	if err != nil {
		return nil, errors.Wrap(err, "natsbroker: connect")
	}
	if !nc.IsConnected() {
		log.Warn("nats server not reachable; serving the local room and retrying", "url", o.URL)
	}
	b.nc = nc
	return b, nil
}

// subject returns room's subject.
func (b *Broker) subject(room string) (string, error) {
	if room == "" || strings.ContainsAny(room, " \t\r\n*>") {
		return "", errors.Errorf("natsbroker: room name %q is not a NATS subject token", room)
	}
	return b.prefix + room, nil
}

// Publish sends m to the other nodes' rooms named room. While the node has
// no NATS connection it fails at once and m reaches nobody else.
func (b *Broker) Publish(room string, m endpoint.Message) error {
	subj, err := b.subject(room)
	if err != nil {
		return err
	}
	data, err := json.Marshal(envelope{Node: b.node, Member: m.Member, Text: m.Text})
	if err != nil {
		return errors.Wrap(err, "natsbroker: envelope")
	}
	return errors.Wrap(b.nc.Publish(subj, data), "natsbroker: publish")
}

// Subscribe calls deliver, one call at a time, for every line another node
// publishes to room. The subscription survives reconnections.
func (b *Broker) Subscribe(room string, deliver func(endpoint.Message)) (func(), error) {
	subj, err := b.subject(room)
	if err != nil {
		return nil, err
	}
	sub, err := b.nc.Subscribe(subj, func(msg *nats.Msg) {
		var env envelope
		if err := json.Unmarshal(msg.Data, &env); err != nil {
			b.log.Warn("nats: a malformed envelope dropped", "subject", msg.Subject, "bytes", len(msg.Data))
			return
		}
		if env.Node == b.node {
			return // this node's own line: its members had it already
		}
		deliver(endpoint.Message{Node: env.Node, Member: env.Member, Text: env.Text})
	})
	if err != nil {
		return nil, errors.Wrap(err, "natsbroker: subscribe")
	}
	if err := sub.SetPendingLimits(b.pMsgs, b.pBytes); err != nil {
		sub.Unsubscribe()
		return nil, errors.Wrap(err, "natsbroker: pending limits")
	}
	if b.nc.IsConnected() {
		// Make sure the server has the subscription before Subscribe
		// returns, so that a line published after it is not missed.
		if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
			b.log.Warn("nats: subscription not confirmed yet", "subject", subj, "err", err)
		}
	}
	return func() { sub.Unsubscribe() }, nil
}

// Connected reports whether the node has its NATS connection now.
func (b *Broker) Connected() bool { return b.nc.IsConnected() }

// Close closes the NATS connection; the broker is not used after.
func (b *Broker) Close() { b.nc.Close() }
