package codec

import "errors"

// Errors returned by the readers and writers in this package. Callers test for
// them with errors.Is; the values returned may wrap them with context.
var (
	// ErrLineTooLong is returned by ReadLine when a line exceeds its limit.
	ErrLineTooLong = errors.New("codec: line too long")
	// ErrPayloadTooLarge is returned when a gob value exceeds its byte limit.
	ErrPayloadTooLarge = errors.New("codec: payload too large")
	// ErrNewline is returned by WriteLine for text that contains a newline,
	// which would split one line into two on the wire.
	ErrNewline = errors.New("codec: line contains a newline")
	// ErrGobRefused is wrapped by every error of a GobChecker: the gob
	// payload was refused before encoding/gob saw it.
	ErrGobRefused = errors.New("codec: gob payload refused")
)
