package ingest

import (
	"net/netip"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// testNow is a fixed moment in the past, so entities validate and goldens are stable.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func bp(b bool) *bool { return &b }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// ciscoSwitch is a Catalyst access switch with the shapes that matter:
// SVIs, a loopback, a port-channel with members, routed subinterfaces,
// v4 + v6 + secondary addresses, VLANs and modules.
func ciscoSwitch() *drivers.Inventory {
	return &drivers.Inventory{Devices: []drivers.Device{{
		Name:         "sw-ams1-01",
		Manufacturer: "Cisco",
		Model:        "C9300-48P",
		PartNumber:   "C9300-48P-E",
		Serial:       "FOC2233X0AB",
		Platform:     "IOS-XE",
		OSVersion:    "17.3.4a",
		Description:  "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software",
		Location:     "AMS1 row 3",
		MgmtAddress:  netip.MustParseAddr("10.10.0.2"),
		Config:       "hostname sw-ams1-01\nsnmp-server community <removed> RO\n",
		VLANs: []drivers.VLAN{
			{VID: 1, Name: "default"},
			{VID: 10, Name: "users"},
			{VID: 20, Name: "voice  phones"},
			{VID: 99, Name: "", Status: "reserved"},
		},
		Modules: []drivers.Module{
			{Bay: "Switch 1 - Slot 1", Model: "C9300-NM-8X", Serial: "FOC1111AAAA", Description: "8x10G uplink module"},
			{Bay: "PS 1", Model: "PWR-C1-715WAC", Serial: "LIT2222BBBB", Manufacturer: "Cisco"},
		},
		Interfaces: []drivers.Interface{
			{Name: "GigabitEthernet1/0/1", Description: "desk 1", Type: "1000base-t", Enabled: bp(true), MTU: 1500, SpeedKbps: 1_000_000,
				MAC: "00:1a:2b:3c:4d:01", Mode: "access", UntaggedVLAN: 10},
			{Name: "GigabitEthernet1/0/2", Enabled: bp(false), MTU: 1500, SpeedKbps: 1_000_000, MAC: "00-1A-2B-3C-4D-02",
				Mode: "tagged", UntaggedVLAN: 1, TaggedVLANs: []int{10, 20, 30}},
			{Name: "TenGigabitEthernet1/1/1", Type: "10gbase-x-sfpp", Enabled: bp(true), MTU: 9216, SpeedKbps: 10_000_000,
				MAC: "00:1a:2b:3c:4d:11", LAG: "Port-channel1"},
			{Name: "TenGigabitEthernet1/1/2", Type: "10gbase-x-sfpp", Enabled: bp(true), MTU: 9216, SpeedKbps: 10_000_000,
				MAC: "00:1a:2b:3c:4d:12", LAG: "Port-channel1"},
			{Name: "Port-channel1", Type: "lag", Enabled: bp(true), MTU: 9216, SpeedKbps: 20_000_000, Mode: "tagged-all",
				Addresses: []drivers.Address{{Prefix: pfx("192.0.2.1/30")}, {Prefix: pfx("2001:db8:ff::1/127")}}},
			{Name: "Port-channel1.100", Type: "virtual", Parent: "Port-channel1", Enabled: bp(true), VRF: "CUST-A",
				Addresses: []drivers.Address{{Prefix: pfx("198.51.100.1/29")}}},
			{Name: "Vlan10", Type: "virtual", Enabled: bp(true), MTU: 1500, MAC: "00:1a:2b:3c:4d:ff",
				Addresses: []drivers.Address{
					{Prefix: pfx("10.10.10.1/24")},
					{Prefix: pfx("10.10.11.1/24"), Role: "secondary"},
					{Prefix: pfx("10.10.10.254/24"), Role: "vip", Status: "reserved"},
					{Prefix: pfx("2001:db8:10::1/64")},
					{Prefix: pfx("fe80::21a:2bff:fe3c:4dff/64")},
				}},
			{Name: "Vlan99", Enabled: bp(false)},
			{Name: "Loopback0", Type: "virtual", Enabled: bp(true),
				Addresses: []drivers.Address{{Prefix: pfx("10.255.0.1/32")}, {Prefix: pfx("2001:db8::1/128")}}},
			{Name: "GigabitEthernet0/0", Type: "1000base-t", Enabled: bp(true), MgmtOnly: true, VRF: "Mgmt-vrf",
				SpeedKbps: 1_000_000, MAC: "00:1a:2b:3c:4d:00",
				Addresses: []drivers.Address{{Prefix: pfx("10.10.0.2/24")}}},
		},
	}}}
}

// vcenter is one host, one cluster and two VMs, as a vCenter driver reports them.
func vcenter() *drivers.Inventory {
	return &drivers.Inventory{
		Devices: []drivers.Device{{
			Name: "esx01.lab", Manufacturer: "Dell Inc.", Model: "PowerEdge R650", Serial: "7XK2Q93",
			Platform: "VMware ESXi", OSVersion: "8.0.2", Cluster: "prod-cluster", Site: "dc1",
			Interfaces: []drivers.Interface{
				{Name: "vmnic0", Type: "25gbase-x-sfp28", SpeedKbps: 25_000_000, MAC: "3c:ec:ef:00:00:01", Enabled: bp(true)},
				{Name: "vmk0", Type: "virtual", MTU: 1500, MAC: "00:50:56:60:00:01", Enabled: bp(true),
					Addresses: []drivers.Address{{Prefix: pfx("10.20.0.11/24")}}},
			},
			MgmtAddress: netip.MustParseAddr("10.20.0.11"),
		}},
		Clusters: []drivers.Cluster{{Name: "prod-cluster", Type: "VMware vSphere", Group: "DC1 Datacenter", Site: "dc1"}},
		VirtualMachines: []drivers.VirtualMachine{
			{Name: "web-01", Cluster: "prod-cluster", Device: "esx01.lab", Status: "active", Platform: "Ubuntu Linux (64-bit)",
				VCPUs: 4, MemoryMB: 8192, DiskGB: 120, Serial: "4222a1b2-0000-1111-2222-333344445555",
				Interfaces: []drivers.VMInterface{{Name: "Network adapter 1", MAC: "00:50:56:aa:bb:01", Enabled: bp(true), MTU: 1500,
					Addresses: []drivers.Address{{Prefix: pfx("10.30.0.21/24")}, {Prefix: pfx("2001:db8:30::21/64")}}}},
				Disks: []drivers.VirtualDisk{{Name: "Hard disk 1", SizeGB: 40}, {Name: "Hard disk 2", SizeGB: 80}}},
			{Name: "db-01", Cluster: "prod-cluster", Device: "esx01.lab", Status: "offline", Platform: "Ubuntu Linux (64-bit)",
				VCPUs: 0.5, MemoryMB: 2048, DiskGB: 20,
				Interfaces: []drivers.VMInterface{{Name: "Network adapter 1", MAC: "00:50:56:aa:bb:02", Enabled: bp(false),
					Addresses: []drivers.Address{{Prefix: pfx("10.30.0.22/24")}}}},
				Disks: []drivers.VirtualDisk{{Name: "Hard disk 1", SizeGB: 20}}},
		},
	}
}

func richDefaults() policies.Defaults {
	return policies.Defaults{
		Site:     "AMS1",
		Role:     "access switch",
		Location: "Hall 2",
		Tenant:   "Acme Corp",
		Comments: "discovered by orbd",
		Tags:     []string{"orbd", "discovered", "orbd"},
		InterfacePatterns: []policies.InterfacePattern{
			{Match: `^Vlan\d+$`, Type: "virtual"},
		},
		IPAddress: policies.IPDefaults{Tenant: "Acme Corp"},
		Prefix:    policies.IPDefaults{Role: "Access LAN", Tenant: "Acme Corp"},
		VLAN:      policies.VLANDefaults{Group: "AMS1 access", Role: "Users"},
	}
}

// kindName names an entity for assertions: "interface/Vlan10".
func kindName(e *diodepb.Entity) string {
	k, n := describe(e)
	return k + "/" + n
}

// tagCount counts the tags on an entity's object (-1 if it has no tags field).
func tagCount(e *diodepb.Entity) int {
	m := e.ProtoReflect()
	obj := m.Get(m.WhichOneof(m.Descriptor().Oneofs().ByName("entity"))).Message()
	fd := obj.Descriptor().Fields().ByName("tags")
	if fd == nil {
		return -1
	}
	return obj.Get(fd).List().Len()
}
