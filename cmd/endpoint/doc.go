// Command endpoint serves the endpoint wire protocol (see the README) with the
// built-in commands HELP, PING, STRING, GOB and CHAT, over TCP or a unix socket.
//
// # Usage
//
//	endpoint [flags]
//
// By default it listens on TCP port 61000 of every interface and logs to
// standard error:
//
//	$ endpoint &
//	time=... level=INFO msg=listening network=tcp addr=[::]:61000
//	$ printf 'PING\nSTRING\nhello\n' | nc -q1 localhost 61000
//	PONG
//	OK hello
//
// With -network unix, -addr is the socket's path and is required. A stale
// socket file left by a crashed run is replaced at start, and the file is
// removed at shutdown.
//
// # Flags
//
//	-network tcp|unix     network to listen on (default tcp; tcp4 and tcp6 also work)
//	-addr ADDR            address, or socket path for unix (default ":61000" for tcp)
//	-max-line N           longest command or payload line, in bytes (default 65536)
//	-max-payload N        largest GOB payload, in bytes (default 1048576)
//	-idle-timeout D       close connections silent for D; 0 disables it (default 5m)
//	-max-conns N          connections served at once; 0 means no limit (default 10000)
//	-max-handlers N       handlers run at once; requests wait; 0 means no bound (default 0)
//	-shutdown-timeout D   how long shutdown waits for requests in flight (default 10s)
//	-log FILE             append log lines to FILE (default: standard error)
//	-log-level L          log lines of level L and above: debug, info, warn or error (default info)
//	-log-format F         log lines as text (key=value) or json (one object a line) (default text)
//	-debug-addr ADDR      serve /metrics, /debug/vars and /debug/pprof/ over HTTP on ADDR (default: off)
//	-greeting TEXT        line sent to every new connection first (default: none)
//	-chat                 every new connection joins the chat room at once, after the greeting
//	-nats URL             the chat room spans every node of this NATS server (default: none)
//	-room NAME            with -nats, the room's name shared by the nodes (default chat)
//	-node NAME            with -nats, this node's name: IDs are NAME/IP:PORT (default host name:port)
//
// # Watching a running endpoint
//
// With -debug-addr 127.0.0.1:6060 an HTTP server on that address serves
// /metrics, the endpoint's figures (see package metrics) with the Go
// runtime's and the process's, for Prometheus; /debug/vars, expvar's JSON
// with the endpoint's Stats under "endpoint"; and /debug/pprof/, the
// profiles of net/http/pprof. It has no authentication: give it a loopback
// address. It is shut down right after the endpoint. When it cannot listen,
// the program says so in one line on standard error and exits with status 1.
//
//	$ curl -s localhost:6060/metrics | grep 'endpoint_requests_total{command="PING"}'
//	endpoint_requests_total{command="PING"} 3
//
// Chat members joining, their /mute, /unmute and /quit, and their leaving are
// logged at info with the member's ID.
//
// # Console and chat table
//
// Each line typed on standard input is sent to every chat member (empty lines
// are not). When standard input ends, the endpoint goes on serving.
//
// After shutdown, standard output gets a table with a header line and one row
// per chat member of the run: its id, the messages it delivered to the room
// (each counted once), the messages it sent while muted, and whether it left
// with /quit, in columns aligned with spaces:
//
//	id              delivered muted quit
//	127.0.0.1:50312 2         0     false
//	127.0.0.1:50318 2         1     true
//
// # Exit status
//
// On SIGINT or SIGTERM the endpoint stops accepting, answers the requests that
// have already reached it (for at most -shutdown-timeout, after which it closes
// the connections still open and logs that it did), removes a unix socket file
// and exits with status 0. A second signal during shutdown kills it at once.
//
// When it cannot start, because a flag is wrong (status 2) or because it cannot
// open the log file or listen (status 1), it prints one line saying why to
// standard error.
package main
