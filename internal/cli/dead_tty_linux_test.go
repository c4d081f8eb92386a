package cli_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY returns both ends of a new pseudo-terminal: what the test types
// into the first, a command reads from the second, its terminal.
func openPTY(t *testing.T) (typing, term *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var n, unlock uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlock pseudo-terminal: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("pseudo-terminal number: %v", e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// At a terminal, dead purge --all asks first, as it always did: no keeps
// every dead phone, yes purges them.
func TestDeadPurgeAllAtATerminalAsks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bury("4200100001", "4200100002")
	typing, term := openPTY(t)

	if _, err := typing.WriteString("n\n"); err != nil {
		t.Fatal(err)
	}
	o := h.runStdin(term, "dead", "purge", "--all")
	if o.code != 0 || !strings.Contains(o.stderr, "purge all 2 dead phones for good? [y/N]") || !strings.Contains(o.stdout, "nothing purged") {
		t.Fatalf("dead purge --all answered n: %v", o)
	}
	if c := h.status(); c["dead"] != 2 {
		t.Fatalf("answered n: %d dead phones left, want 2", c["dead"])
	}

	if _, err := typing.WriteString("y\n"); err != nil {
		t.Fatal(err)
	}
	if o := h.runStdin(term, "dead", "purge", "--all"); o.code != 0 || !strings.Contains(o.stdout, "purged 2 phones") {
		t.Fatalf("dead purge --all answered y: %v", o)
	}
	if c := h.status(); c["dead"] != 0 {
		t.Fatalf("answered y: %d dead phones left, want none", c["dead"])
	}
}
