package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// vlanView summarises what the mapping says about VLANs: the VLAN
// entities (vid → name) and each interface's untagged and tagged refs.
func vlanView(ents []*diodepb.Entity) (vlans map[int64]string, refs map[string][]string) {
	vlans, refs = map[int64]string{}, map[string][]string{}
	for _, e := range ents {
		if v := e.GetVlan(); v != nil {
			vlans[v.GetVid()] = v.GetName()
		}
		if i := e.GetInterface(); i != nil {
			var r []string
			if u := i.GetUntaggedVlan(); u != nil {
				r = append(r, "u:"+u.GetName())
			}
			for _, tv := range i.GetTaggedVlans() {
				r = append(r, "t:"+tv.GetName())
			}
			if r != nil {
				refs[i.GetName()] = r
			}
		}
	}
	return vlans, refs
}

// create_unknown_vlans decides whether VLAN ids the device did not name
// (VLAN 30: referenced only; VLAN 99: a row without a name) become
// VLAN<vid> objects or are left out, entity and reference alike.
func TestUnknownVLANs(t *testing.T) {
	for _, tc := range []struct {
		drop      bool
		wantVLANs map[int64]string
		wantRefs  map[string][]string
	}{
		{false,
			map[int64]string{1: "default", 10: "users", 20: "voice phones", 99: "VLAN99", 30: "VLAN30"},
			map[string][]string{
				"GigabitEthernet1/0/1": {"u:users"},
				"GigabitEthernet1/0/2": {"u:default", "t:users", "t:voice phones", "t:VLAN30"},
			}},
		{true,
			map[int64]string{1: "default", 10: "users", 20: "voice phones"},
			map[string][]string{
				"GigabitEthernet1/0/1": {"u:users"},
				"GigabitEthernet1/0/2": {"u:default", "t:users", "t:voice phones"},
			}},
	} {
		m := newMapper(policies.Defaults{}, MapOptions{Now: testNow, DropUnknownVLANs: tc.drop}, nil)
		ents := m.run(ciscoSwitch())
		validateAll(t, ents)
		vlans, refs := vlanView(ents)
		if !reflect.DeepEqual(vlans, tc.wantVLANs) {
			t.Errorf("drop=%v: VLAN entities %v, want %v", tc.drop, vlans, tc.wantVLANs)
		}
		if !reflect.DeepEqual(refs, tc.wantRefs) {
			t.Errorf("drop=%v: interface VLAN refs %v, want %v", tc.drop, refs, tc.wantRefs)
		}
		if want := map[bool]int{false: 0, true: 2}[tc.drop]; m.droppedVLANs != want {
			t.Errorf("drop=%v: counted %d dropped VLANs, want %d", tc.drop, m.droppedVLANs, want)
		}
	}
}

// Run.Add takes the switch from the snmp_discovery policy (default false)
// and says at debug level how many VLANs it left out; other backends keep
// creating them.
func TestRunHonoursCreateUnknownVLANs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pol    func() *policies.Policy
		want30 bool
	}{
		{"snmp default", func() *policies.Policy { return snmpPolicy(policies.Defaults{}) }, false},
		{"snmp create", func() *policies.Policy {
			p := snmpPolicy(policies.Defaults{})
			p.SNMP.Config.Options.CreateUnknownVLANs = true
			return p
		}, true},
		{"device_discovery", func() *policies.Policy {
			return &policies.Policy{Backend: policies.BackendDevice, Name: "ssh"}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newMemSink()
			var logs bytes.Buffer
			p := NewPipeline(sink, PipelineConfig{AgentName: "a", Version: "v1.0.0", Now: func() time.Time { return testNow },
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			ctx := context.Background()
			run, err := p.Begin(ctx, tc.pol(), "r1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run.Add(ctx, drivers.Target{Host: "192.0.2.1"}, ciscoSwitch()); err != nil {
				t.Fatal(err)
			}
			if err := run.Close(ctx); err != nil {
				t.Fatal(err)
			}
			var all []*diodepb.Entity
			for _, r := range sink.requests() {
				all = append(all, r.Entities...)
			}
			vlans, _ := vlanView(all)
			if _, got := vlans[30]; got != tc.want30 {
				t.Errorf("VLAN 30 emitted = %v, want %v (VLANs %v)", got, tc.want30, vlans)
			}
			logged := strings.Contains(logs.String(), "unnamed VLANs not created") && strings.Contains(logs.String(), "vlans=2")
			if logged == tc.want30 {
				t.Errorf("drop logged = %v, want %v:\n%s", logged, !tc.want30, logs.String())
			}
		})
	}
}

// Each VRF an interface names becomes one VRF entity, ahead of the
// addresses and prefixes scoped to it.
func TestVRFEntities(t *testing.T) {
	ents := Entities(ciscoSwitch(), policies.Defaults{}, MapOptions{Now: testNow, EmitPrefixes: true})
	validateAll(t, ents)
	var vrfs []string
	firstVRF, firstUse := -1, -1
	for i, e := range ents {
		if v := e.GetVrf(); v != nil {
			vrfs = append(vrfs, v.GetName())
			if firstVRF < 0 {
				firstVRF = i
			}
		}
		if a := e.GetIpAddress(); a != nil && a.GetVrf() != nil && firstUse < 0 {
			firstUse = i
		}
	}
	if want := []string{"CUST-A", "Mgmt-vrf"}; !slices.Equal(vrfs, want) {
		t.Errorf("VRF entities %v, want %v", vrfs, want)
	}
	if firstVRF < 0 || firstUse < 0 || firstVRF > firstUse {
		t.Errorf("VRF entity at %d, first address in a VRF at %d", firstVRF, firstUse)
	}
	pfx := index(ents, "prefix")
	if p := pfx["198.51.100.0/29"]; p == nil || p.GetPrefix().GetVrf().GetName() != "CUST-A" {
		t.Errorf("prefix 198.51.100.0/29 not scoped to CUST-A: %v", p)
	}
	ips := index(ents, "ip_address")
	if a := ips["10.10.0.2/24"]; a == nil || a.GetIpAddress().GetVrf().GetName() != "Mgmt-vrf" {
		t.Errorf("address 10.10.0.2/24 not scoped to Mgmt-vrf: %v", a)
	}
}
