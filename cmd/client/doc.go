// Command client calls an endpoint (see cmd/endpoint and PROTOCOL.md).
//
// # Usage
//
//	client [flags] [NAME [TEXT...]]
//
// With no arguments it sends a STRING request and a GOB request (a nested
// value) and prints both replies, one per line:
//
//	$ client -connect localhost
//	OK hello from cmd/client
//	OK N=42 S="outer"
//
// With arguments it sends the command NAME with the TEXT words, joined by
// spaces, as its one payload line (no payload line when there is no TEXT), and
// prints the reply line:
//
//	$ client PING
//	PONG
//	$ client STRING hello world
//	OK hello world
//	$ client NOPE
//	ERR unknown command "NOPE"
//
// The built-in commands' payloads are checked before anything is dialled,
// names in any case: STRING needs TEXT, GOB cannot be given on a command line
// (run with no arguments to send one), and HELP, PING, STATS and CHAT take no
// TEXT, since their payload line would reach the server as a second request.
// Each of these is refused at once with a usage line and status 2. The TEXT of
// any other NAME, a command of the server's own, is sent as its payload line.
//
// # Flags
//
//	-connect ADDR    where the endpoint is (default localhost): HOST dials
//	                 HOST:61000, HOST:PORT that port; IPv6 literals may be
//	                 bare (::1) or bracketed ([::1], [::1]:PORT). With -network
//	                 unix, ADDR is the socket's path, and is required.
//	-network NAME    tcp (the default) or unix; tcp4 and tcp6 also work
//	-timeout D       bound on the whole run, connecting included (default 10s);
//	                 0 means no bound: the client then waits for a server that
//	                 is slow to answer, but a connection the server closes
//	                 (or resets) ends the run at once, with status 2, and a
//	                 peer that vanishes is found by TCP keep-alive
//
//	-greeting        expect a greeting line first (an endpoint run with
//	                 -greeting): the client prints it on a line of its own
//	                 before the replies. Without -greeting, a greeting that
//	                 arrives before the request breaks the connection (status
//	                 2, the line named on standard error); one that arrives
//	                 after it would pass for the reply, so give -greeting to
//	                 reach such a server. An ERR line in place of the
//	                 greeting is printed as a reply is, and status 1.
//
// # Exit status
//
// 0 when every reply is a success, 1 when a reply is an ERR line (printed to
// standard output as the server sent it), and 2 when the command line is wrong
// or when the endpoint cannot be reached, the connection breaks or the timeout
// passes: then one line naming the address and the cause goes to standard
// error.
package main
