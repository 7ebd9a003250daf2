// Package codec holds the small, bounded readers and writers that the endpoint
// wire protocol is made of: newline-terminated lines and gob values.
//
// Every reader here takes a hard limit and never buffers more than that limit for
// one item, so a hostile peer cannot make a server hold unbounded memory.
//
// # Lines
//
// [ReadLine] reads one line with a byte limit, using [bufio.Reader.ReadSlice] so
// that the common case (a line that fits the reader's buffer) does not allocate.
// [WriteLine] writes one line and refuses text that would break the framing.
//
// # Gob values
//
// [EncodeGob] writes one value with a fresh [gob.Encoder], so the value's type
// definition travels with it. [DecodeGob] reads one such value through a
// [GobReader], which bounds the bytes read, checks each gob message's declared
// length against the remaining budget before gob allocates for it, and implements
// [io.ByteReader] so that gob adds no read-ahead buffer of its own (which would
// swallow the next pipelined request).
//
// encoding/gob is not hardened against hostile input (see its Security section),
// so DecodeGob also turns a decoder panic into an error.
package codec
