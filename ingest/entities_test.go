package ingest

import (
	"time"

	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/proto"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

func validateAll(t *testing.T, ents []*diodepb.Entity) {
	t.Helper()
	for _, e := range ents {
		if err := e.Validate(); err != nil {
			t.Errorf("%s does not validate: %v", kindName(e), err)
		}
	}
}

func TestEntitiesGolden(t *testing.T) {
	tests := []struct {
		name string
		inv  *drivers.Inventory
		d    policies.Defaults
		o    MapOptions
	}{
		{"cisco-switch", ciscoSwitch(), richDefaults(), MapOptions{Now: testNow, EmitPrefixes: true, NetboxID: 4242}},
		{"cisco-switch-bare", ciscoSwitch(), policies.Defaults{}, MapOptions{Now: testNow}},
		{"vcenter", vcenter(), policies.Defaults{Tenant: "Platform", Tags: []string{"vcenter"}}, MapOptions{Now: testNow, EmitPrefixes: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ents := Entities(tc.inv, tc.d, tc.o)
			validateAll(t, ents)
			testutil.Golden(t, filepath.Join("testdata", tc.name+".golden.json"), testutil.EntitiesJSON(t, ents))
			// Mapping is deterministic: a second run is identical.
			again := Entities(tc.inv, tc.d, tc.o)
			if len(again) != len(ents) {
				t.Fatalf("second run: %d entities, first %d", len(again), len(ents))
			}
			for i := range ents {
				if !proto.Equal(ents[i], again[i]) {
					t.Fatalf("entity %d differs between runs: %s vs %s", i, kindName(ents[i]), kindName(again[i]))
				}
			}
		})
	}
}

// index returns the entities of one kind keyed by describe's name.
func index(ents []*diodepb.Entity, kind string) map[string]*diodepb.Entity {
	out := map[string]*diodepb.Entity{}
	for _, e := range ents {
		if k, n := describe(e); k == kind {
			out[n] = e
		}
	}
	return out
}

func TestEntitiesDefaultsAndOverrides(t *testing.T) {
	inv := func() *drivers.Inventory {
		return &drivers.Inventory{Devices: []drivers.Device{{
			Name: "r1", Manufacturer: "Juniper", Platform: "Junos", OSVersion: "23.4R1",
			Interfaces: []drivers.Interface{{Name: "ge-0/0/0", Addresses: []drivers.Address{{Prefix: pfx("10.0.0.1/24")}}}},
		}}}
	}
	base := policies.Defaults{
		Site: "base-site", Role: "edge", Tenant: "t-base", Tags: []string{"base"},
		Device:    policies.DeviceDefaults{Model: "MX204"},
		IPAddress: policies.IPDefaults{VRF: "ip-vrf", Role: "anycast", Tenant: "ip-tenant"},
		Prefix:    policies.IPDefaults{VRF: "pfx-vrf", Role: "transit", Tenant: "pfx-tenant"},
	}
	tests := []struct {
		name      string
		over      *policies.Defaults
		inv       *drivers.Inventory
		site      string
		role      string
		model     string
		platform  string
		tags      []string
		ipVRF     string
		ipRole    string
		pfxVRF    string
		pfxTenant string
	}{
		{name: "policy defaults", inv: inv(), site: "base-site", role: "edge", model: "MX204", platform: "Junos 23.4R1",
			tags: []string{"base"}, ipVRF: "ip-vrf", ipRole: "anycast", pfxVRF: "pfx-vrf", pfxTenant: "pfx-tenant"},
		{name: "override replaces per field", inv: inv(),
			over: &policies.Defaults{Site: "ovr-site", Tags: []string{"o1", "o2"}, Prefix: policies.IPDefaults{Tenant: "pfx-ovr"}},
			site: "ovr-site", role: "edge", model: "MX204", platform: "Junos 23.4R1",
			tags: []string{"o1", "o2"}, ipVRF: "ip-vrf", ipRole: "anycast", pfxVRF: "pfx-vrf", pfxTenant: "pfx-ovr"},
		{name: "override platform verbatim", inv: inv(),
			over: &policies.Defaults{Role: "core", Device: policies.DeviceDefaults{Platform: "junos"}},
			site: "base-site", role: "core", model: "MX204", platform: "junos",
			tags: []string{"base"}, ipVRF: "ip-vrf", ipRole: "anycast", pfxVRF: "pfx-vrf", pfxTenant: "pfx-tenant"},
		{name: "driver facts win over defaults", inv: func() *drivers.Inventory {
			i := inv()
			i.Devices[0].Site, i.Devices[0].Model = "ctrl-site", "MX480"
			i.Devices[0].Interfaces[0].VRF = "if-vrf"
			i.Devices[0].Interfaces[0].Addresses[0].Role = "secondary"
			return i
		}(),
			site: "ctrl-site", role: "edge", model: "MX480", platform: "Junos 23.4R1",
			tags: []string{"base"}, ipVRF: "if-vrf", ipRole: "secondary", pfxVRF: "if-vrf", pfxTenant: "pfx-tenant"},
		{name: "nothing known: undefined", inv: &drivers.Inventory{Devices: []drivers.Device{{Name: "x"}}},
			over: &policies.Defaults{}, site: Undefined, role: Undefined, model: Undefined},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := base.Merge(tc.over)
			if tc.name == "nothing known: undefined" {
				d = policies.Defaults{}
			}
			ents := Entities(tc.inv, d, MapOptions{Now: testNow, EmitPrefixes: true})
			validateAll(t, ents)
			devs := index(ents, "device")
			if len(devs) != 1 {
				t.Fatalf("want 1 device, got %d", len(devs))
			}
			var dev *diodepb.Device
			for _, e := range devs {
				dev = e.GetDevice()
			}
			if got := dev.GetSite().GetName(); got != tc.site {
				t.Errorf("site = %q, want %q", got, tc.site)
			}
			if got := dev.GetRole().GetName(); got != tc.role {
				t.Errorf("role = %q, want %q", got, tc.role)
			}
			if got := dev.GetDeviceType().GetModel(); got != tc.model {
				t.Errorf("model = %q, want %q", got, tc.model)
			}
			if got := dev.GetPlatform().GetName(); got != tc.platform {
				t.Errorf("platform = %q, want %q", got, tc.platform)
			}
			var tags []string
			for _, tg := range dev.GetTags() {
				tags = append(tags, tg.GetName())
			}
			if !slices.Equal(tags, tc.tags) {
				t.Errorf("tags = %v, want %v", tags, tc.tags)
			}
			// Every top-level object carries the tags.
			for _, e := range ents {
				if n := tagCount(e); n != len(tc.tags) {
					t.Errorf("%s has %d tags, want %d", kindName(e), n, len(tc.tags))
				}
			}
			if tc.ipVRF == "" {
				return
			}
			ip := index(ents, "ip_address")["10.0.0.1/24"].GetIpAddress()
			if ip.GetVrf().GetName() != tc.ipVRF || ip.GetRole() != tc.ipRole || ip.GetTenant().GetName() != "ip-tenant" {
				t.Errorf("ip vrf/role/tenant = %q/%q/%q, want %q/%q/ip-tenant", ip.GetVrf().GetName(), ip.GetRole(), ip.GetTenant().GetName(), tc.ipVRF, tc.ipRole)
			}
			p := index(ents, "prefix")["10.0.0.0/24"].GetPrefix()
			if p.GetVrf().GetName() != tc.pfxVRF || p.GetTenant().GetName() != tc.pfxTenant || p.GetRole().GetName() != "transit" {
				t.Errorf("prefix vrf/tenant/role = %q/%q/%q, want %q/%q/transit", p.GetVrf().GetName(), p.GetTenant().GetName(), p.GetRole().GetName(), tc.pfxVRF, tc.pfxTenant)
			}
		})
	}
}

