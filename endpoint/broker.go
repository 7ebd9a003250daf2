package endpoint

import (
	"strings"

	"github.com/pkg/errors"
)

// A Message is one line of a room as a Broker carries it between nodes.
type Message struct {
	// Node names the node the line was broadcast on. The Broker sets it
	// when it publishes; a Room leaves it empty.
	Node string
	// Member is the ID of the member that wrote the line, or "" for a line
	// of the server's own (its console, say).
	Member string
	// Text is the line as members receive it: "(ID) text" for a chat line.
	Text string
}

// A Broker carries a Room's lines to the rooms of the same name on other
// nodes, and theirs to it: NATS, Redis and the like. Without one, a Room is
// local to its process.
//
// Delivery is at most once, and the lines published on one node reach every
// other node in the order published; there is no order across nodes. A node
// never gets its own lines back: Subscribe's deliver sees only the lines of
// other nodes. A broker that cannot reach its server (an outage) may drop
// lines, but must not block Publish for long: the local room goes on
// working meanwhile.
type Broker interface {
	// Publish sends m to the other nodes' rooms named room.
	Publish(room string, m Message) error
	// Subscribe calls deliver, one call at a time, for every line that
	// another node publishes to room, until unsubscribe is called.
	Subscribe(room string, deliver func(Message)) (unsubscribe func(), err error)
}

// Connect subscribes the room to its Broker under its Name, so that the
// lines other nodes publish there reach its members. A Room with no Broker
// needs no Connect (it returns nil). Call it once, before the room's first
// Broadcast; Close undoes it.
func (r *Room) Connect() error {
	if r.Broker == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unsubscribe != nil {
		return errors.New("endpoint: room already connected to its broker")
	}
	unsub, err := r.Broker.Subscribe(r.Name, r.deliverRemote)
	if err != nil {
		return errors.Wrapf(err, "endpoint: subscribe room %q", r.Name)
	}
	r.unsubscribe = unsub
	return nil
}

// Close unsubscribes the room from its Broker, if Connect subscribed it.
// The room's members stay; it goes on as a room of this node alone.
func (r *Room) Close() {
	r.mu.Lock()
	unsub := r.unsubscribe
	r.unsubscribe = nil
	r.mu.Unlock()
	if unsub != nil {
		unsub()
	}
}

// deliverRemote delivers a line another node published to every local
// member, with the flow-control policy of Broadcast: a member whose queue
// stays full for SlowWait is disconnected. The broker's delivery waits
// meanwhile, so a node that falls behind leaves the lines to its broker's
// own limits (a slow consumer's lines are dropped there).
func (r *Room) deliverRemote(m Message) {
	if strings.IndexByte(m.Text, '\n') >= 0 {
		return // a line must stay a line, whoever sent it
	}
	r.broadcastLocal(m.Text, nil)
}
