package idfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/internal/idfile"
)

func TestReadTakesFilesAsToolsExportThem(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		text string
		want []string
	}{
		"plain":                           {"5577001\n5577002\n", []string{"5577001", "5577002"}},
		"no final newline":                {"5577001\n5577002", []string{"5577001", "5577002"}},
		"CRLF":                            {"5577001\r\n5577002\r\n", []string{"5577001", "5577002"}},
		"byte-order mark":                 {"\uFEFF5577001\n5577002\n", []string{"5577001", "5577002"}},
		"byte-order mark, CRLF":           {"\uFEFF# fleet\r\n5577001\r\n", []string{"5577001"}},
		"blank lines":                     {"\n\n5577001\n   \n\t\n5577002\n\n", []string{"5577001", "5577002"}},
		"whole-line comments":             {"# fleet A\n5577001\n   # fleet B\n5577002\n", []string{"5577001", "5577002"}},
		"comment after an ID":             {"5577001 # the spare\n5577002\t#\n5577003#x\n", []string{"5577001", "5577002", "5577003"}},
		"spaces around an ID":             {"  5577001  \n\t5577002\t\n", []string{"5577001", "5577002"}},
		"letters, - and _":                {"a-1\nB_2\n", []string{"a-1", "B_2"}},
		"letters first, then letters too": {"phone-a\n5577001\nphone-b\n", []string{"phone-a", "5577001", "phone-b"}},
		"a single ID with letters":        {"# one\nvip_1\n", []string{"vip_1"}},
		"the README's example": {"# vip-ids.txt: the VIP fleet\n557712345678901234\n557712345678901235\n",
			[]string{"557712345678901234", "557712345678901235"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "ids.txt")
			if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := idfile.Read(p, nil, false)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Read(%q) = %q, %v; want %q", tc.text, got, err, tc.want)
			}
			got, err = idfile.Read("-", strings.NewReader(tc.text), false)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Read of stdin %q = %q, %v; want %q", tc.text, got, err, tc.want)
			}
		})
	}
}

func TestReadRefusesABadLineNamingTheFileAndLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		text string
		line int
		want string // in the error
	}{
		"space inside an ID":    {"5577001\n5577 002\n", 2, "whitespace"},
		"slash":                 {"# fleet\n5577001\n\n557/7003\n5577004\n", 4, `"557/7003"`},
		"no-break space":        {"5577001\n5577\u00a0002\n", 2, "whitespace"},
		"byte-order mark later": {"5577001\n\uFEFF5577002\n", 2, "5577002"},
		"too long":              {strings.Repeat("7", 65) + "\n", 1, "64"},
		"a very long line":      {"5577001\n" + strings.Repeat("7", 2<<20) + "\n", 2, "too long"},
		"only comments":         {"# nothing yet\n\n", 0, "no phone IDs"},
		"empty":                 {"", 0, "no phone IDs"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "ids.txt")
			if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			ids, err := idfile.Read(p, nil, false)
			var e *idfile.Error
			if !errors.As(err, &e) || e.Path != p || e.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read = %q, %v; want an error at %s line %d saying %q", ids, err, p, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), p+": ") {
				t.Errorf("error %q does not start with the file", err)
			}
			if tc.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf(": line %d: ", tc.line)) {
				t.Errorf("error %q does not name line %d", err, tc.line)
			}
			if ids != nil {
				t.Errorf("some IDs returned beside the error: %q", ids)
			}
		})
	}
	_, err := idfile.Read(filepath.Join(t.TempDir(), "nope.txt"), nil, false)
	var e *idfile.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "nope.txt: no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

// A spreadsheet's column header is refused, naming its line, unless the
// caller asks to skip it; skipping drops the first line with content,
// whatever it holds.
func TestAHeaderLineIsRefusedUnlessSkipped(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		text string
		line int      // of the header, as refused
		want []string // with skipHeader
	}{
		"phone_id":                      {"phone_id\n5577001\n5577002\n", 1, []string{"5577001", "5577002"}},
		"after a comment, CRLF and BOM": {"\uFEFF# export\r\n\r\nPhone ID\r\n5577001\r\n", 3, []string{"5577001"}},
		"with a comment after it":       {"id # column A\n5577001\n", 1, []string{"5577001"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ids, err := idfile.Parse("ids.csv", strings.NewReader(tc.text), false)
			var e *idfile.Error
			if !errors.As(err, &e) || !errors.Is(err, idfile.ErrHeader) || e.Line != tc.line {
				t.Fatalf("Parse without skipHeader = %q, %v; want ErrHeader at line %d", ids, err, tc.line)
			}
			if want := fmt.Sprintf("ids.csv: line %d: ", tc.line); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			ids, err = idfile.Parse("ids.csv", strings.NewReader(tc.text), true)
			if err != nil || !slices.Equal(ids, tc.want) {
				t.Fatalf("Parse with skipHeader = %q, %v; want %q", ids, err, tc.want)
			}
		})
	}
	// Skipping a file without a header drops its first ID: asked for.
	if ids, err := idfile.Parse("f", strings.NewReader("# fleet\n5577001\n5577002\n"), true); err != nil || !slices.Equal(ids, []string{"5577002"}) {
		t.Fatalf("skipHeader on a file with no header: %q, %v", ids, err)
	}
	// A header alone leaves no IDs.
	if _, err := idfile.Parse("f", strings.NewReader("phone_id\n"), true); !errors.Is(err, idfile.ErrNoIDs) {
		t.Fatalf("skipHeader on a header alone: %v, want ErrNoIDs", err)
	}
}

// FuzzParse: whatever the input, Parse does not panic; what it accepts are
// valid IDs, and written back one a line they read the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"5577001\n5577002\n", "\uFEFF# fleet\r\n 5577001 # a\r\n\r\n", "phone_id\n1\n2\n",
		"a#b\n", "\uFEFF", "#", "\r\n", "557/7003\n", "5577 002\n", "\x00\n", "Phone ID\n1\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, skipHeader bool) {
		ids, err := idfile.Parse("f", strings.NewReader(s), skipHeader)
		if err != nil {
			var e *idfile.Error
			if !errors.As(err, &e) || e.Path != "f" || ids != nil {
				t.Fatalf("Parse(%q) = %q, %v: want no IDs and an *Error naming f", s, ids, err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("Parse(%q) returned no IDs and no error", s)
		}
		for _, id := range ids {
			if err := geelark.ValidateID(id); err != nil {
				t.Fatalf("Parse(%q) returned %q: %v", s, id, err)
			}
		}
		again, err := idfile.Parse("f", strings.NewReader(strings.Join(ids, "\n")), false)
		if skipHeader && errors.Is(err, idfile.ErrHeader) {
			return // what followed the header skipped has a header's shape itself
		}
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("Parse(%q) = %q; read back: %q, %v", s, ids, again, err)
		}
	})
}