func TestInterfaceTypePrecedence(t *testing.T) {
	pats := []policies.InterfacePattern{
		{Match: `^Gi`, Type: "1000base-x-sfp"},
		{Match: `^GigabitEthernet1/0/1$`, Type: "10gbase-t"}, // later: loses to the first match
		{Match: `^Tunnel`, Type: "virtual"},
	}
	tests := []struct {
		name, ifName, driverType, ifDefault string
		patterns                            []policies.InterfacePattern
		want                                string
	}{
		{"pattern beats driver", "GigabitEthernet1/0/1", "1000base-t", "", pats, "1000base-x-sfp"},
		{"driver when no pattern matches", "Ethernet1", "25gbase-x-sfp28", "virtual", pats, "25gbase-x-sfp28"},
		{"pattern fills unknown driver type", "Tunnel7", "", "1000base-t", pats, "virtual"},
		{"default if_type", "Ethernet2", "", "1000base-t", pats, "1000base-t"},
		{"other as last resort", "Ethernet3", "", "", nil, "other"},
		{"invalid pattern ignored", "Ethernet4", "", "", []policies.InterfacePattern{{Match: `([`, Type: "virtual"}}, "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &drivers.Inventory{Devices: []drivers.Device{{Name: "d", Interfaces: []drivers.Interface{{Name: tc.ifName, Type: tc.driverType}}}}}
			d := policies.Defaults{InterfacePatterns: tc.patterns, Interface: policies.InterfaceDefaults{IfType: tc.ifDefault}}
			ents := Entities(inv, d, MapOptions{Now: testNow})
			ifc := index(ents, "interface")["d "+tc.ifName].GetInterface()
			if ifc == nil {
				t.Fatalf("interface %s not emitted", tc.ifName)
			}
			if ifc.GetType() != tc.want {
				t.Errorf("type = %q, want %q", ifc.GetType(), tc.want)
			}
		})
	}
}

