package geelark_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phonestart/phonestart/geelark"
)

// documentedCodes lists every code of the API notes (geelark-api.md) with
// the class phonestart gives it.
var documentedCodes = []struct {
	code  int
	class geelark.Class
}{
	// Start endpoint.
	{42001, geelark.ClassPermanent},
	{43004, geelark.ClassPermanent},
	{47004, geelark.ClassPermanent},
	{43007, geelark.ClassTransient},
	{45002, geelark.ClassTransient},
	{47002, geelark.ClassTransient},
	{43020, geelark.ClassTransient},
	{43029, geelark.ClassTransient},
	// Stop endpoint.
	{43005, geelark.ClassTransient},
	{43006, geelark.ClassTransient},
	// Other cloud phone codes.
	{43008, geelark.ClassTransient},
	{43010, geelark.ClassStarted},
	{43038, geelark.ClassPermanent},
	{43039, geelark.ClassTransient},
	{43043, geelark.ClassTransient},
	{46001, geelark.ClassAccount},
	{47001, geelark.ClassTransient},
	{47003, geelark.ClassPermanent},
	// Call-level codes.
	{40000, geelark.ClassUnknown},
	{40001, geelark.ClassTransient},
	{40002, geelark.ClassPermanent},
	{40003, geelark.ClassAccount},
	{40004, geelark.ClassPermanent},
	{40005, geelark.ClassPermanent},
	{40006, geelark.ClassUnknown},
	{40007, geelark.ClassRateLimited},
	{40008, geelark.ClassPermanent},
	{40009, geelark.ClassUnknown},
	{40010, geelark.ClassTransient},
	{40011, geelark.ClassAccount},
	{40012, geelark.ClassAccount},
	{40013, geelark.ClassAccount},
	{40014, geelark.ClassRateLimited},
	{40015, geelark.ClassAccount},
	{40016, geelark.ClassAccount},
	{40017, geelark.ClassRateLimited},
	{41001, geelark.ClassAccount},
	{50000, geelark.ClassTransient},
}

func TestCodeClasses(t *testing.T) {
	t.Parallel()
	inTable := map[int]geelark.CodeInfo{}
	for _, ci := range geelark.Codes() {
		inTable[ci.Code] = ci
	}
	for _, dc := range documentedCodes {
		ci, ok := inTable[dc.code]
		if !ok {
			t.Errorf("%d: documented but missing from Codes()", dc.code)
			continue
		}
		if ci.Class != dc.class {
			t.Errorf("%d (%s): class %s, want %s", dc.code, ci.Meaning, ci.Class, dc.class)
		}
		if ci.Meaning == "" || ci.Reason == "" {
			t.Errorf("%d: Meaning %q Reason %q: every row says what and why", dc.code, ci.Meaning, ci.Reason)
		}
		if got := geelark.Lookup(dc.code); got.Code != dc.code || got.Class != dc.class {
			t.Errorf("Lookup(%d) = code %d class %s", dc.code, got.Code, got.Class)
		}
		if got := (&geelark.APIError{Code: dc.code}).Class(); got != dc.class {
			t.Errorf("APIError{%d}.Class() = %s, want %s", dc.code, got, dc.class)
		}
		delete(inTable, dc.code)
	}
	for code := range inTable {
		t.Errorf("%d: in Codes() but not in this test's list of documented codes", code)
	}
}

func TestCodesSorted(t *testing.T) {
	t.Parallel()
	codes := geelark.Codes()
	for i := 1; i < len(codes); i++ {
		if codes[i-1].Code >= codes[i].Code {
			t.Fatalf("Codes() not ascending at %d: %d then %d", i, codes[i-1].Code, codes[i].Code)
		}
	}
}

