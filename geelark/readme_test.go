package geelark_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/phonestart/phonestart/geelark"
)

// The code table of docs/codes.md is the user's copy of Lookup: it must say the
// same, row for row.
func TestDocumentedCodeTableMatchesLookup(t *testing.T) {
	b, err := os.ReadFile("../docs/codes.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range geelark.Codes() {
		row := fmt.Sprintf("| %d | %s | %s | %s | %s | %s | %s |",
			c.Code, c.Meaning, c.Class, yes(c.PerID), yes(c.PerWorker), c.Fix, c.Reason)
		if !strings.Contains(readme, row) {
			t.Errorf("docs/codes.md lacks the row\n%s", row)
		}
	}
}

// yes is a flag as the code table of docs/codes.md shows it.
func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}
