package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// memSink records requests; a unit-test fake of our own Sink interface.
type memSink struct {
	mu   sync.Mutex
	reqs []*diodepb.IngestRequest
	got  chan struct{}
	fail error
}

func newMemSink() *memSink { return &memSink{got: make(chan struct{}, 1000)} }

func (s *memSink) Send(_ context.Context, req *diodepb.IngestRequest) error {
	if err := req.Validate(); err != nil {
		return fmt.Errorf("memSink: got an invalid request: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.reqs = append(s.reqs, req)
	s.got <- struct{}{}
	return nil
}

func (s *memSink) Close(context.Context) error { return nil }

func (s *memSink) requests() []*diodepb.IngestRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*diodepb.IngestRequest(nil), s.reqs...)
}

func snmpPolicy(d policies.Defaults) *policies.Policy {
	return &policies.Policy{
		Backend: policies.BackendSNMP, Name: "core", Defaults: d,
		SNMP: &policies.SNMPPolicy{Scope: policies.SNMPScope{Authentication: &policies.SNMPAuth{
			ProtocolVersion: "SNMPv2c", Community: policies.Secret("s3cr3t-c0mmunity")}}},
	}
}

func newTestPipeline(sink Sink, reg prometheus.Registerer, flush time.Duration) *Pipeline {
	return NewPipeline(sink, PipelineConfig{
		AgentName: "ams1-agent", Version: "v1.4.2", Labels: map[string]string{"region": "eu"},
		Now: func() time.Time { return testNow }, Metrics: reg, FlushInterval: flush,
	})
}

// switchN is a 48-port switch with two addresses per port, named by i.
func switchN(i int) *drivers.Inventory {
	dev := drivers.Device{Name: fmt.Sprintf("sw-%05d", i), Manufacturer: "Arista", Model: "DCS-7050SX3-48YC8",
		Platform: "EOS", OSVersion: "4.30.1F", Serial: fmt.Sprintf("SN%08d", i),
		MgmtAddress: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})}
	for p := 0; p < 48; p++ {
		ifc := drivers.Interface{Name: fmt.Sprintf("Ethernet%d", p+1), Type: "25gbase-x-sfp28", Enabled: bp(true),
			MTU: 9214, SpeedKbps: 25_000_000, MAC: fmt.Sprintf("00:1c:73:%02x:%02x:%02x", byte(i>>8), byte(i), p),
			Description: fmt.Sprintf("uplink to rack %d port %d", i, p)}
		ifc.Addresses = []drivers.Address{
			{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(p*4 + 1)}), 30)},
			{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 0, byte(p), 15: 1}), 64)},
		}
		if p == 0 {
			ifc.Addresses[0].Prefix = netip.PrefixFrom(dev.MgmtAddress, 24)
		}
		dev.Interfaces = append(dev.Interfaces, ifc)
	}
	return &drivers.Inventory{Devices: []drivers.Device{dev}}
}

