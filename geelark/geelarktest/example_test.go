package geelarktest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

// A fake GeeLark on which phones take 30 seconds to boot, one never
// finishes, and one does not exist. The fake's clock is set by the test, so
// the boot passes without waiting for it.
func Example() {
	now := time.Date(2024, 5, 29, 8, 0, 0, 0, time.UTC)
	srv := geelarktest.NewServer(geelarktest.Config{
		Token: "example-token",
		Now:   func() time.Time { return now },
		Boot:  func(string) geelarktest.Boot { return geelarktest.Boot{Time: 30 * time.Second} },
	})
	defer srv.Close()
	srv.ScriptBoot("phone-stuck", geelarktest.Boot{Never: true})
	srv.Script("phone-gone", geelarktest.Script{Code: 42001})

	c, err := geelark.NewClient(geelark.Config{BaseURL: srv.URL, Token: "example-token"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	ids := []string{"phone-ok", "phone-stuck", "phone-gone"}
	if _, err := c.StartPhones(ctx, ids, geelark.StartOptions{}); err != nil {
		log.Fatal(err)
	}
	report := func() {
		res, err := c.StatusPhones(ctx, ids)
		if err != nil {
			log.Fatal(err)
		}
		for _, o := range res.Outcomes {
			if o.Code != 0 {
				fmt.Printf("  %s: %d %s\n", o.ID, o.Code, o.Msg)
				continue
			}
			fmt.Printf("  %s: %s\n", o.ID, o.State)
		}
	}
	fmt.Println("right after the start:")
	report()
	now = now.Add(30 * time.Second)
	fmt.Println("30s later:")
	report()

	if _, err := c.StopPhones(ctx, []string{"phone-ok", "phone-stuck"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stops:", srv.Stops("phone-ok"), srv.Stops("phone-stuck"), "running:", srv.Running("phone-ok"))
	// Output:
	// right after the start:
	//   phone-ok: starting
	//   phone-stuck: starting
	//   phone-gone: 42001 cloud phone does not exist
	// 30s later:
	//   phone-ok: started
	//   phone-stuck: starting
	//   phone-gone: 42001 cloud phone does not exist
	// stops: 1 1 running: false
}