func TestUnknownCode(t *testing.T) {
	t.Parallel()
	ci := geelark.Lookup(49999)
	if ci.Code != 49999 || ci.Class != geelark.ClassUnknown || ci.Meaning != "" || ci.RetryAfter(time.Now()) != 0 {
		t.Errorf("Lookup(49999) = %+v", ci)
	}
	if s := geelark.Class(99).String(); s != "Class(99)" {
		t.Errorf("Class(99).String() = %q", s)
	}
	if s := geelark.ClassRateLimited.String(); s != "rate-limited" {
		t.Errorf("ClassRateLimited.String() = %q", s)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	beijing := time.FixedZone("UTC+8", 8*3600)
	kolkata := time.FixedZone("UTC+5:30", 5*3600+1800)
	tests := []struct {
		name string
		code int
		now  time.Time
		want time.Time // when the code clears; zero: undocumented
	}{
		{"40007 mid-minute", 40007, time.Date(2024, 5, 29, 8, 54, 52, 166e6, time.UTC),
			time.Date(2024, 5, 29, 8, 55, 0, 0, time.UTC)},
		{"40007 on the minute waits a whole one", 40007, time.Date(2024, 5, 29, 8, 55, 0, 0, time.UTC),
			time.Date(2024, 5, 29, 8, 56, 0, 0, time.UTC)},
		{"40007 in a half-hour zone", 40007, time.Date(2024, 5, 29, 14, 24, 30, 0, kolkata),
			time.Date(2024, 5, 29, 8, 55, 0, 0, time.UTC)},
		{"40017", 40017, time.Date(2024, 5, 29, 8, 59, 59, 0, time.UTC),
			time.Date(2024, 5, 29, 9, 0, 0, 0, time.UTC)},
		{"43008 resets at UTC midnight, not local", 43008, time.Date(2024, 5, 30, 7, 0, 0, 0, beijing),
			time.Date(2024, 5, 30, 0, 0, 0, 0, time.UTC)},
		{"43008 at UTC midnight waits a day", 43008, time.Date(2024, 5, 30, 0, 0, 0, 0, time.UTC),
			time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC)},
		{"43008 on New Year's Eve", 43008, time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC),
			time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"40014 two-hour lockout", 40014, time.Date(2024, 5, 29, 8, 54, 52, 0, time.UTC),
			time.Date(2024, 5, 29, 10, 54, 52, 0, time.UTC)},
		{"47002 undocumented", 47002, time.Date(2024, 5, 29, 8, 54, 52, 0, time.UTC), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := geelark.Lookup(tt.code).RetryAfter(tt.now)
			if tt.want.IsZero() {
				if d != 0 {
					t.Errorf("RetryAfter = %v, want 0", d)
				}
				return
			}
			if got := tt.now.Add(d); !got.Equal(tt.want) {
				t.Errorf("RetryAfter = %v, reaching %v, want %v", d, got.UTC(), tt.want)
			}
		})
	}
}

// TestCodeFlags pins which codes carry each flag: a worker splits calls on
// PerID codes, stops at start-up on Setup codes and pauses only itself on
// PerWorker codes, so a flag moved by mistake changes what the fleet does.
func TestCodeFlags(t *testing.T) {
	t.Parallel()
	perID := map[int]bool{40004: true, 40005: true, 40009: true}
	setup := map[int]bool{40003: true, 40011: true, 40012: true, 40013: true, 40015: true, 40016: true}
	perWorker := map[int]bool{40003: true, 40016: true}
	for _, ci := range geelark.Codes() {
		if ci.PerID != perID[ci.Code] {
			t.Errorf("%d: PerID %t, want %t", ci.Code, ci.PerID, perID[ci.Code])
		}
		if ci.Setup != setup[ci.Code] {
			t.Errorf("%d: Setup %t, want %t", ci.Code, ci.Setup, setup[ci.Code])
		}
		if ci.Setup != (ci.Fix != "") {
			t.Errorf("%d: Setup %t with Fix %q: a setup code names its fix, no other code has one", ci.Code, ci.Setup, ci.Fix)
		}
		if ci.PerWorker != perWorker[ci.Code] {
			t.Errorf("%d: PerWorker %t, want %t", ci.Code, ci.PerWorker, perWorker[ci.Code])
		}
		if ci.PerWorker && !ci.Setup {
			t.Errorf("%d: PerWorker without Setup", ci.Code)
		}
		if ci.PerID && (ci.Class == geelark.ClassTransient || ci.Class == geelark.ClassStarted) {
			t.Errorf("%d: PerID on a %s code: a split call would retry or count phones it should not", ci.Code, ci.Class)
		}
	}
	for code, want := range map[int]string{
		40003: "GEELARK_API_KEY",
		40016: "IP whitelist",
	} {
		if fix := geelark.Lookup(code).Fix; !strings.Contains(fix, want) {
			t.Errorf("Lookup(%d).Fix = %q, want it to name %q", code, fix, want)
		}
	}
	if ci := geelark.Lookup(49999); ci.PerID || ci.Setup || ci.PerWorker || ci.Fix != "" {
		t.Errorf("an unknown code carries flags: %+v", ci)
	}
}
