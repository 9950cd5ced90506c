package vcenter_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/orbd/orbd/drivers/vcenter"
	"github.com/orbd/orbd/drivers/vcenter/vcentertest"
	"github.com/orbd/orbd/policies"
)

// vmPaths mirrors what the driver reads per VM, for the reference below.
var vmPaths = []string{
	"name", "parent", "config.template", "config.guestFullName", "config.uuid", "config.annotation",
	"config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device",
	"runtime.powerState", "runtime.host", "guest.net",
}

// BenchmarkInventory500VMs collects a 4-cluster, 16-host, 500-VM model.
// Figures: wall time per run, SOAP round trips, property-collector calls
// per object (the container view makes it ~0), and the speed-up over a
// per-object reference (one RetrieveOne per VM, VMs only) measured once
// against the same simulator in the same run.
//
//	go test -run '^$' -bench Inventory500VMs -benchtime 5x ./drivers/vcenter/
func BenchmarkInventory500VMs(b *testing.B) {
	m := simulator.VPX()
	m.Cluster, m.ClusterHost, m.Host, m.Machine = 4, 4, 0, 125
	s := start(b, m)
	cfg := vcenter.Config{URL: s.URL, Username: s.Username, Password: policies.Secret(s.Password), Insecure: true}
	ctx := context.Background()

	refTime := perObjectReference(b, s)

	b.ResetTimer()
	var st vcenter.Stats
	var vms int
	for b.Loop() {
		inv, stats, err := vcenter.Collect(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		st, vms = stats, len(inv.VirtualMachines)
	}
	b.StopTimer()
	if vms < 500 {
		b.Fatalf("model has %d VMs; want >= 500", vms)
	}
	perRun := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(st.RoundTrips+1), "roundtrips/op") // +1: Logout, sent after the stats
	b.ReportMetric(float64(st.PropertyCollectorCalls), "pc_calls/op")
	b.ReportMetric(float64(st.Objects), "objects/op")
	b.ReportMetric(float64(st.PropertyCollectorCalls)/float64(st.Objects), "roundtrips_per_object")
	b.ReportMetric(float64(vms)/perRun.Seconds(), "vms/s")
	b.ReportMetric(refTime.Seconds()/perRun.Seconds(), "x_faster_than_per_object")
}

// perObjectReference times the naive way: list VMs, then one property
// collector call per VM.
func perObjectReference(b *testing.B, s *vcentertest.Server) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	u := *s.URL
	u.User = url.UserPassword(s.Username, s.Password)
	c, err := govmomi.NewClient(ctx, &u, true)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.Client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		b.Fatal(err)
	}
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	pc := property.DefaultCollector(c.Client)
	for _, ref := range refs {
		var vm mo.VirtualMachine
		if err := pc.RetrieveOne(ctx, ref, vmPaths, &vm); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