func TestRunBatchesAcrossTargetsConcurrently(t *testing.T) {
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	p := newTestPipeline(sink, reg, 0)
	ctx := context.Background()
	run, err := p.Begin(ctx, snmpPolicy(policies.Defaults{Site: "ams1"}), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 6
	want := map[string]int{} // device name → entities
	var wmu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perWorker; k++ {
				i := w*perWorker + k
				inv := switchN(i)
				n, err := run.Add(ctx, drivers.Target{Host: inv.Devices[0].MgmtAddress.String()}, inv)
				if err != nil {
					t.Errorf("Add %d: %v", i, err)
				}
				wmu.Lock()
				want[inv.Devices[0].Name] = n
				wmu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}

	total := 0
	for _, n := range want {
		total += n
	}
	perDevice := len(Entities(switchN(0), policies.Defaults{Site: "ams1"}, MapOptions{Now: testNow, EmitPrefixes: true}))
	if total != workers*perWorker*perDevice {
		t.Fatalf("Add reported %d entities, want %d", total, workers*perWorker*perDevice)
	}
	reqs := sink.requests()
	if wantReqs := (total + MaxEntitiesPerRequest - 1) / MaxEntitiesPerRequest; len(reqs) != wantReqs {
		t.Errorf("%d requests, want %d (batches filled across targets)", len(reqs), wantReqs)
	}
	got := 0
	devices := map[string]bool{}
	for _, r := range reqs {
		if len(r.Entities) > MaxEntitiesPerRequest {
			t.Errorf("request with %d entities", len(r.Entities))
		}
		if md := r.Metadata.AsMap(); md["run_id"] != "run-1" || md["policy"] != "core" {
			t.Errorf("metadata %v", md)
		}
		for _, e := range r.Entities {
			if d := e.GetDevice(); d != nil {
				devices[d.GetName()] = true
			}
		}
		got += len(r.Entities)
	}
	if got != total || len(devices) != workers*perWorker {
		t.Errorf("delivered %d entities of %d devices, want %d of %d", got, len(devices), total, workers*perWorker)
	}
	if v := testutil.ToFloat64(p.entities.WithLabelValues(policies.BackendSNMP)); int(v) != total {
		t.Errorf("orbd_ingest_entities_total = %v, want %d", v, total)
	}
	if v := testutil.ToFloat64(p.requests.WithLabelValues("ok")); int(v) != len(reqs) {
		t.Errorf("orbd_ingest_requests_total{ok} = %v, want %d", v, len(reqs))
	}
	if _, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"}, switchN(1)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Add after Close: %v", err)
	}
	if err := run.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRunFlushInterval(t *testing.T) {
	sink := newMemSink()
	p := newTestPipeline(sink, nil, 20*time.Millisecond)
	ctx := context.Background()
	run, err := p.Begin(ctx, snmpPolicy(policies.Defaults{}), "run-2")
	if err != nil {
		t.Fatal(err)
	}
	n, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"}, ciscoSwitch())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-sink.got:
	case <-time.After(10 * time.Second):
		t.Fatal("partial batch not flushed before Close")
	}
	if reqs := sink.requests(); len(reqs) != 1 || len(reqs[0].Entities) != n {
		t.Fatalf("flushed %d requests, want 1 with %d entities", len(reqs), n)
	}
	// A second partial batch is flushed too: the timer re-arms.
	if _, err := run.Add(ctx, drivers.Target{Host: "198.51.100.2"}, vcenter()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sink.got:
	case <-time.After(10 * time.Second):
		t.Fatal("second partial batch not flushed")
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if reqs := sink.requests(); len(reqs) != 2 {
		t.Errorf("%d requests after Close, want 2 (nothing left to flush)", len(reqs))
	}
}

