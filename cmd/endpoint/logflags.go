package main

import (
	"io"
	"log/slog"
)

// logLevels are the values of -log-level.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// newLogger returns the program's logger, writing to w in the format and
// from the level that -log-format and -log-level say.
func (cfg *config) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[cfg.logLevel]}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// knownLogLevel reports whether name is a value of -log-level.
func knownLogLevel(name string) bool {
	_, ok := logLevels[name]
	return ok
}
