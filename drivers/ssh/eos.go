package ssh

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orbd/orbd/drivers"
)

// Arista EOS: every command has a `| json` form, so no text parsing.

type eosVersion struct {
	ModelName        string  `json:"modelName"`
	HardwareRevision string  `json:"hardwareRevision"`
	SerialNumber     string  `json:"serialNumber"`
	Version          string  `json:"version"`
	Uptime           float64 `json:"uptime"`
	MfgName          string  `json:"mfgName"`
}

type eosIP struct {
	Address string `json:"address"`
	MaskLen int    `json:"maskLen"`
}

type eosInterfaces struct {
	Interfaces map[string]struct {
		Name                string  `json:"name"`
		Description         string  `json:"description"`
		InterfaceStatus     string  `json:"interfaceStatus"`
		MTU                 int     `json:"mtu"`
		Bandwidth           float64 `json:"bandwidth"` // bit/s
		PhysicalAddress     string  `json:"physicalAddress"`
		Hardware            string  `json:"hardware"`
		InterfaceMembership string  `json:"interfaceMembership"`
		InterfaceAddress    []struct {
			PrimaryIP               eosIP   `json:"primaryIp"`
			SecondaryIPsOrderedList []eosIP `json:"secondaryIpsOrderedList"`
		} `json:"interfaceAddress"`
	} `json:"interfaces"`
}

type eosIPv6 struct {
	Interfaces map[string]struct {
		AddrList []struct {
			Address string `json:"address"`
			Subnet  string `json:"subnet"`
		} `json:"addrList"`
	} `json:"interfaces"`
}

type eosVlans struct {
	Vlans map[string]struct {
		Name       string                     `json:"name"`
		Status     string                     `json:"status"`
		Interfaces map[string]json.RawMessage `json:"interfaces"`
	} `json:"vlans"`
}

func runJSON(r runner, cmd string, v any, opt bool) (bool, error) {
	var out string
	var err error
	if opt {
		out, err = optional(r, cmd)
	} else {
		out, err = r.Run(cmd)
	}
	if err != nil {
		return false, err
	}
	if opt && out == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(jsonBody(out)), v); err != nil {
		return false, fmt.Errorf("%s: bad JSON: %w", cmd, err)
	}
	return true, nil
}

// jsonBody drops anything before the first '{' (a stray echo or banner).
func jsonBody(s string) string {
	if i := strings.IndexByte(s, '{'); i > 0 {
		return s[i:]
	}
	return s
}

// ParseEOS builds the device from the JSON of show version, show hostname,
// show interfaces, show ipv6 interface and show vlan.
func ParseEOS(ver, host, ifs, v6, vlans string, d *drivers.Device) error {
	r := mapRunner{
		"show version | json": ver, "show hostname | json": host, "show interfaces | json": ifs,
		"show ipv6 interface | json": v6, "show vlan | json": vlans,
	}
	return collectEOSData(r, d)
}

func collectEOS(r runner, d *drivers.Device, captureConfig bool) error {
	if err := collectEOSData(r, d); err != nil {
		return err
	}
	return captureRunning(r, d, captureConfig, "show running-config")
}

