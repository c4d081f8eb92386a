package geelarktest

import (
	"encoding/json"
	"io"

	"github.com/phonestart/phonestart/geelark"
)

// maxRequestBody is the largest body the fake reads. A 200-ID request is
// under 5 KiB.
const maxRequestBody = 1 << 20

// startBody is the wire body of a start call.
type startBody struct {
	IDs          []string `json:"ids"`
	HideSideBar  bool     `json:"hideSideBar"`
	DisplayTimer bool     `json:"displayTimer"`
	Width        int      `json:"width"`
	Center       *int     `json:"center"`
	HideLibrary  bool     `json:"hideLibrary"`
	HideMirror   bool     `json:"hideMirror"`
}

// request is a call's body as far as it could be decoded.
type request struct {
	code int // 0, codeBodyUnreadable, codeBadParams or codeBadPagination
	// A start call's.
	ids  []string
	opts geelark.StartOptions
	// A list call's; page and pageSize are 0 when the body did not set them.
	page, pageSize int
	filter         geelark.ListFilter
}

// readBody reads a call's body, or answers 40001 when it cannot be read or is
// larger than maxRequestBody.
func readBody(body io.Reader) ([]byte, int) {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody+1))
	if err != nil || len(raw) > maxRequestBody {
		return nil, codeBodyUnreadable
	}
	return raw, 0
}

// readRequest reads and validates a start call's body.
func readRequest(body io.Reader) request {
	raw, code := readBody(body)
	if code != 0 {
		return request{code: code}
	}
	var b startBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return request{code: codeBadParams}
	}
	req := request{
		ids: b.IDs,
		opts: geelark.StartOptions{
			HideSideBar: b.HideSideBar, DisplayTimer: b.DisplayTimer, Width: b.Width,
			Center: b.Center, HideLibrary: b.HideLibrary, HideMirror: b.HideMirror,
		},
	}
	if !validIDs(b.IDs) || (b.Width != 0 && (b.Width < 200 || b.Width > 600)) ||
		(b.Center != nil && *b.Center != 0 && *b.Center != 1) {
		req.code = codeBadParams
	}
	return req
}

// validIDs reports whether ids holds 1..200 distinct non-empty IDs.
func validIDs(ids []string) bool {
	if len(ids) == 0 || len(ids) > geelark.MaxStartIDs {
		return false
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}
