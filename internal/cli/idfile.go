package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/phonestart/phonestart/internal/idfile"
)

// skipHeaderUsage is the help of --skip-header, on every command with --file.
const skipHeaderUsage = "drop the first line of --file that is not blank or a comment: a spreadsheet's column header"

// readIDs reads the phone IDs of --file path ("-": stdin) with package
// idfile, the reader schedules' ids_file uses too: its errors name the flag,
// the file and the line, and a header line says to add --skip-header.
func readIDs(path string, stdin io.Reader, skipHeader bool) ([]string, error) {
	ids, err := idfile.Read(path, stdin, skipHeader)
	switch {
	case errors.Is(err, idfile.ErrHeader):
		return nil, fmt.Errorf("--file %w (add --skip-header to drop it)", err)
	case err != nil:
		return nil, fmt.Errorf("--file %w", err)
	}
	return ids, nil
}
