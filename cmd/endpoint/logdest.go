package main

import (
	"io"
	"os"

	"github.com/pkg/errors"
)

// openLog returns where log lines go: the file at path, opened for appending
// (and created if need be), or stderr when path is empty. The returned func
// closes the file.
func openLog(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, errors.Wrap(err, "cannot open the log file")
	}
	return f, func() { f.Close() }, nil
}
