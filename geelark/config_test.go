package geelark_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

func TestNewClientConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     geelark.Config
		mention string // the field the error must name
	}{
		{"no credentials", geelark.Config{}, "Token"},
		{"key and token", geelark.Config{AppID: testAppID, APIKey: testAPIKey, Token: testToken}, "Token"},
		{"app ID without key", geelark.Config{AppID: testAppID}, "APIKey"},
		{"key without app ID", geelark.Config{APIKey: testAPIKey}, "AppID"},
		{"base URL without scheme", geelark.Config{Token: testToken, BaseURL: "openapi.geelark.com"}, "BaseURL"},
		{"base URL with user info", geelark.Config{Token: testToken, BaseURL: "https://u:p@openapi.geelark.com"}, "BaseURL"},
		{"negative call timeout", geelark.Config{Token: testToken, CallTimeout: -time.Second}, "CallTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := geelark.NewClient(tt.cfg)
			if err == nil {
				t.Fatalf("NewClient accepted %s", tt.name)
			}
			if c != nil {
				t.Error("NewClient returned a client with its error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %s", err, tt.mention)
			}
		})
	}
}

func TestNewClientModes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  geelark.Config
		mode string
		base string
	}{
		{geelark.Config{AppID: testAppID, APIKey: testAPIKey}, "key", geelark.DefaultBaseURL},
		{geelark.Config{Token: testToken, BaseURL: "https://openapi.geelark.cn/"}, "token", "https://openapi.geelark.cn"},
	} {
		c, err := geelark.NewClient(tt.cfg)
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		if c.AuthMode() != tt.mode || c.BaseURL() != tt.base {
			t.Errorf("AuthMode %q BaseURL %q, want %q %q", c.AuthMode(), c.BaseURL(), tt.mode, tt.base)
		}
	}
}

func TestBaseURLErrorsHideCredentials(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"ftp://user:s3cretpw@host", "https://user:s3cretpw@host", "http://u:s3cretpw@", "https://u:s3cretpw@ho st/%zz"} {
		_, err := geelark.NewClient(geelark.Config{BaseURL: base, Token: "t"})
		if err == nil {
			t.Fatalf("%s: accepted", base)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Fatalf("%s: error shows the password: %v", base, err)
		}
	}
}
