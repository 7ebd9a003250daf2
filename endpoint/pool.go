package endpoint

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/errors"
)

// Pool defaults, used for the PoolConfig fields left zero.
const (
	DefaultPoolConnsPerAddr  = 2
	DefaultPoolHealthEvery   = 10 * time.Second
	DefaultPoolHealthTimeout = 2 * time.Second
	DefaultPoolMinBackoff    = 50 * time.Millisecond
	DefaultPoolMaxBackoff    = 5 * time.Second
	DefaultPoolDialTimeout   = 5 * time.Second
)

// ErrPoolClosed is returned by calls on a Pool after Close.
var ErrPoolClosed = errors.New("endpoint: pool closed")

// A PoolConfig says how a Pool reaches its endpoints. Zero fields take the
// DefaultPool values.
type PoolConfig struct {
	// Dialer dials each connection: TLS, Greeting and KeepAlive as for a
	// Client. Its Timeout, when zero, is DefaultPoolDialTimeout.
	Dialer Dialer
	// ConnsPerAddr is how many connections the Pool keeps to each address.
	ConnsPerAddr int
	// HealthEvery is how often each connection is checked with PING, and
	// HealthTimeout the bound of one check; a connection that fails one is
	// closed and redialled.
	HealthEvery, HealthTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a redial: it doubles
	// with each failed dial of a connection, from MinBackoff up to
	// MaxBackoff, and is jittered by up to half.
	MinBackoff, MaxBackoff time.Duration
}

// A Pool spreads calls over connections to one or more endpoints. It keeps up
// to ConnsPerAddr connections per address, dials them when first needed,
// redials a broken one with exponential back-off and jitter, checks each with
// PING every HealthEvery, and hands each call to the next healthy connection
// in turn (round-robin). A connection is checked only while it has no call
// pending.
//
// A call that fails before any byte of its request was written (its
// connection had broken already) is retried on another connection; once a
// request may have been written, the call's error is returned as it is
// (ErrConnBroken when the connection broke), since a command need not be
// idempotent. When no connection is healthy, a call whose context can end
// (one with a deadline or a cancel) waits for one until the context ends; a
// call whose context never ends fails at once with the last dial error, or,
// when no dial has failed since a connection last came up (the first call,
// say), waits for the dials under way, which Dialer.Timeout bounds.
//
// A Pool is safe for many goroutines. It never gives a pooled connection to
// CHAT, which would take the connection over: dial a Client for that.
// Close ends every goroutine the Pool started before it returns.
type Pool struct {
	network string
	cfg     PoolConfig
	slots   []*poolSlot
	next    atomic.Uint64 // round-robin position

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the Pool's goroutines

	mu      sync.Mutex    // protects the following
	changed chan struct{} // closed, and replaced, when a connection comes up or a dial fails
	lastErr error         // the last dial error
	closed  bool
}

// A poolSlot is one of the Pool's connections.
type poolSlot struct {
	addr    string
	mu      sync.Mutex // protects the following
	c       *Client    // nil while not connected
	dialing bool       // a goroutine is dialing for this slot
}

