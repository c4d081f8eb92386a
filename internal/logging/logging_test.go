package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/internal/logging"
)

func TestNewWritesTheFormatAskedFor(t *testing.T) {
	t.Parallel()
	var js bytes.Buffer
	log, err := logging.New(&js, "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("call done", logging.Field("started", 3))
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("json format wrote %q: %v", js.String(), err)
	}
	if m["msg"] != "call done" || m["level"] != "info" || m["started"] != float64(3) {
		t.Errorf("json line %v", m)
	}

	// auto is JSON when the writer is not a terminal.
	var auto bytes.Buffer
	if log, err = logging.New(&auto, "auto"); err != nil {
		t.Fatal(err)
	}
	log.Info("x")
	if !json.Valid(bytes.TrimSpace(auto.Bytes())) {
		t.Errorf("auto on a buffer wrote %q, want JSON", auto.String())
	}

	var con bytes.Buffer
	if log, err = logging.New(&con, "console"); err != nil {
		t.Fatal(err)
	}
	log.Named("worker").Warn("call refused", logging.Field("code", 40003))
	line := con.String()
	for _, want := range []string{"WARN", "worker", "call refused", `"code": 40003`} {
		if !strings.Contains(line, want) {
			t.Errorf("console line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\x1b[") || strings.Contains(line, ".go:") {
		t.Errorf("console line to a non-terminal has colour codes or a caller: %q", line)
	}

	if _, err := logging.New(&con, "xml"); err == nil || !strings.Contains(err.Error(), "json, console or auto") {
		t.Errorf("format xml: %v, want an error naming the formats", err)
	}
}
