package main

import (
	"strconv"
	"strings"

	"github.com/endpoint-rpc/endpoint/handlers"
)

// stringPayload is the 64-byte text of every STRING request.
var stringPayload = strings.Repeat("abcdefgh", 8)

// wantString is the reply every target must give to a STRING request.
var wantString = "OK " + stringPayload

// gobPayload is the value of every GOB (nested-struct) request: the shape the
// protocol defines, nested three levels, with a small map and byte slice. It is
// shared by every client goroutine and only ever read.
var gobPayload = &handlers.GobPayload{
	N: 42,
	S: "outer",
	M: map[string]int{"alpha": 1, "beta": 2, "gamma": 3},
	P: []byte("0123456789abcdef0123456789abcdef"),
	C: &handlers.GobPayload{
		N: 7,
		S: "middle",
		M: map[string]int{"x": 9, "y": 10},
		P: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		C: &handlers.GobPayload{
			N: -1,
			S: "inner",
			M: map[string]int{"z": 11},
			P: []byte{9},
		},
	},
}

// wantGob is the reply every target must give to gobPayload.
var wantGob = gobReply(gobPayload)

// gobReply is the reply to a nested-struct request, as the protocol's GOB
// command gives it: the outer N in decimal and S quoted.
func gobReply(v *handlers.GobPayload) string {
	return "OK N=" + strconv.Itoa(v.N) + " S=" + strconv.Quote(v.S)
}
