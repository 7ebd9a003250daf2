// Package handlers holds the endpoint's built-in commands, STRING and GOB, and
// [Register], which adds them to an Endpoint.
//
//	$ nc localhost 61000
//	STRING
//	hello
//	OK hello
//	HELP
//	commands: GOB HELP PING STRING
package handlers

import "github.com/endpoint-rpc/endpoint/endpoint"

// Register adds the built-in commands to e: STRING and GOB.
func Register(e *endpoint.Endpoint) {
	e.HandleFunc("STRING", String)
	e.HandleFunc("GOB", Gob)
}
