// Package logging builds phonestart's zap loggers and routes the logs of its
// dependencies, go-redis and asynq, through them: one format per process,
// JSON for machines and readable lines on a terminal.
package logging

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats are the values New accepts for format.
var Formats = []string{"json", "console", "auto"}

// New returns a logger at info level writing to w: JSON when format is
// "json", readable lines when it is "console", and for "auto" or "" console
// on a terminal and JSON otherwise. Another format is an error. The logger
// is safe for simultaneous use by multiple goroutines, whether or not w is.
func New(w io.Writer, format string) (*zap.Logger, error) {
	switch format {
	case "", "auto":
		format = "json"
		if IsTerminal(w) {
			format = "console"
		}
	case "json", "console":
	default:
		return nil, fmt.Errorf("log format %q: must be json, console or auto", format)
	}
	var enc zapcore.Encoder
	if format == "json" {
		cfg := zap.NewProductionEncoderConfig()
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	} else {
		// time  LEVEL  logger  message  {fields}: no caller, no stack
		// trace below warnings, so that a line fits a terminal.
		cfg := zap.NewDevelopmentEncoderConfig()
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if !IsTerminal(w) {
			cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		cfg.CallerKey, cfg.StacktraceKey = "", ""
		cfg.ConsoleSeparator = "  "
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	// Lock: the worker logs from many goroutines, and w need not be safe
	// for simultaneous writes.
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), zap.InfoLevel)
	return zap.New(core), nil
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
