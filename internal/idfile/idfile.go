// Package idfile reads files of phone IDs, one a line, as spreadsheets and
// other tools export them. It is the one reader behind `enqueue --file`,
// `stop --file`, `cancel --file` and a schedule's ids_file, so that all of
// them take the same files.
//
// A file may hold blank lines, comments from "#" to the end of a line (a
// whole line or after an ID), spaces and tabs around an ID, a UTF-8
// byte-order mark and CRLF line endings. Every other line must be a phone ID
// that geelark.ValidateID accepts; one that is not refuses the whole file,
// naming the file and the line.
//
// A first line with letters in a file whose other lines are all digits is
// a spreadsheet's column header (phone_id): it is refused with ErrHeader
// rather than taken for a phone, unless the caller asks to skip it.
package idfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"github.com/phonestart/phonestart/geelark"
)

// ErrNoIDs is a file with no phone ID in it: empty, or only blank lines and
// comments.
var ErrNoIDs = errors.New("no phone IDs")

// ErrHeader is a first line that looks like a column header: letters where
// every other line is digits. Callers say how to skip it (a flag, a field).
var ErrHeader = errors.New("a column header, not a phone ID")

// Error is a file of IDs refused: which file, which line and why. Err is
// ErrNoIDs, the error of geelark.ValidateID for the line, or the error that
// kept the file from being read.
type Error struct {
	// Path is the file as it was named; "-" is standard input.
	Path string
	// Line is the 1-based line refused; 0 when the refusal is about the
	// whole file (it could not be opened, or holds no ID).
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: line %d: %v", e.Path, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// maxLine is the longest line read: far more than any ID, so that a file
// that is not a list of IDs is refused at its first long line, not held
// whole.
const maxLine = 1 << 20

// Read returns the phone IDs of the file at path, in file order, or of stdin
// when path is "-". With skipHeader, the file's first line that is not blank
// or a comment is dropped, whatever it holds. Every error it returns is an
// *Error.
func Read(path string, stdin io.Reader, skipHeader bool) ([]string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in the Error already
			}
			return nil, &Error{Path: path, Err: err}
		}
		defer f.Close()
		r = f
	}
	return Parse(path, r, skipHeader)
}

// Parse returns the phone IDs read from r, in order; path names r in
// errors. skipHeader is as for Read. Every error it returns is an *Error.
func Parse(path string, r io.Reader, skipHeader bool) ([]string, error) {
	var ids []string
	// The first line with letters waits until the rest is read: a header
	// only if every other line is digits.
	var first string
	firstLine, digits := 0, true
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	line := 0
	for sc.Scan() {
		line++
		id := sc.Text()
		if line == 1 {
			id = strings.TrimPrefix(id, "\uFEFF")
		}
		if i := strings.IndexByte(id, '#'); i >= 0 {
			id = id[:i]
		}
		// TrimSpace takes the \r of CRLF too.
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if skipHeader {
			skipHeader = false
			continue
		}
		if firstLine == 0 && len(ids) == 0 && strings.IndexFunc(id, unicode.IsLetter) >= 0 {
			first, firstLine = id, line
			continue
		}
		if err := geelark.ValidateID(id); err != nil {
			return nil, &Error{Path: path, Line: line, Err: err}
		}
		digits = digits && strings.Trim(id, "0123456789") == ""
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{Path: path, Line: line + 1, Err: err}
	}
	if firstLine > 0 {
		if len(ids) > 0 && digits {
			return nil, &Error{Path: path, Line: firstLine,
				Err: fmt.Errorf("%.40q looks like %w: every other line is digits", first, ErrHeader)}
		}
		if err := geelark.ValidateID(first); err != nil {
			return nil, &Error{Path: path, Line: firstLine, Err: err}
		}
		ids = append([]string{first}, ids...)
	}
	if len(ids) == 0 {
		return nil, &Error{Path: path, Err: ErrNoIDs}
	}
	return ids, nil
}
