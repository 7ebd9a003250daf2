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
// # Safety
//
// encoding/gob is not hardened against hostile input: see the Security
// section of its documentation and golang/go#20221, still open. It
// pre-sizes a map from the count on the wire (golang/go#79539; capped only
// from Go 1.27), so one 106-byte value declaring 3×10^8 entries kills the
// process with "out of memory"; it decodes nesting by recursion, so a value
// nested a few million levels deep overflows the stack, a fatal error
// (CVE-2024-34156 was the same for skipped values); and it compiles a decoder
// for each type definition recursively.
//
// A [GobChecker] is a firewall in front of it. It walks every gob message
// (framing, type definitions, values) as the wire format defines it, before
// gob sees the message, and refuses it with an error wrapping
// [ErrGobRefused] when a count (map entries, elements, string, []byte and
// interface value lengths) exceeds the bytes left for it, when a value or a
// chain of type definitions nests deeper than a limit
// ([DefaultMaxGobDepth] = 100), when the stream's type definitions exceed a
// budget, or when anything is malformed. gob reads a struct field the
// destination lacks by skipping it, and its skipping misreads some real
// encodings (nil interface values, types first sent inside interface
// values), so the same bytes mean different things to different
// destinations; the checker follows the reading gob takes for the
// destination type it is given, and every reading gob could take where it
// does not know the type. What gob then allocates is proportional to the
// message (in the tests, at most a few hundred bytes per byte, depending on
// the destination type); a refused message costs the checker little more
// than its bytes. [GobReader] runs the checker on each message when its
// Check field is set, and [DecodeGob] always does.
//
// The check costs about 1 µs and no allocations for the protocol's payload
// nested three levels, with small maps and byte slices (159 bytes;
// BenchmarkGobCheck). Decoding that value with a fresh decoder, as DecodeGob
// does, takes about 25 µs checked or not: checked over unchecked is 1.03 in
// the median of 20 paired runs, with 229 allocations (10.2 KB) against 230
// (10.3 KB), the checker and its buffer being pooled
// (BenchmarkDecodeGobChecked, BenchmarkDecodeGobUnchecked). In a session,
// where gob spends only 3 to 4 µs a value, the check adds about a quarter
// (1.26), with the same 34 allocations (BenchmarkGobSession*).
//
// DecodeGob also turns a decoder panic into an error.
package codec
