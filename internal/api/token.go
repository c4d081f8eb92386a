package api

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Scopes a token can hold. ScopeAdmin holds every other.
const (
	ScopeStart = "start" // POST /v1/starts, and with ScopeStop /v1/cancels
	ScopeStop  = "stop"  // POST /v1/stops, and with ScopeStart /v1/cancels
	ScopeRead  = "read"  // every GET but /v1/openapi.json, which needs none
	ScopeAdmin = "admin" // POST /v1/dead/requeue, /v1/pause/lift, and all the rest
)

// Scopes lists the scopes in the order they are shown.
var Scopes = []string{ScopeStart, ScopeStop, ScopeRead, ScopeAdmin}

// TokenPrefix starts every token, so that secret scanners and people can
// tell one.
const TokenPrefix = "pst_"

// TokenEntry is one line of the tokens file: a JSON object naming a token,
// its scopes and the SHA-256 of the token, in hex. The token itself is
// never stored. Blank lines and lines starting with '#' are skipped.
type TokenEntry struct {
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created,omitzero"`
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// check reports what is wrong with the entry.
func (e TokenEntry) check() error {
	if !tokenNameRE.MatchString(e.Name) {
		return fmt.Errorf("name %q: want 1 to 64 ASCII letters, digits, '.', '_' or '-'", e.Name)
	}
	if err := checkScopes(e.Scopes); err != nil {
		return fmt.Errorf("token %s: %w", e.Name, err)
	}
	if !sha256RE.MatchString(e.SHA256) {
		return fmt.Errorf("token %s: sha256: want 64 lowercase hex digits", e.Name)
	}
	return nil
}

func checkScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("no scopes: want some of %s", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return fmt.Errorf("scope %q: want %s", s, strings.Join(Scopes, ", "))
		}
	}
	return nil
}

// ParseTokens reads a tokens file's content. A name given twice, an
// unknown scope or a malformed line is an error naming its line.
func ParseTokens(b []byte) ([]TokenEntry, error) {
	var out []TokenEntry
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e TokenEntry
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("line %d: want a JSON object {\"name\",\"scopes\",\"sha256\"}: %v", n, err)
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("line %d: token name %s given twice", n, e.Name)
		}
		seen[e.Name] = true
		out = append(out, e)
	}
	return out, sc.Err()
}

// hashToken is the hex SHA-256 of a token, as the tokens file holds it.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ErrTokenExists is NewToken's error for a name the file already holds.
var ErrTokenExists = errors.New("a token of that name exists")

// NewToken makes a token named name with scopes, adds its entry to the
// tokens file (created, mode 0600, when missing) and returns the token, the
// only time it is ever seen: the file keeps its hash. The file is replaced
// whole (write, then rename), so a running server never reads half of it;
// servers pick the new token up within their TokensPoll. Two NewToken
// calls on one file at once may lose one of them.
func NewToken(file, name string, scopes []string) (string, error) {
	scopes = slices.Compact(slices.Clone(scopes))
	e := TokenEntry{Name: name, Scopes: scopes, SHA256: strings.Repeat("0", 64), Created: time.Now().UTC().Truncate(time.Second)}
	if err := e.check(); err != nil {
		return "", err
	}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	entries, err := ParseTokens(old)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	for _, x := range entries {
		if x.Name == name {
			return "", fmt.Errorf("%s: %w", name, ErrTokenExists)
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	e.SHA256 = hashToken(token)
	line, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	body := old
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	body = append(body, line...)
	body = append(body, '\n')
	if err := replaceFile(file, body); err != nil {
		return "", err
	}
	return token, nil
}

// replaceFile writes body to a temporary file beside file and renames it
// over file, keeping file's mode (0600 for a new one).
func replaceFile(file string, body []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