func TestCheckPatterns(t *testing.T) {
	err := checkPatterns([]policies.InterfacePattern{{Match: "^ok", Type: "virtual"}, {Match: "([", Type: "lag"}}, &patternCache{})
	if err == nil || err.Error() != "defaults.interface_patterns[1] match \"([\": error parsing regexp: missing closing ]: `[`" {
		t.Fatalf("err = %v", err)
	}
	if err := checkPatterns([]policies.InterfacePattern{{Match: "^x"}}, nil); err == nil {
		t.Fatal("empty type accepted")
	}
}

func TestPrefixDerivation(t *testing.T) {
	addrs := func(ss ...string) []drivers.Address {
		var out []drivers.Address
		for _, s := range ss {
			out = append(out, drivers.Address{Prefix: pfx(s)})
		}
		return out
	}
	inv := &drivers.Inventory{Devices: []drivers.Device{{
		Name: "r1",
		Interfaces: []drivers.Interface{
			{Name: "a", Addresses: addrs("10.1.0.1/24", "10.1.0.2/24", "10.2.0.9/16", "2001:db8:1::1/64")},
			{Name: "b", Addresses: addrs("10.1.0.3/24", "10.9.9.9/32", "2001:db8::9/128", "fe80::1/64", "169.254.1.1/16", "0.0.0.0/0")},
			{Name: "c", VRF: "blue", Addresses: addrs("10.1.0.1/24")}, // same network, other VRF: its own prefix
			{Name: "d", Addresses: addrs("::ffff:10.3.0.1/120")},
		},
	}}}
	ents := Entities(inv, policies.Defaults{}, MapOptions{Now: testNow, EmitPrefixes: true})
	validateAll(t, ents)
	var got []string
	for _, e := range ents {
		if p := e.GetPrefix(); p != nil {
			got = append(got, p.GetPrefix()+"@"+p.GetVrf().GetName())
		}
	}
	want := []string{"10.1.0.0/24@", "10.1.0.0/24@blue", "10.2.0.0/16@", "2001:db8:1::/64@"}
	if !slices.Equal(got, want) {
		t.Errorf("prefixes = %v, want %v", got, want)
	}
	// Every address is still emitted, host routes and link-local included.
	n := 0
	for _, e := range ents {
		if e.GetIpAddress() != nil {
			n++
		}
	}
	if n != 12 {
		t.Errorf("ip addresses = %d, want 12", n)
	}
	// Two VMs on one network: one prefix.
	count := 0
	for _, e := range Entities(vcenter(), policies.Defaults{}, MapOptions{Now: testNow, EmitPrefixes: true}) {
		if e.GetPrefix().GetPrefix() == "10.30.0.0/24" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("10.30.0.0/24 emitted %d times, want once", count)
	}
	if ents := Entities(inv, policies.Defaults{}, MapOptions{Now: testNow}); len(index(ents, "prefix")) != 0 {
		t.Error("prefixes emitted with EmitPrefixes=false")
	}
}

