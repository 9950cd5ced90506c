package gnmi

import (
	"cmp"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"

	"github.com/orbd/orbd/drivers"
)

// vendor is what the Capabilities' model list says about the target.
type vendor struct {
	Manufacturer string
	Platform     string
	// ModelFromDescription: the chassis model is in description, part-no
	// being an assembly number (Junos "MX204" / "750-101221", SR Linux).
	ModelFromDescription bool
}

// vendorModels maps module-name prefixes, then organisations, to the
// vendor. Data, not code: add a row for a new vendor.
var vendorModels = []struct {
	prefix, org string
	v           vendor
}{
	{prefix: "srl_nokia", v: vendor{"Nokia", "SR Linux", true}},
	{prefix: "nokia-", v: vendor{"Nokia", "SR OS", true}},
	{prefix: "arista-", v: vendor{"Arista", "EOS", false}},
	{prefix: "junos-", v: vendor{"Juniper", "Junos", true}},
	{prefix: "Cisco-IOS-XR", v: vendor{"Cisco", "IOS-XR", false}},
	{prefix: "Cisco-IOS-XE", v: vendor{"Cisco", "IOS-XE", false}},
	{prefix: "Cisco-NX-OS", v: vendor{"Cisco", "NX-OS", false}},
	{org: "Arista", v: vendor{"Arista", "EOS", false}},
	{org: "Juniper", v: vendor{"Juniper", "Junos", true}},
	{org: "Nokia", v: vendor{"Nokia", "", true}},
	{org: "Cisco", v: vendor{"Cisco", "", false}},
}

func vendorOf(models []*gnmi.ModelData) vendor {
	for _, row := range vendorModels {
		for _, m := range models {
			if row.prefix != "" && strings.HasPrefix(m.GetName(), row.prefix) ||
				row.org != "" && strings.Contains(m.GetOrganization(), row.org) {
				return row.v
			}
		}
	}
	return vendor{}
}

// identity drops the module prefix of an identityref value:
// "openconfig-platform-types:CHASSIS" → "CHASSIS".
func identity(s string) string { return stripPrefix(strings.TrimSpace(s)) }

func mapDevice(tree map[string]any, v vendor, log *slog.Logger) drivers.Device {
	sys := obj(tree, "system")
	d := drivers.Device{
		Name:         leafStr(sys, "hostname"),
		OSVersion:    leafStr(sys, "software-version"),
		Manufacturer: v.Manufacturer,
		Platform:     v.Platform,
	}
	if sys == nil {
		log.Debug("gnmi: no /system/state; device named after the target")
	}

	comps := list(tree, "components", "component")
	if comps == nil {
		log.Debug("gnmi: no /components; no serial or model")
	}
	for _, c := range comps {
		cm := obj(c)
		typ := identity(leafStr(cm, "type"))
		name := leafStr(cm, "name")
		switch typ {
		case "CHASSIS":
			if d.Serial != "" {
				continue // the first chassis is the device; stacks are out of scope
			}
			d.Serial = leafStr(cm, "serial-no")
			d.PartNumber = leafStr(cm, "part-no")
			desc := leafStr(cm, "description")
			if v.ModelFromDescription {
				d.Model = cmp.Or(leafStr(cm, "model-name"), desc, d.PartNumber)
			} else {
				d.Model = cmp.Or(leafStr(cm, "model-name"), d.PartNumber, desc)
			}
			d.HardwareRev = leafStr(cm, "hardware-version")
			d.Description = desc
			// The vendor table's name keeps manufacturers consistent
			// across drivers; mfg-name ("Arista Networks") only fills in.
			d.Manufacturer = cmp.Or(d.Manufacturer, leafStr(cm, "mfg-name"))
		case "OPERATING_SYSTEM":
			if d.OSVersion == "" {
				d.OSVersion = leafStr(cm, "software-version")
			}
		default:
			serial, part := leafStr(cm, "serial-no"), leafStr(cm, "part-no")
			if serial == "" && part == "" {
				continue // ports, sensors…: not inventory items
			}
			d.Modules = append(d.Modules, drivers.Module{
				Bay:          name,
				Model:        cmp.Or(leafStr(cm, "model-name"), part),
				Serial:       serial,
				Description:  leafStr(cm, "description"),
				Manufacturer: leafStr(cm, "mfg-name"),
			})
		}
	}

	ifs := list(tree, "interfaces", "interface")
	if ifs == nil {
		log.Debug("gnmi: no /interfaces")
	}
	for _, x := range ifs {
		d.Interfaces = append(d.Interfaces, mapInterface(obj(x))...)
	}

	seen := map[int]bool{}
	nis := list(tree, "network-instances", "network-instance")
	for _, ni := range nis {
		for _, x := range list(ni, "vlans", "vlan") {
			vm := obj(x)
			id, ok := leafInt(vm, "vlan-id")
			if !ok || id < 1 || id > 4094 || seen[int(id)] {
				continue
			}
			seen[int(id)] = true
			vl := drivers.VLAN{VID: int(id), Name: leafStr(vm, "name")}
			if s := identity(leafStr(vm, "status")); strings.EqualFold(s, "SUSPENDED") {
				vl.Status = "deprecated" // NetBox has no "suspended" VLAN status
			}
			d.VLANs = append(d.VLANs, vl)
		}
	}
	if len(d.VLANs) == 0 {
		log.Debug("gnmi: no VLANs under /network-instances")
	}
	slices.SortFunc(d.VLANs, func(a, b drivers.VLAN) int { return a.VID - b.VID })
	return d
}

