// Command client calls an endpoint (see cmd/endpoint and PROTOCOL.md).
//
// # Usage
//
//	client [flags] [NAME [TEXT...]]
//	client [flags] -i | -chat
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
// # Interactive sessions
//
//	client [flags] -i      # requests from standard input
//	client [flags] -chat   # the same, in the chat room from the start
//
// With -i the client reads requests from standard input, one a line, written
// as NAME [TEXT...] as on the command line, over one connection. It asks HELP
// first; a name HELP does not list is sent without its TEXT, which the server
// would otherwise read as a second request. A line the checks above refuse
// (GOB, say) is refused on standard error and the session goes on, ending
// with status 1 as for an ERR reply.
//
// When standard input is not a terminal, every request is written at once,
// pipelined, and the replies are printed in input order: client -i <
// requests.txt is a batch tool. On a terminal the session uses
// golang.org/x/term: prompt "> ", line editing, Tab completion of the names
// HELP lists, and a history (the up and down arrows) kept across runs in
// -history FILE (default ~/.endpoint_client_history), cut to its last 1,000
// lines at start. Ctrl-D or Ctrl-C ends the session.
//
// CHAT, or -chat, enters chat mode: typed lines go to the room and pushed
// lines are shown as they arrive, the prompt "chat> " and the half-typed line
// redrawn under them. /quit (or Ctrl-D) leaves the room and ends the session;
// piped input after CHAT is chat lines, and its end sends /quit. A member
// the server closes (at its shutdown, say) ends the session with status 2,
// without waiting for a key. Against a server that makes every connection a
// member (cmd/endpoint -chat), -i is in chat mode from the start (its opening
// HELP reaches the room as a chat line). -timeout
// bounds connecting and each reply's wait, not the session.
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
