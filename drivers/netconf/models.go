package netconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/ssh"
)

const (
	nsIETFSystem     = "urn:ietf:params:xml:ns:yang:ietf-system"
	nsIETFInterfaces = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
	nsIETFHardware   = "urn:ietf:params:xml:ns:yang:ietf-hardware"
	nsOCSystem       = "http://openconfig.net/yang/system"
	nsOCInterfaces   = "http://openconfig.net/yang/interfaces"
	nsOCPlatform     = "http://openconfig.net/yang/platform"
)

// discoverIETF reads ietf-system (hostname, platform), ietf-interfaces +
// ietf-ip and ietf-hardware, each only when the hello announces it.
func discoverIETF(c *Client, capture bool) (*drivers.Device, error) {
	d := &drivers.Device{}
	if hasCap(c.Capabilities, nsIETFSystem) {
		data, err := c.Get(`<system xmlns="` + nsIETFSystem + `"><hostname/></system><system-state xmlns="` + nsIETFSystem + `"><platform/></system-state>`)
		if err != nil {
			return nil, fmt.Errorf("get ietf-system: %w", err)
		}
		d.Name = data.Str("system", "hostname")
		pl := data.Path("system-state", "platform")
		d.Platform = pl.Str("os-name")
		d.OSVersion = pl.Str("os-release")
	}
	if d.Name == "" {
		return nil, fmt.Errorf("ietf-system: no /system/hostname configured")
	}
	if hasCap(c.Capabilities, nsIETFInterfaces) {
		data, err := c.Get(`<interfaces xmlns="` + nsIETFInterfaces + `"/><interfaces-state xmlns="` + nsIETFInterfaces + `"/>`)
		if err != nil {
			return nil, fmt.Errorf("get ietf-interfaces: %w", err)
		}
		ifs, err := ietfInterfaces(data)
		if err != nil {
			return nil, err
		}
		d.Interfaces = ifs
	}
	if hasCap(c.Capabilities, nsIETFHardware) {
		data, err := c.Get(`<hardware xmlns="` + nsIETFHardware + `"/>`)
		if err != nil {
			return nil, fmt.Errorf("get ietf-hardware: %w", err)
		}
		for _, comp := range data.Path("hardware").Children("component") {
			class := comp.Str("class")
			if strings.HasSuffix(class, "chassis") && d.Model == "" {
				d.Model, d.Serial, d.Manufacturer, d.HardwareRev = comp.Str("model-name"), comp.Str("serial-num"), comp.Str("mfg-name"), comp.Str("hardware-rev")
				if d.OSVersion == "" {
					d.OSVersion = comp.Str("software-rev")
				}
				continue
			}
			if comp.Str("serial-num") != "" {
				d.Modules = append(d.Modules, drivers.Module{Bay: comp.Str("name"), Model: comp.Str("model-name"),
					Serial: comp.Str("serial-num"), Description: comp.Str("description"), Manufacturer: comp.Str("mfg-name")})
			}
		}
	}
	if capture {
		if err := captureRunning(c, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// ietfInterfaces merges config (/interfaces) and state (/interfaces-state).
func ietfInterfaces(data *ssh.Node) ([]drivers.Interface, error) {
	var out []drivers.Interface
	idx := map[string]int{}
	get := func(name string) *drivers.Interface {
		if k, ok := idx[name]; ok {
			return &out[k]
		}
		idx[name] = len(out)
		out = append(out, drivers.Interface{Name: name})
		return &out[len(out)-1]
	}
	for _, n := range data.Path("interfaces").Children("interface") {
		i := get(n.Str("name"))
		i.Description = n.Str("description")
		if e := n.Str("enabled"); e != "" {
			en := e == "true"
			i.Enabled = &en
		}
		i.Type = ianaType(n.Str("type"))
		for _, fam := range []string{"ipv4", "ipv6"} {
			f := n.Child(fam)
			if f == nil {
				continue
			}
			if m, _ := strconv.Atoi(f.Str("mtu")); m > 0 && i.MTU == 0 {
				i.MTU = m
			}
			for _, a := range f.Children("address") {
				ad, err := netip.ParseAddr(a.Str("ip"))
				if err != nil {
					return nil, fmt.Errorf("ietf-ip: interface %s: bad address %q", i.Name, a.Str("ip"))
				}
				bits, err := strconv.Atoi(a.Str("prefix-length"))
				if err != nil || bits < 0 || bits > ad.BitLen() {
					return nil, fmt.Errorf("ietf-ip: interface %s: bad prefix-length %q", i.Name, a.Str("prefix-length"))
				}
				if !ad.IsLinkLocalUnicast() {
					i.Addresses = append(i.Addresses, drivers.Address{Prefix: netip.PrefixFrom(ad, bits)})
				}
			}
		}
	}
	// RFC 8343 (NMDA) servers return the state leaves inside /interfaces;
	// RFC 7223 servers in /interfaces-state, which also lists interfaces
	// that have no configuration
	state := data.Path("interfaces").Children("interface")
	state = append(state, data.Path("interfaces-state").Children("interface")...)
	for _, n := range state {
		i := get(n.Str("name"))
		if i.Type == "" {
			i.Type = ianaType(n.Str("type"))
		}
		if mac := n.Str("phys-address"); mac != "" {
			i.MAC = strings.ToLower(mac)
		}
		if sp, err := strconv.ParseInt(n.Str("speed"), 10, 64); err == nil {
			i.SpeedKbps = sp / 1000
		}
		if i.Enabled == nil && n.Str("admin-status") != "" {
			en := n.Str("admin-status") == "up"
			i.Enabled = &en
		}
	}
	for k := range out {
		refineType(&out[k])
	}
	return out, nil
}

// ianaType maps iana-if-type identities ("ianaift:ethernetCsmacd") to a
// first guess; refineType then uses name and speed like the CLI path.
func ianaType(t string) string {
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		t = t[i+1:]
	}
	switch t {
	case "softwareLoopback", "l3ipvlan", "tunnel", "propVirtual", "l2vlan", "bridge":
		return "virtual"
	case "ieee8023adLag":
		return "lag"
	case "ethernetCsmacd":
		return "" // decide from name and speed
	case "":
		return ""
	}
	return "other"
}

func refineType(i *drivers.Interface) {
	if i.Type != "" {
		return
	}
	i.Type, i.MgmtOnly = ssh.IfType(i.Name, "", i.SpeedKbps)
}

// discoverOpenConfig reads openconfig-system, -interfaces and -platform.
func discoverOpenConfig(c *Client, capture bool) (*drivers.Device, error) {
	d := &drivers.Device{}
	data, err := c.Get(`<system xmlns="` + nsOCSystem + `"><state/><config/></system>`)
	if err != nil {
		return nil, fmt.Errorf("get openconfig-system: %w", err)
	}
	d.Name = firstNonEmpty(data.Str("system", "state", "hostname"), data.Str("system", "config", "hostname"))
	d.OSVersion = data.Str("system", "state", "software-version")
	if d.Name == "" {
		return nil, fmt.Errorf("openconfig-system: no hostname")
	}
	if data, err = c.Get(`<interfaces xmlns="` + nsOCInterfaces + `"/>`); err != nil {
		return nil, fmt.Errorf("get openconfig-interfaces: %w", err)
	}
	ifs, err := ocInterfaces(data)
	if err != nil {
		return nil, err
	}
	d.Interfaces = ifs
	if hasCap(c.Capabilities, nsOCPlatform) {
		if data, err = c.Get(`<components xmlns="` + nsOCPlatform + `"/>`); err != nil {
			return nil, fmt.Errorf("get openconfig-platform: %w", err)
		}
		for _, comp := range data.Path("components").Children("component") {
			st := comp.Child("state")
			typ := st.Str("type")
			switch {
			case strings.HasSuffix(typ, "CHASSIS") && d.Model == "":
				d.Model, d.Serial, d.Manufacturer, d.HardwareRev = firstNonEmpty(st.Str("part-no"), st.Str("description")), st.Str("serial-no"), st.Str("mfg-name"), st.Str("hardware-version")
			case strings.HasSuffix(typ, "OPERATING_SYSTEM"):
				if d.OSVersion == "" {
					d.OSVersion = st.Str("software-version")
				}
				if d.Platform == "" {
					d.Platform = st.Str("description")
				}
			case st.Str("serial-no") != "":
				d.Modules = append(d.Modules, drivers.Module{Bay: comp.Str("name"), Model: st.Str("part-no"),
					Serial: st.Str("serial-no"), Description: st.Str("description"), Manufacturer: st.Str("mfg-name")})
			}
		}
	}
	if capture {
		if err := captureRunning(c, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

var ocSpeeds = map[string]int64{
	"SPEED_10MB": 10_000, "SPEED_100MB": 100_000, "SPEED_1GB": 1_000_000, "SPEED_2500MB": 2_500_000,
	"SPEED_5GB": 5_000_000, "SPEED_10GB": 10_000_000, "SPEED_25GB": 25_000_000, "SPEED_40GB": 40_000_000,
	"SPEED_50GB": 50_000_000, "SPEED_100GB": 100_000_000, "SPEED_200GB": 200_000_000, "SPEED_400GB": 400_000_000,
}

func ocInterfaces(data *ssh.Node) ([]drivers.Interface, error) {
	var out []drivers.Interface
	for _, n := range data.Path("interfaces").Children("interface") {
		name := n.Str("name")
		st, cf := n.Child("state"), n.Child("config")
		i := drivers.Interface{Name: name, Description: firstNonEmpty(st.Str("description"), cf.Str("description"))}
		if e := firstNonEmpty(st.Str("enabled"), cf.Str("enabled")); e != "" {
			en := e == "true"
			i.Enabled = &en
		}
		i.MTU, _ = strconv.Atoi(firstNonEmpty(st.Str("mtu"), cf.Str("mtu")))
		i.Type = ianaType(firstNonEmpty(st.Str("type"), cf.Str("type")))
		if eth := n.Child("ethernet"); eth != nil {
			i.MAC = strings.ToLower(eth.Str("state", "mac-address"))
			i.SpeedKbps = ocSpeeds[trimPrefix(firstNonEmpty(eth.Str("state", "port-speed"), eth.Str("config", "port-speed")))]
			if agg := firstNonEmpty(eth.Str("config", "aggregate-id"), eth.Str("state", "aggregate-id")); agg != "" {
				i.LAG = agg
			}
		}
		refineType(&i)
		out = append(out, i)
		for _, sub := range n.Path("subinterfaces").Children("subinterface") {
			idx := sub.Str("index")
			target := &out[len(out)-1]
			if idx != "0" {
				out = append(out, drivers.Interface{Name: name + "." + idx, Parent: name, Type: "virtual",
					Description: firstNonEmpty(sub.Str("state", "description"), sub.Str("config", "description"))})
				target = &out[len(out)-1]
			}
			for _, fam := range []string{"ipv4", "ipv6"} {
				for _, a := range sub.Path(fam, "addresses").Children("address") {
					ip := firstNonEmpty(a.Str("ip"), a.Str("config", "ip"))
					ad, err := netip.ParseAddr(ip)
					if err != nil {
						return nil, fmt.Errorf("openconfig-if-ip: interface %s: bad address %q", target.Name, ip)
					}
					pl := firstNonEmpty(a.Str("state", "prefix-length"), a.Str("config", "prefix-length"))
					bits, err := strconv.Atoi(pl)
					if err != nil || bits < 0 || bits > ad.BitLen() {
						return nil, fmt.Errorf("openconfig-if-ip: interface %s: bad prefix-length %q", target.Name, pl)
					}
					if !ad.IsLinkLocalUnicast() {
						target.Addresses = append(target.Addresses, drivers.Address{Prefix: netip.PrefixFrom(ad, bits)})
					}
				}
			}
		}
	}
	return out, nil
}

func trimPrefix(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
