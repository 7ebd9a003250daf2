package endpoint

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/endpoint-rpc/endpoint/codec"
)

// DefaultSendQueueLen bounds the lines waiting to be written to one Stream.
const DefaultSendQueueLen = 256

// A Stream is a connection taken over by a handler with Request.Hijack: a
// full-duplex line stream for the rest of the connection's life, as a chat
// member is. Server code anywhere may Send lines to it at any moment; one
// writer goroutine per Stream writes them out in order, so a slow peer holds
// up nobody but itself.
//
// The slow-consumer policy: Send never blocks. When the Stream's queue
// (Endpoint.SendQueueLen lines) is full, the peer is not reading fast enough;
// the Stream is closed at once and Send reports false.
type Stream struct {
	c     *conn
	queue chan string

	closeOnce sync.Once
	done      chan struct{}              // closed by Close or by the slow-consumer policy
	flush     bool                       // whether closing writes out the queue first; set before done closes
	giveUp    atomic.Pointer[time.Timer] // closes the socket a second after a close with flush
	written   chan struct{}              // closed when the writer goroutine has returned
}

func newStream(c *conn) *Stream {
	n := c.e.SendQueueLen
	if n <= 0 {
		n = DefaultSendQueueLen
	}
	s := &Stream{c: c, queue: make(chan string, n), done: make(chan struct{}), written: make(chan struct{})}
	go s.writeLoop()
	return s
}

// RemoteAddr is the peer's address as the endpoint sees it, as in
// Request.RemoteAddr.
func (s *Stream) RemoteAddr() string { return s.c.remoteAddr }

// Send queues line to be written to the peer, followed by "\n". It never
// blocks: it returns false, and closes the Stream, when the queue is full; it
// returns false when the Stream is closed or line contains a newline.
func (s *Stream) Send(line string) bool {
	if strings.IndexByte(line, '\n') >= 0 {
		return false
	}
	return s.enqueue(line)
}

// enqueue is Send for a line already known to hold no newline.
func (s *Stream) enqueue(line string) bool {
	switch s.offer(line) {
	case offerQueued:
		return true
	case offerFull:
		s.tooSlow()
	}
	return false
}

// tooSlow closes a Stream whose peer does not read fast enough.
func (s *Stream) tooSlow() {
	s.c.e.counters.slow.Add(1)
	s.c.e.logger().Warn("stream closed: peer too slow", "remote", s.c.remoteAddr)
	s.close(false)
}

// What offer did with a line.
const (
	offerQueued = iota
	offerFull   // the queue is full: the line was not queued
	offerClosed // the Stream is closed
)

// offer queues line if there is room, without waiting.
func (s *Stream) offer(line string) int {
	select {
	case <-s.done:
		return offerClosed
	default:
	}
	select {
	case s.queue <- line:
		return offerQueued
	default:
		return offerFull
	}
}

// ReadLine reads the next line from the peer, bounded by the endpoint's
// MaxLineBytes, without its "\n" or a trailing "\r". A hijacked connection has
// no idle timeout. The slice is valid until the next call.
func (s *Stream) ReadLine() ([]byte, error) {
	return codec.ReadLine(s.c.br, s.c.e.maxLine())
}

// Done is closed when the Stream is closed.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Close writes out the lines already queued (for at most a second) and closes
// the connection. It does not wait for that; it may be called more than once.
func (s *Stream) Close() error {
	s.close(true)
	return nil
}

// close ends the Stream. Without flush the socket is closed at once, even
// after a close with flush began, which also unblocks a writer stuck on a peer
// that does not read. With flush, the writer has a second to write out what is
// queued: then the socket is closed all the same.
func (s *Stream) close(flush bool) {
	s.closeOnce.Do(func() {
		s.flush = flush
		if flush {
			s.giveUp.Store(time.AfterFunc(closeFlushTimeout, func() { s.c.raw.Close() }))
		}
		close(s.done)
	})
	if !flush {
		s.c.raw.Close()
	}
}

// stopGiveUp stops the timer of a close with flush, once the writer is done.
func (s *Stream) stopGiveUp() {
	if t := s.giveUp.Load(); t != nil {
		t.Stop()
	}
}

// writeLoop is the Stream's only writer. It flushes when the queue is empty,
// so a burst of lines costs one write.
func (s *Stream) writeLoop() {
	defer close(s.written)
	defer s.c.rwc.Close() // ends the handler's ReadLine too
	bw, idle := s.c.bw, s.c.idle
	for {
		select {
		case line := <-s.queue:
			bw.WriteString(line)
			bw.WriteByte('\n')
			if len(s.queue) > 0 {
				continue
			}
			if idle > 0 {
				s.c.rwc.SetWriteDeadline(time.Now().Add(idle))
			}
			if err := bw.Flush(); err != nil {
				s.close(false)
				return
			}
		case <-s.done:
			if !s.flush {
				return
			}
			for len(s.queue) > 0 {
				line := <-s.queue
				bw.WriteString(line)
				bw.WriteByte('\n')
			}
			s.c.rwc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
			bw.Flush()
			return
		}
	}
}
