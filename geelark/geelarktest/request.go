package geelarktest

import (
	"encoding/json"
	"io"
	"net/url"

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
	// A callback/set call's.
	url string
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
	if !validIDs(b.IDs, geelark.MaxStartIDs) || (b.Width != 0 && (b.Width < 200 || b.Width > 600)) ||
		(b.Center != nil && *b.Center != 0 && *b.Center != 1) {
		req.code = codeBadParams
	}
	return req
}

// readIDsRequest returns the reader of a status or stop call's body,
// {"ids":[...]}: 40004 unless it holds 1..limit distinct non-empty IDs.
func readIDsRequest(limit int) func(io.Reader) request {
	return func(body io.Reader) request {
		raw, code := readBody(body)
		if code != 0 {
			return request{code: code}
		}
		var b struct {
			IDs []string `json:"ids"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return request{code: codeBadParams}
		}
		req := request{ids: b.IDs}
		if !validIDs(b.IDs, limit) {
			req.code = codeBadParams
		}
		return req
	}
}

// readCallbackRequest reads a callback/set call's body, {"url":...}: 40004
// unless url is an http(s) URL with a host.
func readCallbackRequest(body io.Reader) request {
	raw, code := readBody(body)
	if code != 0 {
		return request{code: code}
	}
	var b struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return request{code: codeBadParams}
	}
	req := request{url: b.URL}
	if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		req.code = codeBadParams
	}
	return req
}

// validIDs reports whether ids holds 1..limit distinct non-empty IDs.
func validIDs(ids []string, limit int) bool {
	if len(ids) == 0 || len(ids) > limit {
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