func TestRunRejectsInvalidEntitiesOnly(t *testing.T) {
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	p := newTestPipeline(sink, reg, 0)
	ctx := context.Background()
	run, err := p.Begin(ctx, snmpPolicy(policies.Defaults{}), "run-3")
	if err != nil {
		t.Fatal(err)
	}
	inv := &drivers.Inventory{Devices: []drivers.Device{{Name: "d1", Interfaces: []drivers.Interface{
		{Name: "good0"}, {Name: "weird0", Type: "not-a-netbox-type"},
	}}}}
	n, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"}, inv)
	if err == nil {
		t.Fatal("no error for an invalid interface type")
	}
	// the agent prefixes policy and target; ingest names what was dropped
	for _, want := range []string{`interface "d1 weird0" dropped`, "Type: value must be in list"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	all := len(Entities(inv, policies.Defaults{}, MapOptions{Now: testNow}))
	if n != all-1 {
		t.Errorf("queued %d, want %d", n, all-1)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if reqs := sink.requests(); len(reqs) != 1 || len(reqs[0].Entities) != all-1 {
		t.Errorf("sent %d requests, want 1 with %d entities", len(reqs), all-1)
	}
	if v := testutil.ToFloat64(p.rejected.WithLabelValues(policies.BackendSNMP)); v != 1 {
		t.Errorf("rejected = %v, want 1", v)
	}
}

func TestRunSinkFailure(t *testing.T) {
	sink := newMemSink()
	sink.fail = errors.New("disk full")
	reg := prometheus.NewRegistry()
	p := newTestPipeline(sink, reg, 0)
	ctx := context.Background()
	run, err := p.Begin(ctx, snmpPolicy(policies.Defaults{}), "run-4")
	if err != nil {
		t.Fatal(err)
	}
	// 48-port switches: the fourth Add fills the first request.
	var addErr error
	for i := 0; i < 5 && addErr == nil; i++ {
		_, addErr = run.Add(ctx, drivers.Target{Host: fmt.Sprintf("198.51.100.%d", i)}, switchN(i))
	}
	if addErr == nil || !strings.Contains(addErr.Error(), "disk full") || !strings.HasPrefix(addErr.Error(), "send request ") {
		t.Errorf("Add error = %v, want the sink failure naming the request", addErr)
	}
	if err := run.Close(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close error = %v", err)
	}
	if v := testutil.ToFloat64(p.requests.WithLabelValues("error")); v != 2 {
		t.Errorf("requests{error} = %v, want 2", v)
	}
	// A second pipeline on the same registry shares the series.
	p2 := newTestPipeline(newMemSink(), reg, 0)
	if p2.requests != p.requests {
		t.Error("second pipeline did not reuse the registered collector")
	}
}

func TestRunOptionsAndOverrides(t *testing.T) {
	ctx := context.Background()
	no := false
	pol := snmpPolicy(policies.Defaults{Site: "base"})
	pol.SNMP.Config.Options.EmitPrefixes = &no
	sink := newMemSink()
	run, err := newTestPipeline(sink, nil, 0).Begin(ctx, pol, "run-5")
	if err != nil {
		t.Fatal(err)
	}
	over := &policies.Defaults{Site: "override-site", InterfacePatterns: []policies.InterfacePattern{{Match: "^Vlan", Type: "bridge"}}}
	if _, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1", Overrides: over, NetboxID: 77}, ciscoSwitch()); err != nil {
		t.Fatal(err)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ents := sink.requests()[0].Entities
	if n := len(index(ents, "prefix")); n != 0 {
		t.Errorf("%d prefixes with emit_prefixes false", n)
	}
	dev := index(ents, "device")["sw-ams1-01"].GetDevice()
	if dev.GetSite().GetName() != "override-site" {
		t.Errorf("site = %q", dev.GetSite().GetName())
	}
	if id := dev.GetMetadata().AsMap()["source_match"]; fmt.Sprint(id) != "map[netbox_id:77]" {
		t.Errorf("source_match = %v", id)
	}
	if typ := index(ents, "interface")["sw-ams1-01 Vlan10"].GetInterface().GetType(); typ != "bridge" {
		t.Errorf("Vlan10 type = %q, want the override pattern's", typ)
	}

	bad := []policies.InterfacePattern{{Match: "(", Type: "virtual"}}
	if _, err := newTestPipeline(sink, nil, 0).Begin(ctx, snmpPolicy(policies.Defaults{InterfacePatterns: bad}), "r"); err == nil ||
		!strings.HasPrefix(err.Error(), "defaults.interface_patterns[0]") {
		t.Errorf("Begin with a bad pattern: %v", err)
	}
	run2, _ := newTestPipeline(sink, nil, 0).Begin(ctx, snmpPolicy(policies.Defaults{}), "r")
	if _, err := run2.Add(ctx, drivers.Target{Host: "h1", Overrides: &policies.Defaults{InterfacePatterns: bad}}, ciscoSwitch()); err == nil ||
		!strings.HasPrefix(err.Error(), "override_defaults: defaults.interface_patterns[0]") {
		t.Errorf("Add with a bad override pattern: %v", err)
	}
	if _, err := newTestPipeline(sink, nil, 0).Begin(ctx, nil, "r"); err == nil {
		t.Error("Begin(nil) accepted")
	}
}

func TestRunTimestampsStayInThePast(t *testing.T) {
	sink := newMemSink()
	p := NewPipeline(sink, PipelineConfig{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	ctx := context.Background()
	run, err := p.Begin(ctx, snmpPolicy(policies.Defaults{}), "run-clock")
	if err != nil {
		t.Fatal(err)
	}
	n, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"}, ciscoSwitch())
	if err != nil || n == 0 {
		t.Fatalf("Add with a clock ahead: %d, %v", n, err)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range sink.requests()[0].Entities {
		if !e.Timestamp.AsTime().Before(time.Now()) {
			t.Fatalf("%s stamped %v, not in the past", kindName(e), e.Timestamp.AsTime())
		}
	}
}
