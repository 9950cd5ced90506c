package vcenter

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/orbd/orbd/drivers"
)

const (
	clusterType     = "VMware vSphere" // NetBox rejects a Cluster without a type
	defaultPlatform = "VMware ESXi"
	gib             = 1 << 30
)

// buildInventory maps what the property collector returned.
func buildInventory(o *objects, cfg Config, log *slog.Logger) (*drivers.Inventory, error) {
	t := newTree(o)
	inv := &drivers.Inventory{}

	clusterOf := map[types.ManagedObjectReference]string{} // compute resource → cluster name ("" standalone)
	for _, cr := range o.computes {
		if cr.Self.Type != "ClusterComputeResource" {
			continue // a standalone host's ComputeResource is not a cluster
		}
		clusterOf[cr.Self] = cr.Name
		inv.Clusters = append(inv.Clusters, drivers.Cluster{
			Name:  cr.Name,
			Type:  clusterType,
			Group: t.datacenter(cr.Self),
		})
	}

	type hostInfo struct{ name, cluster string }
	hosts := map[types.ManagedObjectReference]hostInfo{}
	for i := range o.hosts {
		h := &o.hosts[i]
		cluster := ""
		if h.Parent != nil {
			cluster = clusterOf[*h.Parent]
		}
		hosts[h.Self] = hostInfo{name: h.Name, cluster: cluster}
		inv.Devices = append(inv.Devices, hostDevice(h, cluster))
	}

	netName := map[types.ManagedObjectReference]string{}
	for _, n := range o.networks {
		netName[n.Self] = n.Name
	}

	skipped := 0
	for i := range o.vms {
		v := &o.vms[i]
		if v.Config == nil {
			// Inaccessible or orphaned VMs have no config to map; say so.
			log.Debug("vcenter VM without config skipped", "vm", v.Name)
			skipped++
			continue
		}
		if v.Config.Template && !cfg.IncludeTemplates {
			skipped++
			continue
		}
		vm := drivers.VirtualMachine{
			Name:        v.Name,
			Status:      vmStatus(v.Runtime.PowerState),
			Platform:    v.Config.GuestFullName,
			VCPUs:       float64(v.Config.Hardware.NumCPU),
			MemoryMB:    int64(v.Config.Hardware.MemoryMB),
			Description: strings.TrimSpace(v.Config.Annotation),
			Serial:      v.Config.Uuid,
		}
		if v.Runtime.Host != nil {
			hi := hosts[*v.Runtime.Host]
			vm.Cluster = hi.cluster
			// NetBox refuses a VM's host device without a cluster ("Must
			// specify a cluster when assigning a host device"): a VM of a
			// standalone host is reported on its site, without the host,
			// rather than rejected.
			if hi.cluster != "" {
				vm.Device = hi.name
			}
		}
		guestIPs := guestAddresses(v.Guest)
		for _, dev := range v.Config.Hardware.Device {
			switch d := dev.(type) {
			case *types.VirtualDisk:
				size := d.CapacityInBytes
				if size == 0 {
					size = d.CapacityInKB * 1024
				}
				gb := (size + gib - 1) / gib // whole GB, rounded up so a small disk is not 0
				vm.DiskGB += gb
				name := label(d.GetVirtualDevice())
				if name == "" {
					name = fmt.Sprintf("Hard disk %d", len(vm.Disks)+1)
				}
				vm.Disks = append(vm.Disks, drivers.VirtualDisk{Name: name, SizeGB: gb})
			case types.BaseVirtualEthernetCard:
				card := d.GetVirtualEthernetCard()
				// vSphere numbers adapters in device order ("Network
				// adapter 1"…); the label is not always that (vcsim's is
				// "ethernet-0"), and the name must be stable across runs.
				nic := drivers.VMInterface{
					Name:        fmt.Sprintf("Network adapter %d", len(vm.Interfaces)+1),
					MAC:         strings.ToLower(card.MacAddress),
					Description: backingNetwork(card.Backing, netName),
				}
				if c := card.Connectable; c != nil {
					nic.Enabled = new(c.Connected)
				}
				nic.Addresses = guestIPs[nic.MAC]
				vm.Interfaces = append(vm.Interfaces, nic)
			}
		}
		inv.VirtualMachines = append(inv.VirtualMachines, vm)
	}
	if skipped > 0 {
		log.Debug("vcenter VMs skipped", "count", skipped, "include_templates", cfg.IncludeTemplates)
	}

	slices.SortFunc(inv.Clusters, func(a, b drivers.Cluster) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(inv.Devices, func(a, b drivers.Device) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(inv.VirtualMachines, func(a, b drivers.VirtualMachine) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Serial, b.Serial))
	})
	return inv, nil
}

