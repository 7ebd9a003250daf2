package endpoint

import (
	"bufio"
	"errors"
	"os"
	"sync"
	"time"
)

// An idle connection holds no buffers: while it waits for its next command
// with nothing buffered, its reader and writer go back to these pools, and it
// waits for input with a buffer-less readiness check (waitReadable). With many
// idle connections that is most of their memory.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

// takeBuffers gives the connection a reader and a writer.
func (c *conn) takeBuffers() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.rwc)
	c.req.RW.Reader, c.req.RW.Writer = c.br, c.bw
}

// dropBuffers returns the connection's reader and writer, which must be empty.
func (c *conn) dropBuffers() {
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.br, c.bw, c.req.RW.Reader, c.req.RW.Writer = nil, nil, nil, nil
}

// waitIdle waits, holding no buffers, until input arrives on a connection
// that has none buffered; the request then starts. Replies are flushed first.
// Woken by Shutdown, it leaves the connection draining, to serve what has
// already arrived.
func (c *conn) waitIdle() error {
	if c.raw == nil || c.draining {
		return nil // the read waits instead
	}
	c.armIdle(time.Now())
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if c.woken() {
		return nil // arming may have undone Shutdown's wake: drain now
	}
	c.dropBuffers()
	err := c.waitReadable()
	c.takeBuffers()
	if err == nil {
		c.reqStart = time.Now()
		return nil
	}
	if c.e.inShutdown.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		c.draining = true
		return nil
	}
	return err
}
