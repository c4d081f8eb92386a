package geelark

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ListPath is the list endpoint's path.
const ListPath = "/open/v1/phone/list"

// Limits of the list endpoint.
const (
	// MaxListPageSize is the largest page the list endpoint answers.
	MaxListPageSize = 100
	// MaxListIDs is the most phone IDs one list call may filter by.
	MaxListIDs = 100
)

// ListFilter selects phones on the list endpoint. Empty fields select
// nothing out: the zero value lists every phone of the account.
//
// GeeLark documents the filters' names but not how they match: whether
// names and remarks match exactly or in part, whether several tags mean all
// or any of them, or whether case matters. Matches is phonestart's reading,
// the strictest one, and ListAll applies it to what GeeLark answers, so a
// looser match on GeeLark's side never selects (and starts) a phone the
// filter does not name.
type ListFilter struct {
	// GroupName is the exact name of the phones' group; "" means any group.
	GroupName string
	// Tags are tag names the phones must all carry; none means any tags.
	Tags []string
	// Remark is the phones' exact remark; "" means any remark.
	Remark string
	// SerialName is the phones' exact name; "" means any name.
	SerialName string
	// IDs, when not empty, limits the list to these phones (at most
	// MaxListIDs). GeeLark then ignores paging and answers them all at once.
	IDs []string
}

// Matches reports whether p satisfies every field of f set: the same group
// name, remark and name (exactly, case included), every tag of f among p's,
// and p's ID among f.IDs when there are any.
func (f ListFilter) Matches(p Phone) bool {
	switch {
	case f.GroupName != "" && p.GroupName != f.GroupName,
		f.Remark != "" && p.Remark != f.Remark,
		f.SerialName != "" && p.SerialName != f.SerialName,
		len(f.IDs) > 0 && !slices.Contains(f.IDs, p.ID):
		return false
	}
	for _, tag := range f.Tags {
		if !slices.Contains(p.Tags, tag) {
			return false
		}
	}
	return true
}

// Phone is one cloud phone of a list reply. Fields the reply leaves out are
// empty. The reply's proxy (which carries the proxy's password) and
// equipment details are not decoded: phonestart has no use for them.
type Phone struct {
	ID         string
	SerialName string   // the phone's name
	SerialNo   string   // the phone's number in the GeeLark app
	Remark     string   // the phone's remark
	GroupID    string   // the group's ID
	GroupName  string   // the group's name
	Tags       []string // tag names
	// Status is the power state: 0 started, 1 starting, 2 shut down (as the
	// list endpoint's documentation says; a generated schema in the same
	// repository numbers them differently, so treat it as a hint). -1 when
	// the reply did not say.
	Status int
}

// ListPage is one page of the list endpoint's reply.
type ListPage struct {
	TraceID  string
	Total    int // phones matching the filter, on all pages
	Page     int // as answered
	PageSize int // as answered
	Items    []Phone
}

// listRequest is the wire body of a list call. Empty filters are left out:
// GeeLark ignores them.
type listRequest struct {
	Page       int      `json:"page"`
	PageSize   int      `json:"pageSize"`
	IDs        []string `json:"ids,omitempty"`
	SerialName string   `json:"serialName,omitempty"`
	Remark     string   `json:"remark,omitempty"`
	GroupName  string   `json:"groupName,omitempty"`
	Tags       []string `json:"tags,omitempty"`
}

// ListPhones reads page (from 1) of the phones that f selects, pageSize
// (1..MaxListPageSize) at a time. Invalid input returns an error wrapping
// ErrInvalidRequest before any request is made.
//
// GeeLark filters the page; its matching is not documented (see ListFilter),
// so the page may hold phones that f.Matches rejects. On error the ListPage,
// when not nil, carries the traceId, and the error is an *APIError or a
// *TransportError, as for StartPhones.
func (c *Client) ListPhones(ctx context.Context, page, pageSize int, f ListFilter) (*ListPage, error) {
	if err := validateList(page, pageSize, f); err != nil {
		return nil, err
	}
	req := listRequest{
		Page: page, PageSize: pageSize, IDs: f.IDs,
		SerialName: f.SerialName, Remark: f.Remark, GroupName: f.GroupName, Tags: f.Tags,
	}
	var res *ListPage
	traceID, err := c.call(ctx, "list", ListPath, req, func(raw []byte) (err error) {
		res, err = ParseListReply(raw)
		return err
	})
	if err != nil {
		return &ListPage{TraceID: traceID}, err
	}
	if res.TraceID == "" {
		res.TraceID = traceID
	}
	return res, nil
}

// ListAll reads every phone that f selects: it calls ListPhones page by page,
// MaxListPageSize at a time, until the reply's Total is read, and calls wait,
// when not nil, before each page (to spend the caller's API budget for the
// list endpoint). It returns each phone once, in the order GeeLark listed
// them, keeping only those f.Matches; phones without an ID are dropped.
//
// The first error ends the listing and is returned, wrapped with the page
// number, with no phones: a partial selection is never returned. A server
// that does not stop is cut off: ListAll stops at an empty page, and never
// reads more than one page beyond what the first page's Total needs. Phones
// added or removed while the pages are read may be missed; GeeLark's paging
// offers nothing better.
func (c *Client) ListAll(ctx context.Context, f ListFilter, wait func(context.Context) error) ([]Phone, error) {
	var out []Phone
	seen := make(map[string]bool)
	for page, last := 1, 1; page <= last; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if wait != nil {
			if err := wait(ctx); err != nil {
				return nil, err
			}
		}
		p, err := c.ListPhones(ctx, page, MaxListPageSize, f)
		if err != nil {
			return nil, fmt.Errorf("geelark: list page %d: %w", page, err)
		}
		if page == 1 {
			last = pages(p.Total) + 1
		}
		for _, ph := range p.Items {
			if ph.ID == "" || seen[ph.ID] || !f.Matches(ph) {
				continue
			}
			seen[ph.ID] = true
			out = append(out, ph)
		}
		// With IDs GeeLark ignores paging: every page would be the same.
		if len(f.IDs) > 0 || len(p.Items) == 0 || page >= pages(p.Total) {
			break
		}
	}
	return out, nil
}

// pages is how many full-size pages hold total phones.
func pages(total int) int {
	return (max(total, 0) + MaxListPageSize - 1) / MaxListPageSize
}

// validateList checks a list request before anything is sent.
func validateList(page, pageSize int, f ListFilter) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("geelark: list: %w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
	}
	if page < 1 {
		return invalid("page %d, pages count from 1", page)
	}
	if pageSize < 1 || pageSize > MaxListPageSize {
		return invalid("page size %d is outside 1..%d", pageSize, MaxListPageSize)
	}
	if len(f.IDs) > MaxListIDs {
		return invalid("%d phone IDs, at most %d per call", len(f.IDs), MaxListIDs)
	}
	for i, id := range f.IDs {
		if err := ValidateID(id); err != nil {
			return invalid("ids[%d]: %v", i, err)
		}
	}
	for i, tag := range f.Tags {
		if strings.TrimSpace(tag) == "" {
			return invalid("tags[%d] is empty", i)
		}
	}
	return nil
}
