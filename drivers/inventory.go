package drivers

import (
	"net/netip"
	"time"
)

// Inventory is what one target yielded, in driver-neutral form. Only
// ingest knows how it becomes Diode entities. Empty strings and zero
// numbers mean "unknown" and are left out of the entities.
type Inventory struct {
	Devices         []Device
	Clusters        []Cluster
	VirtualMachines []VirtualMachine
}

// Counts summarises an inventory for run results.
func (inv *Inventory) Counts() (devices, interfaces, addresses int) {
	if inv == nil {
		return 0, 0, 0
	}
	for i := range inv.Devices {
		devices++
		interfaces += len(inv.Devices[i].Interfaces)
		for j := range inv.Devices[i].Interfaces {
			addresses += len(inv.Devices[i].Interfaces[j].Addresses)
		}
	}
	for i := range inv.VirtualMachines {
		interfaces += len(inv.VirtualMachines[i].Interfaces)
		for j := range inv.VirtualMachines[i].Interfaces {
			addresses += len(inv.VirtualMachines[i].Interfaces[j].Addresses)
		}
	}
	return devices, interfaces, addresses
}

// Device is a physical or virtual network device, or a hypervisor host.
type Device struct {
	Name         string // hostname / sysName
	Manufacturer string // e.g. "Cisco", "Juniper"
	Model        string // device type model, e.g. "WS-C2960X-48FPD-L"
	PartNumber   string
	Serial       string
	HardwareRev  string
	Platform     string     // OS name, e.g. "IOS-XE", "Junos", "EOS"
	OSVersion    string     // e.g. "17.3.4a"
	Description  string     // e.g. sysDescr, trimmed
	Location     string     // e.g. sysLocation (informational; site comes from defaults or the controller)
	Site         string     // set only when the source knows it (controllers); defaults fill the rest
	Role         string     // likewise
	Status       string     // NetBox status slug; "" → active
	Cluster      string     // hypervisor hosts: the cluster they belong to
	MgmtAddress  netip.Addr // the address we reached it on (primary IP if it is on an interface)
	Uptime       time.Duration
	Config       string // running config, secrets already masked; only when asked for
	Interfaces   []Interface
	VLANs        []VLAN
	Modules      []Module
}

// Interface of a device. Type is a NetBox interface type slug
// ("1000base-t", "10gbase-x-sfpp", "virtual", "lag", "other", …); "" → ingest picks "other".
type Interface struct {
	Name         string
	Description  string
	Type         string
	Enabled      *bool
	MTU          int
	SpeedKbps    int64
	MAC          string // colon-separated, upper or lower case
	Parent       string // subinterfaces: parent interface name
	LAG          string // member of this LAG
	MgmtOnly     bool
	Mode         string // "access" | "tagged" | "tagged-all" | ""
	UntaggedVLAN int
	TaggedVLANs  []int
	VRF          string
	Addresses    []Address
}

// Address is an IP address with its prefix length (10.0.0.1/24).
type Address struct {
	Prefix netip.Prefix // address bits are kept: Prefix.Addr() is the host address
	Role   string       // NetBox role slug ("secondary", "anycast", "vip", …) or ""
	Status string       // "" → active
}

// VLAN seen on a device.
type VLAN struct {
	VID    int
	Name   string
	Status string // "" → active
}

// Module is a line card, PSU, transceiver… (ENTITY-MIB, show inventory).
type Module struct {
	Bay          string
	Model        string
	Serial       string
	Description  string
	Manufacturer string
}

// Cluster of hypervisor hosts.
type Cluster struct {
	Name  string
	Type  string // e.g. "VMware vSphere"
	Group string // e.g. the datacenter
	Site  string
}

// VirtualMachine on a cluster.
type VirtualMachine struct {
	Name        string
	Cluster     string
	Device      string // host it runs on
	Status      string // NetBox status slug: active | offline | staged …
	Platform    string // guest OS
	VCPUs       float64
	MemoryMB    int64
	DiskGB      int64
	Description string
	Serial      string
	Interfaces  []VMInterface
	Disks       []VirtualDisk
}

type VMInterface struct {
	Name        string
	Description string
	Enabled     *bool
	MTU         int
	MAC         string
	Addresses   []Address
}

type VirtualDisk struct {
	Name   string
	SizeGB int64
}
