// Package handlers holds the endpoint's built-in commands, STRING, GOB and
// CHAT, and [Register], which adds them to an Endpoint.
//
//	$ nc localhost 61000
//	STRING
//	hello
//	OK hello
//	HELP
//	commands: CHAT GOB HELP PING STRING
package handlers

import "github.com/endpoint-rpc/endpoint/endpoint"

// Register adds the built-in commands to e: STRING, GOB and CHAT. It returns
// the chat room, through which a program broadcasts to chat members and reads
// their figures.
func Register(e *endpoint.Endpoint) *Chat {
	e.HandleFunc("STRING", String)
	e.HandleFunc("GOB", Gob)
	chat := NewChat()
	e.Handle("CHAT", chat)
	return chat
}
