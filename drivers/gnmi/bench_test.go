package gnmi_test

import (
	"context"
	"testing"
	"time"

	"github.com/openconfig/gnmic/pkg/api"

	"github.com/orbd/orbd/drivers/gnmi/gnmitest"
)

// BenchmarkGet1000Interfaces discovers an EOS-like target with 1,000
// interfaces (one IPv4 address each). Figures: interfaces/s and entities/s
// (device + interfaces + addresses), and the share of the run spent in the
// bare gNMI Get of /interfaces/interface (no decoding, no mapping),
// measured against the same target in the same run.
//
//	go test -run '^$' -bench Get1000Interfaces ./drivers/gnmi/
func BenchmarkGet1000Interfaces(b *testing.B) {
	s := start(b, gnmitest.Options{Flavour: gnmitest.Synthetic(1000)})
	d := newDriver(b, time.Minute, entry(s, nil))
	ts, err := d.Targets(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ref := bareGet(b, s, 5)

	var devices, ifs, addrs int
	for b.Loop() {
		inv, err := d.Discover(context.Background(), ts[0])
		if err != nil {
			b.Fatal(err)
		}
		devices, ifs, addrs = inv.Counts()
	}
	if ifs != 1000 || addrs != 1000 {
		b.Fatalf("%d interfaces, %d addresses; want 1000 each", ifs, addrs)
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(ifs)/per, "interfaces/s")
	b.ReportMetric(float64(devices+ifs+addrs)/per, "entities/s")
	b.ReportMetric(ref.Seconds()/per, "bare_get_share")
}

// bareGet times the raw Get of the interface subtree, averaged over n.
func bareGet(b *testing.B, s *gnmitest.Server, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	tg, err := api.NewTarget(api.Address(s.Addr), api.Insecure(true))
	if err != nil {
		b.Fatal(err)
	}
	if err := tg.CreateGNMIClient(ctx); err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	req, err := api.NewGetRequest(api.Path("/interfaces/interface"), api.Encoding("json_ietf"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tg.Get(ctx, req); err != nil { // warm the connection
		b.Fatal(err)
	}
	start := time.Now()
	for range n {
		if _, err := tg.Get(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}