func TestStubsStaySmall(t *testing.T) {
	ents := Entities(ciscoSwitch(), richDefaults(), MapOptions{Now: testNow, EmitPrefixes: true, NetboxID: 4242})
	ip := index(ents, "ip_address")["10.10.10.1/24"].GetIpAddress()
	ifc := ip.GetAssignedObjectInterface()
	want := &diodepb.Interface{
		Name: "Vlan10", Type: "virtual",
		Device: &diodepb.Device{
			Name:       proto.String("sw-ams1-01"),
			Site:       &diodepb.Site{Name: "AMS1"},
			DeviceType: &diodepb.DeviceType{Model: "C9300-48P", Manufacturer: &diodepb.Manufacturer{Name: "Cisco"}},
			Role:       &diodepb.DeviceRole{Name: "access switch"},
			Metadata:   sourceMatch(4242),
		},
	}
	if !proto.Equal(ifc, want) {
		t.Errorf("interface stub = %v\nwant %v", ifc, want)
	}
	dev := index(ents, "device")["sw-ams1-01"].GetDevice()
	if dev.GetPrimaryIp4().GetAddress() != "10.10.0.2/24" || dev.GetPrimaryIp4().GetVrf().GetName() != "Mgmt-vrf" {
		t.Errorf("primary_ip4 = %v", dev.GetPrimaryIp4())
	}
	if got := string(dev.GetConfig().GetRunning()); got != ciscoSwitch().Devices[0].Config {
		t.Errorf("running config = %q", got)
	}
	if dev.GetPrimaryIp6() != nil {
		t.Errorf("primary_ip6 = %v, want none", dev.GetPrimaryIp6())
	}
	mac := index(ents, "mac_address")["00:1A:2B:3C:4D:02"].GetMacAddress()
	if mac.GetAssignedObjectInterface().GetName() != "GigabitEthernet1/0/2" {
		t.Errorf("mac assigned to %v", mac.GetAssignedObjectInterface())
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Cisco":                 "cisco",
		"IOS-XE 17.3.4a":        "ios-xe-17-3-4a",
		"  Dell Inc. ":          "dell-inc",
		"access switch":         "access-switch",
		"Ubuntu Linux (64-bit)": "ubuntu-linux-64-bit",
		"!!!":                   Undefined,
		"Zürich":                "z-rich",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
	long := make([]byte, 150)
	for i := range long {
		long[i] = 'a'
	}
	if got := Slugify(string(long)); len(got) != 100 {
		t.Errorf("long slug has %d chars", len(got))
	}
}

func TestEntitiesNilAndEmpty(t *testing.T) {
	if got := Entities(nil, policies.Defaults{}, MapOptions{}); len(got) != 0 {
		t.Errorf("nil inventory: %d entities", len(got))
	}
	ents := Entities(&drivers.Inventory{Devices: []drivers.Device{{Name: "x", MgmtAddress: netip.MustParseAddr("10.0.0.1")}}}, policies.Defaults{}, MapOptions{})
	validateAll(t, ents) // zero Now means time.Now(), still in the past by validation time
	if dev := index(ents, "device")["x"].GetDevice(); dev.GetPrimaryIp4() != nil {
		t.Errorf("primary ip without an interface holding it: %v", dev.GetPrimaryIp4())
	}
}

// NetBox rejects a VM with neither a site nor a cluster; a VM on a
// standalone host with no site default gets the same "undefined" site a
// device would.
func TestVMSiteFallback(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name     string
		vm       drivers.VirtualMachine
		defaults policies.Defaults
		wantSite string
	}{
		{"standalone, no default", drivers.VirtualMachine{Name: "vm1"}, policies.Defaults{}, Undefined},
		{"standalone, site default", drivers.VirtualMachine{Name: "vm1"}, policies.Defaults{Site: "DC1"}, "DC1"},
		{"in a cluster, no default", drivers.VirtualMachine{Name: "vm1", Cluster: "c1"}, policies.Defaults{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := &drivers.Inventory{VirtualMachines: []drivers.VirtualMachine{tc.vm}}
			if tc.vm.Cluster != "" {
				inv.Clusters = []drivers.Cluster{{Name: tc.vm.Cluster, Type: "VMware vSphere"}}
			}
			var vm *diodepb.VirtualMachine
			for _, e := range Entities(inv, tc.defaults, MapOptions{Now: now}) {
				if v := e.GetVirtualMachine(); v != nil {
					vm = v
				}
			}
			if vm == nil {
				t.Fatal("no VirtualMachine entity")
			}
			if got := vm.GetSite().GetName(); got != tc.wantSite {
				t.Fatalf("site %q, want %q", got, tc.wantSite)
			}
			if vm.GetSite() == nil && vm.GetCluster() == nil {
				t.Fatal("VM has neither site nor cluster")
			}
		})
	}
}
