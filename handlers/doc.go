// Package handlers holds the endpoint's built-in commands, STRING, GOB, CHAT
// and STATS, and [Register], which adds them to an Endpoint.
//
//	$ nc localhost 61000
//	STRING
//	hello
//	OK hello
//	HELP
//	commands: CHAT GOB HELP PING STATS STRING
//	STATS
//	connections=1 members=0 requests=2 errors=0 accepted=1 refused=0 panics=0 protocol_errors=0 slow_members=0
package handlers

import "github.com/endpoint-rpc/endpoint/endpoint"

// Register adds the built-in commands to e: STRING, GOB, CHAT and STATS. It returns
// the chat room, through which a program broadcasts to chat members and reads
// their figures; the room logs to e.Logger as it is when Register is called
// (see Chat.Logger).
func Register(e *endpoint.Endpoint) *Chat {
	e.HandleFunc("STRING", String)
	e.HandleFunc("GOB", Gob)
	chat := NewChat()
	chat.Logger = e.Logger
	e.Handle("CHAT", chat)
	e.HandleFunc("STATS", Stats(e))
	return chat
}