// mapInterface returns the interface and its non-zero subinterfaces
// ("ge-0/0/0.100"); subinterface 0 carries the parent's own addresses.
func mapInterface(m map[string]any) []drivers.Interface {
	name := leafStr(m, "name")
	if name == "" {
		return nil
	}
	eth := obj(m, "ethernet")
	ifc := drivers.Interface{
		Name:        name,
		Description: leafStr(m, "description"),
		Enabled:     leafBool(m, "enabled"),
		MAC:         strings.ToLower(cmp.Or(leafStr(eth, "mac-address"), leafStr(eth, "hw-mac-address"))),
		LAG:         cmp.Or(leafStr(eth, "aggregate-id"), leafStr(obj(m, "aggregation"), "aggregate-id")),
	}
	if mtu, ok := leafInt(m, "mtu"); ok && mtu > 0 {
		ifc.MTU = int(mtu)
	}
	// The port's own speed says its form factor (an SFP28 port running at
	// 10G is still SFP28); the negotiated speed is what it runs at.
	port := speedKbps(leafStr(eth, "port-speed"))
	ifc.SpeedKbps = cmp.Or(speedKbps(leafStr(eth, "negotiated-port-speed")), port)
	ifc.Type = ifType(identity(leafStr(m, "type")), cmp.Or(port, ifc.SpeedKbps))

	out := []drivers.Interface{ifc}
	for _, s := range list(m, "subinterfaces", "subinterface") {
		sm := obj(s)
		idx, ok := leafInt(sm, "index")
		if !ok {
			continue
		}
		addrs := subinterfaceAddresses(sm)
		if idx == 0 {
			out[0].Addresses = append(out[0].Addresses, addrs...)
			continue
		}
		sub := drivers.Interface{
			Name:        cmp.Or(leafStr(sm, "name"), name+"."+strconv.FormatInt(idx, 10)),
			Description: leafStr(sm, "description"),
			Enabled:     leafBool(sm, "enabled"),
			Type:        "virtual",
			Parent:      name,
			Addresses:   addrs,
		}
		out = append(out, sub)
	}
	return out
}

func subinterfaceAddresses(sm map[string]any) []drivers.Address {
	var out []drivers.Address
	for _, fam := range []string{"ipv4", "ipv6"} {
		for _, a := range list(sm, fam, "addresses", "address") {
			am := obj(a)
			ip, err := netip.ParseAddr(leafStr(am, "ip"))
			if err != nil || ip.IsLinkLocalUnicast() {
				continue
			}
			bits, ok := leafInt(am, "prefix-length")
			if !ok || bits < 0 || int(bits) > ip.BitLen() {
				bits = int64(ip.BitLen())
			}
			out = append(out, drivers.Address{Prefix: netip.PrefixFrom(ip, int(bits))})
		}
	}
	return out
}

// speedKbps reads openconfig-if-ethernet ETHERNET_SPEED identities.
func speedKbps(s string) int64 {
	s = identity(s)
	if !strings.HasPrefix(s, "SPEED_") {
		return 0
	}
	s = strings.TrimPrefix(s, "SPEED_")
	mult := int64(0)
	switch {
	case strings.HasSuffix(s, "GB"):
		mult, s = 1_000_000, strings.TrimSuffix(s, "GB")
	case strings.HasSuffix(s, "MB"):
		mult, s = 1_000, strings.TrimSuffix(s, "MB")
	default:
		return 0 // SPEED_UNKNOWN
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n * mult
}

// ifType maps an IANA ifType (prefix stripped) and speed to a NetBox
// interface type slug.
func ifType(ianaType string, kbps int64) string {
	switch ianaType {
	case "ieee8023adLag":
		return "lag"
	case "softwareLoopback", "l3ipvlan", "l2vlan", "propVirtual", "tunnel", "mplsTunnel", "bridge":
		return "virtual"
	case "ethernetCsmacd", "fastEther", "gigabitEthernet", "":
		// OpenConfig does not say the media; EthernetType guesses it.
		if s := drivers.EthernetType(kbps); s != "" {
			return s
		}
		return "other"
	case "ieee80211":
		return "ieee802.11ac"
	}
	return "other"
}
