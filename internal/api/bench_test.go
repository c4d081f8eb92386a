package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/internal/api"
)

// benchClients is how many clients post at once.
const benchClients = 50

// BenchmarkStartThroughAPI: 50 clients post 100-ID starts (each with an
// Idempotency-Key) to the API over HTTP; the same number of 100-ID starts
// through enqueue.Client.Start directly, 50 at once, on the same Redis, in
// the same run. One op is one 100-ID start through the API. It reports
// the phones enqueued a second both ways, their ratio, and the POSTs' p99
// latency. Set REDIS_URL to measure on a real Redis; -benchtime 400x
// gives both sides 40,000 phones.
func BenchmarkStartThroughAPI(b *testing.B) {
	h := newHarness(b, api.Config{})
	ctx := context.Background()
	next := atomic.Int64{}
	batch := func() []string { return phones(int(next.Add(1))*100, 100) }
	fan := func(n int, f func(i int)) time.Duration {
		var wg sync.WaitGroup
		jobs := make(chan int)
		began := time.Now()
		for range benchClients {
			wg.Go(func() {
				for i := range jobs {
					f(i)
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		return time.Since(began)
	}

	b.StopTimer()
	direct := fan(b.N, func(int) {
		if _, err := h.enq.Start(ctx, enqueue.Request{IDs: batch()}); err != nil {
			b.Error(err)
		}
	})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	token := "Bearer " + h.tokens["starter"]
	lat := make([]time.Duration, b.N)
	b.StartTimer()
	viaAPI := fan(b.N, func(i int) {
		body, _ := json.Marshal(map[string]any{"ids": batch()})
		r, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/v1/starts", bytes.NewReader(body))
		r.Header.Set("Authorization", token)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
		began := time.Now()
		resp, err := client.Do(r)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(began)
		if resp.StatusCode != http.StatusAccepted {
			b.Errorf("POST /v1/starts: %d", resp.StatusCode)
		}
	})
	b.StopTimer()
	ids := float64(b.N * 100)
	apiRate, directRate := ids/viaAPI.Seconds(), ids/direct.Seconds()
	slices.Sort(lat)
	b.ReportMetric(apiRate, "api_ids/s")
	b.ReportMetric(directRate, "direct_ids/s")
	b.ReportMetric(apiRate/directRate, "api/direct")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
}
