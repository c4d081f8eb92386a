package adminserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/phonestart/phonestart/internal/adminserver"
	"github.com/phonestart/phonestart/internal/redistest"
)

// An admin server reachable from other machines is a risk the operator
// must know of: it asks for no password and its web UI changes tasks. It
// says so once at start; on the loopback interface it says nothing.
func TestAdminServerWarnsWhenReachableFromOtherMachines(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	for _, tt := range []struct {
		addr string
		warn bool
	}{
		{"0.0.0.0:0", true},
		{":0", true}, // every interface, as PHONESTART_ADMIN_ADDR=:9092
		{"127.0.0.1:0", false},
		{"localhost:0", false},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			admin, err := adminserver.New(adminserver.Config{Addr: tt.addr, Redis: rdb, Logger: zap.New(core)})
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.Start(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			defer admin.Shutdown(ctx)
			var warns []string
			for _, e := range logs.All() {
				if e.Level >= zapcore.WarnLevel {
					warns = append(warns, e.Message)
				}
			}
			if !tt.warn {
				if len(warns) != 0 {
					t.Errorf("admin server on %s (%s) warned: %q", tt.addr, admin.Addr(), warns)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("admin server on %s (%s): %d warnings, want 1: %q", tt.addr, admin.Addr(), len(warns), warns)
			}
			for _, want := range []string{admin.Addr(), "no password", "/monitoring/", "delete", "PHONESTART_ADMIN_ADDR", "127.0.0.1"} {
				if !strings.Contains(warns[0], want) {
					t.Errorf("warning %q does not say %q", warns[0], want)
				}
			}
		})
	}
}
