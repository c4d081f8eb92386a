package geelark

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Limits of the start endpoint.
const (
	// MaxStartIDs is the most phone IDs one start call accepts.
	MaxStartIDs = 200
	// MaxIDLength is the longest phone ID phonestart accepts. GeeLark IDs are
	// 18-19 digit numbers; 64 leaves room without letting garbage through.
	MaxIDLength = 64
	// MinWidth and MaxWidth bound StartOptions.Width when it is set.
	MinWidth = 200
	MaxWidth = 600
)

// StartOptions are the display options of a start call. They apply to every
// phone in the call, so phones that asked for different options never share
// one. The zero value asks for GeeLark's defaults.
type StartOptions struct {
	// HideSideBar hides the sidebar. Default false.
	HideSideBar bool `json:"hide_sidebar,omitempty"`
	// DisplayTimer shows the timer. Default false.
	DisplayTimer bool `json:"display_timer,omitempty"`
	// Width is the display width in px, 200..600; 0 leaves it to GeeLark (336).
	Width int `json:"width,omitempty"`
	// Center is 0 (not centered) or 1 (centered); nil leaves it to GeeLark (1).
	Center *int `json:"center,omitempty"`
	// HideLibrary hides the asset library. Default false.
	HideLibrary bool `json:"hide_library,omitempty"`
	// HideMirror hides the mirror. Default false.
	HideMirror bool `json:"hide_mirror,omitempty"`
}

// OptionError is the error of StartOptions.Validate: the option named by
// Field is outside what the API accepts. Callers tell the field from Field,
// never from the message.
type OptionError struct {
	// Field is the option's name as in the API's request body: "width" or
	// "center".
	Field string
	// Err says what is wrong with it, e.g. "width 900 is outside 200..600".
	Err error
}

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Validate reports the first option outside what the API accepts, as an
// *OptionError.
func (o StartOptions) Validate() error {
	if o.Width != 0 && (o.Width < MinWidth || o.Width > MaxWidth) {
		return &OptionError{Field: "width", Err: fmt.Errorf("width %d is outside %d..%d", o.Width, MinWidth, MaxWidth)}
	}
	if o.Center != nil && *o.Center != 0 && *o.Center != 1 {
		return &OptionError{Field: "center", Err: fmt.Errorf("center %d is not 0 or 1", *o.Center)}
	}
	return nil
}

// Key returns a string that is equal for two StartOptions exactly when they
// would send the same request body besides the IDs. Batchers group by it.
func (o StartOptions) Key() string {
	c := "-"
	if o.Center != nil {
		c = fmt.Sprint(*o.Center)
	}
	return fmt.Sprintf("s%t/t%t/w%d/c%s/l%t/m%t",
		o.HideSideBar, o.DisplayTimer, o.Width, c, o.HideLibrary, o.HideMirror)
}

// ValidateID reports why id is not an acceptable phone ID: empty, longer than
// MaxIDLength bytes, containing whitespace or control characters, or any
// character but ASCII letters, digits, '-' and '_'. GeeLark's IDs are
// digits; the narrow set keeps out what a spreadsheet or editor slips in
// unseen (a byte-order mark, a zero-width or non-breaking space, full-width
// digits), which GeeLark could answer by refusing the whole call.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("phone ID is empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("phone ID %.20q... is %d bytes long, more than %d", id, len(id), MaxIDLength)
	}
	if i := strings.IndexFunc(id, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	}); i >= 0 {
		return fmt.Errorf("phone ID %q contains whitespace or a control character at byte %d", id, i)
	}
	if i := strings.IndexFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_')
	}); i >= 0 {
		return fmt.Errorf("phone ID %q contains %q at byte %d: phone IDs are ASCII letters, digits, '-' and '_'", id, []rune(id[i:])[0], i)
	}
	return nil
}

// ErrInvalidRequest is wrapped by every error StartPhones, StopPhones,
// StatusPhones, ListPhones or SetCallback returns before sending anything because the request itself is wrong.
var ErrInvalidRequest = errors.New("invalid request")

// validateStart checks a start request before anything is sent.
func validateStart(ids []string, opts StartOptions) error {
	if err := validateIDs("start", ids, MaxStartIDs); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		// Both wrapped: errors.Is finds ErrInvalidRequest and errors.As the
		// *OptionError with its field.
		return fmt.Errorf("geelark: start: %w: %w", ErrInvalidRequest, err)
	}
	return nil
}

// validateIDs checks the IDs of a batch call to endpoint op: 1..limit
// distinct valid IDs.
func validateIDs(op string, ids []string, limit int) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("geelark: %s: %w: %s", op, ErrInvalidRequest, fmt.Sprintf(format, args...))
	}
	if len(ids) == 0 {
		return invalid("no phone IDs")
	}
	if len(ids) > limit {
		return invalid("%d phone IDs, at most %d per call", len(ids), limit)
	}
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		if err := ValidateID(id); err != nil {
			return invalid("ids[%d]: %v", i, err)
		}
		if _, dup := seen[id]; dup {
			return invalid("ids[%d]: phone ID %q appears twice", i, id)
		}
		seen[id] = struct{}{}
	}
	return nil
}