func hostDevice(h *mo.HostSystem, cluster string) drivers.Device {
	d := drivers.Device{
		Name:     h.Name,
		Platform: defaultPlatform,
		Cluster:  cluster,
		Status:   "active",
	}
	if h.Runtime.ConnectionState != "" && h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected {
		d.Status = "offline"
	}
	if h.Hardware != nil {
		si := h.Hardware.SystemInfo
		d.Manufacturer = strings.TrimSpace(si.Vendor)
		d.Model = strings.TrimSpace(si.Model)
		d.Serial = hostSerial(si)
	}
	if h.Config == nil {
		return d
	}
	if p := h.Config.Product; p.Version != "" {
		d.OSVersion = p.Version
		if p.Name != "" {
			d.Platform = p.Name
		}
	}
	if h.Config.Network == nil {
		return d
	}
	for _, p := range h.Config.Network.Pnic {
		ifc := drivers.Interface{Name: p.Device, MAC: strings.ToLower(p.Mac), Type: "other"}
		if p.LinkSpeed != nil && p.LinkSpeed.SpeedMb > 0 {
			ifc.SpeedKbps = int64(p.LinkSpeed.SpeedMb) * 1000
			ifc.Type = speedType(ifc.SpeedKbps)
			ifc.Enabled = new(true)
		} else {
			ifc.Enabled = new(false) // no link speed: the link is down
		}
		d.Interfaces = append(d.Interfaces, ifc)
	}
	for _, v := range h.Config.Network.Vnic {
		ifc := drivers.Interface{
			Name:        v.Device,
			Type:        "virtual",
			MAC:         strings.ToLower(v.Spec.Mac),
			MTU:         int(v.Spec.Mtu),
			Description: v.Portgroup,
			Enabled:     new(true),
		}
		ifc.Addresses = vnicAddresses(v.Spec.Ip)
		if !d.MgmtAddress.IsValid() {
			for _, a := range ifc.Addresses {
				if a.Prefix.Addr().Is4() {
					d.MgmtAddress = a.Prefix.Addr()
					break
				}
			}
		}
		d.Interfaces = append(d.Interfaces, ifc)
	}
	return d
}

// hostSerial prefers the BIOS serial (vSphere 6.7+), then the service tag
// hardware vendors put in SMBIOS.
func hostSerial(si types.HostSystemInfo) string {
	if s := strings.TrimSpace(si.SerialNumber); s != "" {
		return s
	}
	for _, key := range []string{"SerialNumberTag", "EnclosureSerialNumberTag", "ServiceTag"} {
		for _, id := range si.OtherIdentifyingInfo {
			if id.IdentifierType != nil && id.IdentifierType.GetElementDescription().Key == key {
				if s := strings.TrimSpace(id.IdentifierValue); s != "" {
					return s
				}
			}
		}
	}
	return ""
}

func vnicAddresses(ip *types.HostIpConfig) []drivers.Address {
	if ip == nil {
		return nil
	}
	var out []drivers.Address
	if a, err := netip.ParseAddr(ip.IpAddress); err == nil {
		bits := 32
		if m := net.ParseIP(ip.SubnetMask).To4(); m != nil {
			if ones, total := net.IPMask(m).Size(); total == 32 {
				bits = ones
			}
		}
		out = append(out, drivers.Address{Prefix: netip.PrefixFrom(a, bits)})
	}
	if ip.IpV6Config != nil {
		for _, v6 := range ip.IpV6Config.IpV6Address {
			a, err := netip.ParseAddr(v6.IpAddress)
			if err != nil || a.IsLinkLocalUnicast() {
				continue
			}
			out = append(out, drivers.Address{Prefix: netip.PrefixFrom(a, int(v6.PrefixLength))})
		}
	}
	return out
}

// guestAddresses maps a NIC's MAC (lower case) to the addresses VMware
// Tools reports for it. ipConfig carries prefix lengths; the older flat
// ipAddress list is used, as host routes, only when it is absent.
func guestAddresses(g *types.GuestInfo) map[string][]drivers.Address {
	out := map[string][]drivers.Address{}
	if g == nil {
		return out
	}
	for _, n := range g.Net {
		mac := strings.ToLower(n.MacAddress)
		if mac == "" {
			continue
		}
		seen := map[netip.Addr]bool{}
		addAddr := func(s string, bits int) {
			a, err := netip.ParseAddr(s)
			if err != nil || a.IsLinkLocalUnicast() || a.IsLoopback() || seen[a] {
				return
			}
			if bits < 0 || bits > a.BitLen() {
				bits = a.BitLen()
			}
			seen[a] = true
			out[mac] = append(out[mac], drivers.Address{Prefix: netip.PrefixFrom(a, bits)})
		}
		if n.IpConfig != nil && len(n.IpConfig.IpAddress) > 0 {
			for _, ip := range n.IpConfig.IpAddress {
				addAddr(ip.IpAddress, int(ip.PrefixLength))
			}
			continue
		}
		for _, s := range n.IpAddress {
			addAddr(s, -1)
		}
	}
	return out
}

func vmStatus(s types.VirtualMachinePowerState) string {
	if s == types.VirtualMachinePowerStatePoweredOn {
		return "active"
	}
	return "offline" // poweredOff, suspended
}

func label(d *types.VirtualDevice) string {
	if d.DeviceInfo != nil {
		if l := d.DeviceInfo.GetDescription().Label; l != "" {
			return l
		}
	}
	return ""
}

func backingNetwork(b types.BaseVirtualDeviceBackingInfo, names map[types.ManagedObjectReference]string) string {
	switch x := b.(type) {
	case *types.VirtualEthernetCardNetworkBackingInfo:
		if x.Network != nil {
			if n := names[*x.Network]; n != "" {
				return n
			}
		}
		return x.DeviceName
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		ref := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: x.Port.PortgroupKey}
		return names[ref]
	case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
		return x.OpaqueNetworkId
	}
	return ""
}

// speedType guesses a NetBox interface type from a physical NIC's speed;
// vSphere does not report the media, so "other" is used when unsure.
func speedType(kbps int64) string {
	if s := drivers.EthernetType(kbps); s != "" {
		return s
	}
	return "other"
}