func collectEOSData(r runner, d *drivers.Device) error {
	var v eosVersion
	if _, err := runJSON(r, "show version | json", &v, false); err != nil {
		return err
	}
	if v.Version == "" {
		return fmt.Errorf("show version | json: no version field")
	}
	d.Platform, d.OSVersion, d.Model, d.Serial, d.HardwareRev = "EOS", v.Version, v.ModelName, v.SerialNumber, v.HardwareRevision
	d.Uptime = time.Duration(v.Uptime * float64(time.Second)).Truncate(time.Second)
	var h struct {
		Hostname string `json:"hostname"`
	}
	if _, err := runJSON(r, "show hostname | json", &h, false); err != nil {
		return err
	}
	d.Name = h.Hostname
	var ifs eosInterfaces
	if _, err := runJSON(r, "show interfaces | json", &ifs, false); err != nil {
		return err
	}
	names := make([]string, 0, len(ifs.Interfaces))
	for n := range ifs.Interfaces {
		names = append(names, n)
	}
	sortIfNames(names)
	for _, n := range names {
		e := ifs.Interfaces[n]
		en := e.InterfaceStatus != "disabled"
		i := drivers.Interface{Name: n, Description: e.Description, Enabled: &en, MTU: e.MTU,
			SpeedKbps: int64(e.Bandwidth / 1000), MAC: strings.ToLower(e.PhysicalAddress)}
		if dot := strings.LastIndex(n, "."); dot > 0 {
			i.Parent = n[:dot]
		}
		i.Type, i.MgmtOnly = IfType(n, "", i.SpeedKbps)
		if i.Type == "virtual" {
			i.SpeedKbps = 0
		}
		if m := strings.TrimPrefix(e.InterfaceMembership, "Member of "); m != e.InterfaceMembership {
			i.LAG = m
		}
		for _, a := range e.InterfaceAddress {
			if p, ok := eosPrefix(a.PrimaryIP); ok {
				i.Addresses = append(i.Addresses, drivers.Address{Prefix: p})
			}
			for _, s := range a.SecondaryIPsOrderedList {
				if p, ok := eosPrefix(s); ok {
					i.Addresses = append(i.Addresses, drivers.Address{Prefix: p, Role: "secondary"})
				}
			}
		}
		d.Interfaces = append(d.Interfaces, i)
	}
	var v6 eosIPv6
	if _, err := runJSON(r, "show ipv6 interface | json", &v6, true); err != nil {
		return err
	}
	addrs := map[string][]drivers.Address{}
	for n, e := range v6.Interfaces {
		for _, a := range e.AddrList {
			ad, err := netip.ParseAddr(a.Address)
			sub, serr := netip.ParsePrefix(a.Subnet)
			if err != nil || serr != nil {
				return fmt.Errorf("show ipv6 interface | json: interface %s: bad address %q/%q", n, a.Address, a.Subnet)
			}
			if !ad.IsLinkLocalUnicast() {
				addrs[n] = append(addrs[n], drivers.Address{Prefix: netip.PrefixFrom(ad, sub.Bits())})
			}
		}
	}
	mergeAddresses(d.Interfaces, addrs, nil)
	var vl eosVlans
	if _, err := runJSON(r, "show vlan | json", &vl, true); err != nil {
		return err
	}
	access := map[string]int{}
	for id, e := range vl.Vlans {
		vid, err := strconv.Atoi(id)
		if err != nil {
			return fmt.Errorf("show vlan | json: bad VLAN id %q", id)
		}
		st := ""
		if e.Status != "active" {
			st = "reserved"
		}
		d.VLANs = append(d.VLANs, drivers.VLAN{VID: vid, Name: e.Name, Status: st})
		for ifn := range e.Interfaces {
			if _, dup := access[ifn]; dup {
				access[ifn] = -1 // in several VLANs: a trunk, not an access port
			} else {
				access[ifn] = vid
			}
		}
	}
	sort.Slice(d.VLANs, func(a, b int) bool { return d.VLANs[a].VID < d.VLANs[b].VID })
	for k := range d.Interfaces {
		if vid := access[d.Interfaces[k].Name]; vid > 0 {
			d.Interfaces[k].Mode, d.Interfaces[k].UntaggedVLAN = "access", vid
		}
	}
	return nil
}

func eosPrefix(ip eosIP) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip.Address)
	if err != nil || a.IsUnspecified() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ip.MaskLen), true
}

// sortIfNames orders Ethernet2 before Ethernet10.
func sortIfNames(n []string) {
	sort.Slice(n, func(a, b int) bool { return natLess(n[a], n[b]) })
}

func natLess(a, b string) bool {
	for a != "" && b != "" {
		ca, cb := a[0], b[0]
		if isDigit(ca) && isDigit(cb) {
			ia, ib := 0, 0
			for ia < len(a) && isDigit(a[ia]) {
				ia++
			}
			for ib < len(b) && isDigit(b[ib]) {
				ib++
			}
			na, _ := strconv.Atoi(a[:ia])
			nb, _ := strconv.Atoi(b[:ib])
			if na != nb {
				return na < nb
			}
			a, b = a[ia:], b[ib:]
			continue
		}
		if ca != cb {
			return ca < cb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// mapRunner answers commands from a map (tests and Parse* helpers);
// a missing command is unsupported, like "% Invalid input".
type mapRunner map[string]string

func (m mapRunner) Run(cmd string) (string, error) {
	if out, ok := m[cmd]; ok && out != "" {
		return out, nil
	}
	return "", fmt.Errorf("%s: %w", cmd, ErrUnsupportedCommand)
}
