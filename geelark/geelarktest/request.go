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

// request is a start call's body as far as it could be decoded.
type request struct {
	ids  []string
	opts geelark.StartOptions
	code int // 0, codeBodyUnreadable or codeBadParams
}

// readRequest reads and validates a start call's body.
func readRequest(body io.Reader) request {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody+1))
	if err != nil || len(raw) > maxRequestBody {
		return request{code: codeBodyUnreadable}
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
