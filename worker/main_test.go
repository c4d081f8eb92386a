package worker_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs four tests at once unless -parallel says otherwise: each
// has its own Redis and fake API, and most of their time is spent waiting
// on timers (batch waits, retries, boot checks), not on the CPU.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "4")
	}
	os.Exit(m.Run())
}
