package geelarktest

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// Phone is a cloud phone that the list endpoint answers, registered with
// AddPhones.
type Phone struct {
	ID         string
	SerialName string   // the phone's name
	Remark     string   // the phone's remark
	GroupName  string   // the phone's group; "" for none
	Tags       []string // tag names
}

// AddPhones registers phones for the list endpoint, after those already
// registered. A phone whose ID is already registered replaces the earlier
// one in its place.
func (f *Fake) AddPhones(ps ...Phone) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ps {
		p.Tags = slices.Clone(p.Tags)
		if i, ok := f.phoneIndex[p.ID]; ok {
			f.phones[i] = p
			continue
		}
		f.phoneIndex[p.ID] = len(f.phones)
		f.phones = append(f.phones, p)
	}
}

// defaultListPageSize is the page size GeeLark documents for a list call
// that sets none.
const defaultListPageSize = 10

// listBody is the wire body of a list call. The other documented filters
// (chargeMode, openStatus, proxyIds, serialNos) are accepted and ignored.
type listBody struct {
	Page       *int     `json:"page"`
	PageSize   *int     `json:"pageSize"`
	IDs        []string `json:"ids"`
	SerialName string   `json:"serialName"`
	Remark     string   `json:"remark"`
	GroupName  string   `json:"groupName"`
	Tags       []string `json:"tags"`
}

// readListRequest reads and validates a list call's body: 40004 when it is
// not a list request, has more than geelark.MaxListIDs IDs, or an empty ID or
// tag; 40008 when page is below 1 or pageSize outside
// 1..geelark.MaxListPageSize. The documentation puts both under "pagination
// parameters" and names no code; 40008 is its "pagination parameter error".
// An empty body is an empty request, which the documentation allows.
func readListRequest(body io.Reader) request {
	raw, code := readBody(body)
	if code != 0 {
		return request{code: code}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var b listBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return request{code: codeBadParams}
	}
	req := request{filter: geelark.ListFilter{
		GroupName: b.GroupName, Tags: b.Tags, Remark: b.Remark, SerialName: b.SerialName, IDs: b.IDs,
	}}
	if b.Page != nil {
		req.page = *b.Page
	}
	if b.PageSize != nil {
		req.pageSize = *b.PageSize
	}
	switch {
	case len(b.IDs) > geelark.MaxListIDs || slices.Contains(b.IDs, "") ||
		slices.ContainsFunc(b.Tags, func(t string) bool { return strings.TrimSpace(t) == "" }):
		req.code = codeBadParams
	case b.Page != nil && *b.Page < 1,
		b.PageSize != nil && (*b.PageSize < 1 || *b.PageSize > geelark.MaxListPageSize):
		req.code = codeBadPagination
	}
	return req
}

// matches reports whether p passes the filter of a list call. The
// documentation does not say how GeeLark matches; the fake takes the
// strictest reading: group name, remark and name equal (case included),
// every tag of the filter among the phone's, the ID among the filter's IDs
// when there are any. Empty filters are ignored.
func matches(flt geelark.ListFilter, p Phone) bool {
	if (flt.GroupName != "" && p.GroupName != flt.GroupName) ||
		(flt.Remark != "" && p.Remark != flt.Remark) ||
		(flt.SerialName != "" && p.SerialName != flt.SerialName) ||
		(len(flt.IDs) > 0 && !slices.Contains(flt.IDs, p.ID)) {
		return false
	}
	for _, t := range flt.Tags {
		if !slices.Contains(p.Tags, t) {
			return false
		}
	}
	return true
}

// listPhones answers an accepted list call: the page of the registered
// phones, in registration order, that pass the filter. With IDs the page
// holds every phone named, whatever page and pageSize say, as documented.
// The phones answered are recorded in c. f.mu must be held.
func (f *Fake) listPhones(c *Call, req request) *listData {
	var hits []int // indexes in f.phones
	for i, p := range f.phones {
		if matches(req.filter, p) {
			hits = append(hits, i)
		}
	}
	page, size := max(req.page, 1), req.pageSize
	if size == 0 {
		size = defaultListPageSize
	}
	d := &listData{Total: len(hits), Page: page, PageSize: size, Items: []listItem{}}
	if len(req.filter.IDs) == 0 {
		from := len(hits)
		if page-1 < len(hits)/size+1 { // (page-1)*size cannot overflow
			from = min((page-1)*size, len(hits))
		}
		hits = hits[from:min(from+size, len(hits))]
	}
	for _, i := range hits {
		d.Items = append(d.Items, f.item(i, c.Time))
		c.Listed = append(c.Listed, f.phones[i].ID)
	}
	return d
}

// item is registered phone i as the list endpoint answers it, at now. Its
// status is its power state: 2 (shut down) until a start of it is accepted,
// then 1 (starting) while it boots and 0 (started), or 2 again after a stop
// or a fall-back. f.mu must be held.
func (f *Fake) item(i int, now time.Time) listItem {
	p := f.phones[i]
	it := listItem{
		ID: p.ID, SerialName: p.SerialName, SerialNo: strconv.Itoa(i + 1), Remark: p.Remark,
		Status: int(f.power[p.ID].state(now)), Tags: make([]listTag, len(p.Tags)),
	}
	if p.GroupName != "" {
		it.Group = &listGroup{ID: "group-" + p.GroupName, Name: p.GroupName}
	}
	for j, t := range p.Tags {
		it.Tags[j] = listTag{Name: t}
	}
	return it
}