// NewPool returns a Pool over the endpoints at addrs on the named network. It
// dials nothing until the first call.
func NewPool(network string, addrs []string, cfg PoolConfig) *Pool {
	if cfg.ConnsPerAddr <= 0 {
		cfg.ConnsPerAddr = DefaultPoolConnsPerAddr
	}
	if cfg.HealthEvery <= 0 {
		cfg.HealthEvery = DefaultPoolHealthEvery
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = DefaultPoolHealthTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultPoolMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultPoolMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Dialer.Timeout <= 0 {
		cfg.Dialer.Timeout = DefaultPoolDialTimeout
	}
	p := &Pool{network: network, cfg: cfg, changed: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for range cfg.ConnsPerAddr {
		for _, a := range addrs {
			p.slots = append(p.slots, &poolSlot{addr: a})
		}
	}
	if len(p.slots) > 0 {
		p.wg.Add(1)
		go p.checkHealth()
	}
	return p
}

// Call calls the command on a pooled connection, as Client.Call does.
func (p *Pool) Call(ctx context.Context, command string, lines ...string) (string, error) {
	var reply string
	err := p.do(ctx, command, func(c *Client) (err error) {
		reply, err = c.Call(ctx, command, lines...)
		return err
	})
	return reply, err
}

// CallGob calls the command with a gob value on a pooled connection, as
// Client.CallGob does.
func (p *Pool) CallGob(ctx context.Context, command string, v any) (string, error) {
	var reply string
	err := p.do(ctx, command, func(c *Client) (err error) {
		reply, err = c.CallGob(ctx, command, v)
		return err
	})
	return reply, err
}

// PoolCallTyped calls a typed command on a pooled connection, as CallTyped
// does.
func PoolCallTyped[Resp any](ctx context.Context, p *Pool, command string, args any) (*Resp, error) {
	var resp *Resp
	err := p.do(ctx, command, func(c *Client) (err error) {
		resp, err = CallTyped[Resp](ctx, c, command, args)
		return err
	})
	return resp, err
}

// do runs call on the next healthy connection, retrying a call whose request
// was never written, and waiting for a connection as the Pool's doc says.
func (p *Pool) do(ctx context.Context, command string, call func(*Client) error) error {
	if strings.EqualFold(strings.TrimSpace(command), "CHAT") {
		return errors.New("endpoint: CHAT takes its connection over: dial a Client for it, not a Pool")
	}
	if len(p.slots) == 0 {
		return errors.New("endpoint: pool has no addresses")
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrPoolClosed
		}
		changed, lastErr := p.changed, p.lastErr
		p.mu.Unlock()

		if c := p.pick(); c != nil {
			err := call(c)
			var ns *notSentError
			if errors.As(err, &ns) {
				continue // never written: another connection may take it
			}
			return err
		}
		if ctx.Done() == nil && lastErr != nil {
			// A context that never ends cannot wait: fail fast. (With
			// no dial error since the last connection came up, it waits
			// for the dials under way, which Dialer.Timeout bounds.)
			return errors.Wrap(lastErr, "endpoint: no healthy connection")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if lastErr != nil {
				return errors.Wrapf(ctx.Err(), "endpoint: no healthy connection (last dial error: %v)", lastErr)
			}
			return ctx.Err()
		case <-p.ctx.Done():
			return ErrPoolClosed
		}
	}
}

// pick returns the next healthy connection in round-robin order, or nil when
// there is none; it starts dialing for every slot without a connection. The
// share of a slot that is down goes to a healthy one chosen from a random
// place in the order: the next one in order would take twice its own share.
func (p *Pool) pick() *Client {
	n := uint64(len(p.slots))
	first := (p.next.Add(1) - 1) % n
	if c := p.take(p.slots[first]); c != nil || n == 1 {
		return c
	}
	from := first + 1 + rand.Uint64N(n-1)
	for i := range n {
		if idx := (from + i) % n; idx != first {
			if c := p.take(p.slots[idx]); c != nil {
				return c
			}
		}
	}
	return nil
}

// take returns the slot's connection if it is healthy; a broken one is
// reaped, and a slot without one starts dialing.
func (p *Pool) take(s *poolSlot) *Client {
	s.mu.Lock()
	c := s.c
	var broken *Client
	if c != nil && c.failed() != nil {
		broken, c, s.c = c, nil, nil
	}
	if c == nil {
		p.startDial(s)
	}
	s.mu.Unlock()
	if broken != nil {
		broken.Close() // its connection is closed: this reaps its reader
	}
	return c
}

// startDial starts a goroutine dialing for s unless one is; s.mu is held.
func (p *Pool) startDial(s *poolSlot) {
	if s.dialing {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return // Close may be waiting for the Pool's goroutines already
	}
	s.dialing = true
	p.wg.Add(1)
	go p.dial(s)
}

// dial dials for s until it connects or the Pool closes, waiting a jittered
// exponential back-off between failures.
func (p *Pool) dial(s *poolSlot) {
	defer p.wg.Done()
	backoff := p.cfg.MinBackoff
	for {
		c, err := p.cfg.Dialer.Dial(p.ctx, p.network, s.addr)
		if err == nil {
			s.mu.Lock()
			s.dialing = false
			if p.ctx.Err() != nil {
				s.mu.Unlock()
				c.Close()
				return
			}
			s.c = c
			s.mu.Unlock()
			p.signal(nil)
			return
		}
		if p.ctx.Err() != nil {
			s.mu.Lock()
			s.dialing = false
			s.mu.Unlock()
			return
		}
		p.signal(err)
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, p.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			s.mu.Lock()
			s.dialing = false
			s.mu.Unlock()
			return
		}
	}
}

// signal wakes the calls waiting for a connection, noting a dial error (or,
// with nil, that a connection came up).
func (p *Pool) signal(dialErr error) {
	p.mu.Lock()
	p.lastErr = dialErr // nil when a connection came up
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// checkHealth PINGs every idle connection every HealthEvery, under
// HealthTimeout; one that fails is closed, and redialled.
func (p *Pool) checkHealth() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.HealthEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-p.ctx.Done():
			return
		}
		for _, s := range p.slots {
			s.mu.Lock()
			c := s.c
			s.mu.Unlock()
			if c == nil || !c.idle() {
				continue // a busy connection shows its health by its replies
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.HealthTimeout)
			reply, err := c.Call(ctx, "PING")
			cancel()
			if p.ctx.Err() != nil {
				return
			}
			if err == nil && reply == "PONG" {
				continue
			}
			s.mu.Lock()
			if s.c == c {
				s.c = nil
				p.startDial(s)
			}
			s.mu.Unlock()
			c.Close() // calls pending on it fail with ErrClientClosed
		}
	}
}

// Close closes every connection, fails the calls waiting for one with
// ErrPoolClosed, and returns once every goroutine the Pool started has ended.
// Calls pending on a connection fail with ErrClientClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	for _, s := range p.slots {
		s.mu.Lock()
		c := s.c
		s.c = nil
		s.mu.Unlock()
		if c != nil {
			c.Close()
		}
	}
	return nil
}
