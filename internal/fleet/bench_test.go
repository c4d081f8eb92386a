package fleet_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/phonestart/phonestart/internal/fleet"
)

// evalshaUsec returns the time Redis spent in EVALSHA so far (INFO
// commandstats), µs: what one script costs the server, whatever the client.
func evalshaUsec(b *testing.B, rdb *redis.Client) float64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_evalsha:"); ok {
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "usec="); ok {
					f, _ := strconv.ParseFloat(v, 64)
					return f
				}
			}
		}
	}
	return 0
}

// BenchmarkScripts measures the server's time per phone of the scripts a
// phone's start goes through, 200 phones a call as a worker sends them:
// place (a producer's chunk), claim and settle (a call's), with boot
// confirmation off. Run it against a real Redis (REDIS_URL): the embedded
// one reports no server time. It reports redis-µs/phone for each.
func BenchmarkScripts(b *testing.B) {
	ctx := context.Background()
	_, rdb := newRedis(b)
	if evalshaUsec(b, rdb) == 0 {
		rdb.Ping(ctx)
	}
	st, err := fleet.NewStore(rdb, fleet.StoreConfig{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 200
	var place, claim, settle float64
	for i := range b.N {
		ids := make([]string, n)
		for k := range ids {
			ids[k] = fmt.Sprintf("bench%04d%05d", i, k)
		}
		u0 := evalshaUsec(b, rdb)
		ps, err := st.Place(ctx, fleet.Intent{Action: fleet.ActionStart, Request: fleet.NewRequestID(st.Now())}, ids)
		if err != nil {
			b.Fatal(err)
		}
		u1 := evalshaUsec(b, rdb)
		cs := make([]fleet.Claim, n)
		for k, p := range ps {
			cs[k] = fleet.Claim{ID: p.ID, Gen: p.Gen, Task: p.Task}
		}
		token := fleet.NewToken(fleet.ActionStart)
		if _, err := st.ClaimCall(ctx, fleet.ActionStart, token, cs); err != nil {
			b.Fatal(err)
		}
		u2 := evalshaUsec(b, rdb)
		ss := make([]fleet.Settle, n)
		for k, p := range ps {
			ss[k] = fleet.Settle{ID: p.ID, Gen: p.Gen, To: fleet.ToReady, URL: "https://fake.geelark.test/phone/" + p.ID}
		}
		if _, err := st.SettleCall(ctx, fleet.ActionStart, token, 0, ss); err != nil {
			b.Fatal(err)
		}
		u3 := evalshaUsec(b, rdb)
		place += u1 - u0
		claim += u2 - u1
		settle += u3 - u2
	}
	per := float64(b.N * n)
	b.ReportMetric(place/per, "place-redis-µs/phone")
	b.ReportMetric(claim/per, "claim-redis-µs/phone")
	b.ReportMetric(settle/per, "settle-redis-µs/phone")
	b.ReportMetric((place+claim+settle)/per, "redis-µs/phone")
}
