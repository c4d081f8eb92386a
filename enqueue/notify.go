package enqueue

import (
	"errors"
	"fmt"
	"net/url"
)

// ValidateNotifyURL reports what is wrong with a request's notification URL
// ("" is none): it must be an absolute http or https URL without user
// info, at most 2,048 bytes.
func ValidateNotifyURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 2048 {
		return fmt.Errorf("%d bytes, more than 2048", len(s))
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http or https URL", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return errors.New("user info in the URL: put secrets elsewhere")
	}
	return nil
}
