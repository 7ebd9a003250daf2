// Package endpoint is a small, fast command-dispatch RPC framework over TCP
// and unix sockets: an [Endpoint] that serves named commands, and a [Client]
// that calls them.
//
// # The wire
//
// A request is a command name on one line, then whatever payload the command
// defines; every request gets exactly one reply, in order, and a reply that
// begins with "ERR " is an error. Clients may pipeline. A person can speak it
// with nc:
//
//	$ nc 127.0.0.1 61000
//	HELP
//	commands: CHAT GOB HELP PING STATS STRING
//	PING
//	PONG
//	STRING
//	hello, endpoint
//	OK hello, endpoint
//	NOPE
//	ERR unknown command "NOPE"
//
// # Serving
//
// Register handlers with [Endpoint.Handle] or [Endpoint.HandleFunc] (also
// while serving), then call [Endpoint.Serve] with a listener, or
// [Endpoint.ListenAndServe]. A handler reads its payload from the request's
// *bufio.ReadWriter, through the bounded readers [Request.ReadLine],
// [Request.DecodeGob] or [Request.DecodeSession], and writes one reply; an
// error it returns becomes the one-line "ERR" reply. The endpoint flushes
// replies when it would otherwise wait for input, so a pipelined batch costs
// one write. [Endpoint.Shutdown] stops gracefully; [Endpoint.Close] at once.
//
// # Limits
//
// Every read is bounded: command and payload lines by
// [Endpoint.MaxLineBytes] (refused as soon as the limit is passed), gob
// payloads by [Endpoint.MaxPayloadBytes] and [Endpoint.MaxGobDepth] (codec's
// gob firewall checks every payload before encoding/gob sees it), time by
// [Endpoint.IdleTimeout], request/reply connections by [Endpoint.MaxConns],
// chat members by [Endpoint.MaxMembers], running handlers by
// [Endpoint.MaxHandlers]. Bad input gets an "ERR" line whose text reveals
// nothing of the server's insides; where the stream cannot be trusted after
// it (a [ProtocolError]), the connection is closed too, after a lingering
// close so that the client reads the line. A panicking handler is recovered
// and logged. Nothing of this touches the other connections.
//
// # A connection's life
//
// One goroutine serves a connection, and one function, conn.serve, holds a
// command's whole life: wait for input (holding no buffers, for a plain TCP or
// unix socket), read the command line, dispatch, let the handler read its
// payload and write its reply, and flush once nothing more is buffered, so a
// pipelined batch is answered with one write. Deadlines are set when a
// request starts and when the connection goes idle, never inside a reader.
// A [net.Conn] the endpoint is given is only used through its methods, so a
// wrapping conn works unchanged. [Endpoint.ConnState] watches connections
// move between the states of [ConnState].
//
// # Seeing inside
//
// [Endpoint.Use] installs a [Middleware] around every command, before
// serving: timing, authorization, logging or rate limits, each a Handler that
// does its part and calls the next, or refuses with an error that becomes the
// "ERR" line. The chain is composed once per command, not per request.
// [Endpoint.Stats] returns a snapshot of the endpoint's figures, counted
// without locks as requests are answered: connections open and accepted,
// requests and ERR lines, and per command the requests, errors and a latency
// [Histogram]; [Endpoint.NoStats] turns the counting off. The STATS command of
// package handlers sends the totals as one line. [Endpoint.ConnState] is
// called each time a connection changes state (new, active, idle, hijacked,
// closed), as net/http's is.
//
// # Calling
//
// [Dial] returns a [Client] that many goroutines may share: their calls are
// pipelined on the one connection. [Client.Call] sends line commands,
// [Client.CallGob] a self-describing gob value, and [CallTyped] a typed
// command served by a [Typed] handler, whose gob session codec sends each
// type's definition once per connection. An "ERR" reply is a [*RemoteError].
//
// # Pushing
//
// A handler can take its connection over with [Request.Hijack], which returns
// a [Stream]: lines can then be sent to it from anywhere with [Stream.Send],
// which never blocks, and a [Room] broadcasts to many Streams. A peer that
// does not read fast enough is disconnected rather than allowed to stall
// anyone else.
package endpoint
