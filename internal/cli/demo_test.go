package cli_test

import (
	"regexp"
	"strings"
	"testing"
)

// numberRE is a number, or a duration: 4.4s and 700ms are alike.
var numberRE = regexp.MustCompile(`\d+(\.\d+)?(µs|ms|s|m|h)?`)

// lineShape is a regexp matching line with other numbers and spacing, up to
// its first parenthesis (what follows one varies from run to run).
func lineShape(line string) *regexp.Regexp {
	if i := strings.Index(line, " ("); i >= 0 {
		line = line[:i]
	}
	var b strings.Builder
	b.WriteString(`^\s*`)
	for i, f := range strings.Fields(line) {
		if i > 0 {
			b.WriteString(`\s+`)
		}
		last := 0
		for _, m := range numberRE.FindAllStringIndex(f, -1) {
			b.WriteString(regexp.QuoteMeta(f[last:m[0]]) + numberRE.String())
			last = m[1]
		}
		b.WriteString(regexp.QuoteMeta(f[last:]))
	}
	return regexp.MustCompile(b.String())
}

// The demo's progress tells start calls from status calls, agreeing with its
// summary, and the README's demo output has the shape of a real run's.
func TestDemoNamesStartAndStatusCallsApart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.mustRun("", "demo", "--phones", "60", "--timeout", "2m")
	before, summary, ok := strings.Cut(o.stdout, "\ndone in ")
	if !ok {
		t.Fatalf("demo printed no summary:\n%s", o.stdout)
	}
	before = strings.TrimRight(before, "\n")
	progress := before[strings.LastIndex(before, "\n")+1:]
	m := regexp.MustCompile(`start calls +(\d+) +status calls +(\d+)$`).FindStringSubmatch(progress)
	if m == nil {
		t.Fatalf("the demo's last progress line %q does not name start and status calls apart", progress)
	}
	if !regexp.MustCompile(`\n  start calls +`+m[1]+` `).MatchString(summary) ||
		!regexp.MustCompile(`\n  status calls +`+m[2]+` `).MatchString(summary) {
		t.Errorf("progress ends with %s start and %s status calls; the summary says otherwise:\n%s", m[1], m[2], summary)
	}
	if m[2] == "0" {
		t.Errorf("no status calls: the demo confirms every start with one")
	}

	demo := section(t, readme(t), "The demo")
	_, block, ok := strings.Cut(demo, "\n```\n")
	block, _, _ = strings.Cut(block, "\n```")
	if !ok || block == "" {
		t.Fatalf("the README's demo section has no output block")
	}
	lines := strings.Split(o.stdout, "\n")
	for _, want := range strings.Split(block, "\n") {
		if strings.TrimSpace(want) == "" {
			continue
		}
		re := lineShape(want)
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("the README's demo output has %q; the demo prints no such line:\n%s", want, o.stdout)
		}
	}
	if !regexp.MustCompile(`(?m)start calls +\d+ +status calls +\d+$`).MatchString(block) {
		t.Errorf("the README's demo output has no progress line naming start and status calls apart:\n%s", block)
	}
}
