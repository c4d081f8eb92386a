package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/phonestart/phonestart/geelark"
)

// readIDs reads phone IDs from path, or from stdin when path is "-": one ID
// a line, as exported by spreadsheets and other tools. It ignores a UTF-8
// byte-order mark, CRLF line endings, whitespace around an ID, blank lines
// and comments from "#" to the end of the line. Anything else that is not a
// valid ID is an error naming its line, and no ID is returned.
func readIDs(path string, stdin io.Reader) ([]string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--file: %v", err)
		}
		defer f.Close()
		r = f
	}
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
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
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if err := geelark.ValidateID(id); err != nil {
			return nil, fmt.Errorf("--file %s: line %d: %v", path, line, err)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--file %s: line %d: %v", path, line+1, err)
	}
	return ids, nil
}
