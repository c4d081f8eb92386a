// Package logtest checks log output in tests: every line a JSON object, no
// object with a key twice, and no info line too long to read.
package logtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxInfoLine is the longest a line below warn level may be, in bytes.
const MaxInfoLine = 1000

// DuplicateKey returns the path of the first key that appears twice in one
// object of the JSON value data (e.g. "msg" or "call.ids"), or "" when there
// is none. Unlike json.Unmarshal, which keeps the last of two equal keys
// and says nothing, it walks the tokens and remembers every key of every
// object. data must hold exactly one JSON value.
func DuplicateKey(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dup, err := walk(dec, "")
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("more than one JSON value")
	}
	return dup, nil
}

// walk reads one value and returns the first duplicate key in it.
func walk(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		dup := ""
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] && dup == "" {
				dup = p
			}
			seen[k] = true
			inner, err := walk(dec, p)
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = inner
			}
		}
		_, err := dec.Token() // '}'
		return dup, err
	case '[':
		dup := ""
		for i := 0; dec.More(); i++ {
			inner, err := walk(dec, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = inner
			}
		}
		_, err := dec.Token() // ']'
		return dup, err
	}
	return "", fmt.Errorf("unexpected %v", d)
}

// Problem is what is wrong with one log line.
type Problem struct {
	Line int // 1-based
	Text string
	Why  string
}

func (p Problem) String() string {
	text := p.Text
	if len(text) > 300 {
		text = text[:300] + "..."
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Why, text)
}

// Check returns the problems of a JSON log, one object a line: a line that
// is not a JSON object, an object with a key twice, a line below warn
// level ("debug", "info") longer than MaxInfoLine.
func Check(log string) []Problem {
	var out []Problem
	for i, line := range strings.Split(log, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		p := Problem{Line: i + 1, Text: line}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			p.Why = "not a JSON object: " + err.Error()
			out = append(out, p)
			continue
		}
		dup, err := DuplicateKey([]byte(line))
		switch {
		case err != nil:
			p.Why = err.Error()
			out = append(out, p)
		case dup != "":
			p.Why = fmt.Sprintf("key %q twice", dup)
			out = append(out, p)
		}
		if lvl, _ := obj["level"].(string); (lvl == "info" || lvl == "debug") && len(line) > MaxInfoLine {
			p.Why = fmt.Sprintf("%s line of %d characters (at most %d)", lvl, len(line), MaxInfoLine)
			out = append(out, p)
		}
	}
	return out
}
