package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times: 100
// on every Linux that Go supports.
const clockTicks = 100

// cpuMeter reads the CPU time used by this process and, when Redis is a
// local server, by redis-server, to tell the CPU cost of a task on each
// side from the wall-clock time.
type cpuMeter struct {
	redisPID int // 0 when Redis is embedded (its CPU is this process's) or not local
}

func newCPUMeter(b testing.TB, rdb *redis.Client, embedded bool) cpuMeter {
	b.Helper()
	if embedded {
		return cpuMeter{}
	}
	info, err := rdb.Info(context.Background(), "server").Result()
	if err != nil {
		return cpuMeter{}
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				return cpuMeter{redisPID: pid}
			}
		}
	}
	return cpuMeter{}
}

// cpuSample is the CPU time used so far.
type cpuSample struct{ self, redis time.Duration }

func (m cpuMeter) sample() cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if m.redisPID != 0 {
		s.redis = procCPU(m.redisPID)
	}
	return s
}

// procCPU is the user and system time of process pid, from /proc.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

func (s cpuSample) sub(o cpuSample) cpuSample {
	return cpuSample{self: s.self - o.self, redis: s.redis - o.redis}
}
