package geelark_test

import (
	"context"
	"fmt"
	"log"

	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/geelark/geelarktest"
)

func ExampleClient_StartPhones() {
	// A fake GeeLark where one of the phones does not exist.
	srv := geelarktest.NewServer(geelarktest.Config{Token: "example-token"})
	defer srv.Close()
	srv.Script("522340000000000002", geelarktest.Script{Code: 42001})

	c, err := geelark.NewClient(geelark.Config{BaseURL: srv.URL, Token: "example-token"})
	if err != nil {
		log.Fatal(err)
	}
	ids := []string{"522340000000000001", "522340000000000002", "522340000000000003"}
	res, err := c.StartPhones(context.Background(), ids, geelark.StartOptions{Width: 400})
	if err != nil {
		// An *APIError (nothing started) or a *TransportError (outcome
		// unknown: some phones may have started).
		log.Fatal(err)
	}
	for _, o := range res.Outcomes {
		switch o.Status {
		case geelark.StatusStarted:
			fmt.Printf("%s started, billed %s\n", o.ID, o.ChargingMethod)
		case geelark.StatusFailed:
			fmt.Printf("%s failed: %d %s (%s)\n", o.ID, o.Code, o.Msg, geelark.Lookup(o.Code).Class)
		default:
			fmt.Printf("%s unknown: check its status before starting it again\n", o.ID)
		}
	}
	// Output:
	// 522340000000000001 started, billed Per-minute usage
	// 522340000000000002 failed: 42001 cloud phone does not exist (permanent)
	// 522340000000000003 started, billed Per-minute usage
}

func ExampleClient_ListAll() {
	// A fake GeeLark with three phones, two of them in the group "Shop-EU".
	srv := geelarktest.NewServer(geelarktest.Config{Token: "example-token"})
	defer srv.Close()
	srv.AddPhones(
		geelarktest.Phone{ID: "522340000000000001", SerialName: "eu-1", GroupName: "Shop-EU", Tags: []string{"tiktok"}},
		geelarktest.Phone{ID: "522340000000000002", SerialName: "us-1", GroupName: "Shop-US", Tags: []string{"tiktok"}},
		geelarktest.Phone{ID: "522340000000000003", SerialName: "eu-2", GroupName: "Shop-EU"},
	)

	c, err := geelark.NewClient(geelark.Config{BaseURL: srv.URL, Token: "example-token"})
	if err != nil {
		log.Fatal(err)
	}
	// wait, when not nil, is called before each page: pass the list
	// endpoint's rate limiter here.
	phones, err := c.ListAll(context.Background(), geelark.ListFilter{GroupName: "Shop-EU"}, nil)
	if err != nil {
		// Nothing is returned unless every page was read.
		log.Fatal(err)
	}
	for _, p := range phones {
		fmt.Println(p.ID, p.SerialName, p.Tags)
	}
	// Output:
	// 522340000000000001 eu-1 [tiktok]
	// 522340000000000003 eu-2 []
}
