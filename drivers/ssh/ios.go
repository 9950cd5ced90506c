package ssh

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/orbd/orbd/drivers"
)

// Text parsers for Cisco IOS, IOS-XE and IOS-XR. Each is a table of line
// rules so a new release's wording is one more row, not new code.

// factRule sets one field of a Device from the first line matching re.
// Rules are tried in table order and a field, once set, is not
// overwritten, so earlier rows take priority (System Serial Number over
// Processor board ID).
type factRule struct {
	re  *regexp.Regexp
	set func(d *drivers.Device, m []string)
}

func setIfEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = strings.TrimSpace(v)
	}
}

var versionRules = []factRule{
	{regexp.MustCompile(`^Cisco IOS XR Software, Version (\S+?)(?:\[.*\])?\s*$`), func(d *drivers.Device, m []string) {
		setIfEmpty(&d.Platform, "IOS-XR")
		setIfEmpty(&d.OSVersion, m[1])
	}},
	{regexp.MustCompile(`^Cisco IOS XE Software, Version (\S+)`), func(d *drivers.Device, m []string) {
		setIfEmpty(&d.Platform, "IOS-XE")
		setIfEmpty(&d.OSVersion, m[1])
	}},
	{regexp.MustCompile(`^Cisco IOS Software.*, Version ([^,\s]+)`), func(d *drivers.Device, m []string) {
		setIfEmpty(&d.Platform, "IOS")
		setIfEmpty(&d.OSVersion, m[1])
	}},
	{regexp.MustCompile(`^IOS \(tm\) .*, Version ([^,\s]+)`), func(d *drivers.Device, m []string) {
		setIfEmpty(&d.Platform, "IOS")
		setIfEmpty(&d.OSVersion, m[1])
	}},
	{regexp.MustCompile(`^(\S+) uptime is (.+)$`), func(d *drivers.Device, m []string) {
		if m[1] != "System" { // IOS-XR 7: "System uptime is …"
			setIfEmpty(&d.Name, m[1])
		}
		if d.Uptime == 0 {
			d.Uptime = parseCiscoUptime(m[2])
		}
	}},
	{regexp.MustCompile(`^Model [Nn]umber\s*:\s*(\S+)`), func(d *drivers.Device, m []string) { setIfEmpty(&d.Model, m[1]) }},
	{regexp.MustCompile(`^cisco (.+?) Series \(`), func(d *drivers.Device, m []string) { setIfEmpty(&d.Model, m[1]) }}, // IOS-XR 6: "cisco IOS XRv Series (…) processor"
	{regexp.MustCompile(`^[Cc]isco (\S+) (?:\(.*?\) )?(?:processor|with|Series)`), func(d *drivers.Device, m []string) { setIfEmpty(&d.Model, m[1]) }},
	{regexp.MustCompile(`^System [Ss]erial [Nn]umber\s*:\s*(\S+)`), func(d *drivers.Device, m []string) { setIfEmpty(&d.Serial, m[1]) }},
	{regexp.MustCompile(`^Processor board ID (\S+)`), func(d *drivers.Device, m []string) { setIfEmpty(&d.Serial, m[1]) }},
	{regexp.MustCompile(`^Model [Rr]evision [Nn]umber\s*:\s*(\S+)`), func(d *drivers.Device, m []string) { setIfEmpty(&d.HardwareRev, m[1]) }},
}

// ParseIOSVersion reads `show version` of IOS, IOS-XE or IOS-XR.
func ParseIOSVersion(out string, d *drivers.Device) error {
	lines := splitLines(out)
	for _, r := range versionRules {
		for _, l := range lines {
			if m := r.re.FindStringSubmatch(l); m != nil {
				r.set(d, m)
				break
			}
		}
	}
	if d.OSVersion == "" {
		return fmt.Errorf("show version: no Cisco IOS version line in %d lines of output", len(lines))
	}
	return nil
}

var uptimeUnit = regexp.MustCompile(`(\d+)\s+(year|week|day|hour|minute|second)s?`)

// parseCiscoUptime reads "12 weeks, 3 days, 4 hours, 22 minutes".
func parseCiscoUptime(s string) time.Duration {
	var d time.Duration
	for _, m := range uptimeUnit.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{
			"year": 365 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "day": 24 * time.Hour,
			"hour": time.Hour, "minute": time.Minute, "second": time.Second,
		}[m[2]]
		d += time.Duration(n) * unit
	}
	return d
}

var (
	invName = regexp.MustCompile(`NAME:\s*"([^"]*)"\s*,\s*DESCR:\s*"([^"]*)"`)
	invPID  = regexp.MustCompile(`PID:\s*([^,]*?)\s*,\s*VID:\s*([^,]*?)\s*,\s*SN:\s*(\S*)`)
)

// ParseIOSInventory reads `show inventory` (IOS, IOS-XE, IOS-XR, NX-OS text).
// The first entry is the chassis: its PID is the model, its serial fills
// the one show version may lack; the others become modules.
func ParseIOSInventory(out string, d *drivers.Device) {
	var name, descr string
	first := true
	for _, l := range splitLines(out) {
		if m := invName.FindStringSubmatch(l); m != nil {
			name, descr = m[1], m[2]
			continue
		}
		m := invPID.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		pid, serial := strings.TrimSpace(m[1]), strings.TrimSpace(m[3])
		if first {
			// the chassis PID (ASR-9006-AC-V2) beats show version's family name (ASR9K)
			first = false
			if pid != "" {
				d.Model = pid
			}
			setIfEmpty(&d.Serial, serial)
			continue
		}
		if pid == "" && serial == "" || serial != "" && serial == d.Serial && pid == d.Model {
			continue // empty, or the chassis listed again (stack member 1)
		}
		d.Modules = append(d.Modules, drivers.Module{Bay: name, Model: pid, Serial: serial, Description: descr})
	}
}

// ifHeader matches the first line of an interface block in show interfaces,
// show ip interface, show ipv4/ipv6 interface on IOS and IOS-XR.
var ifHeader = regexp.MustCompile(`^(\S+) is (administratively down|up|down|deleted|Up|Down|Shutdown|Administratively Down)(?:\s*\([^)]*\))?,\s*(?:line|ipv4|ipv6) protocol is`)

type ifRule struct {
	kw  string // literal the line must contain; skips the regexp on most lines
	re  *regexp.Regexp
	set func(st *iosIfState, m []string)
}

type iosIfState struct {
	i         *drivers.Interface
	media     string
	members   []string
	bw        int64 // "BW n Kbit": a routing metric, the speed only of LAGs
	lineSpeed int64 // "Full-duplex, 1000Mb/s"; 0 when auto/unknown
}

var iosIfRules = []ifRule{
	{"Hardware is", regexp.MustCompile(`^\s+Hardware is (.*?)(?:, address is ([0-9a-fA-F.]+))?(?: \(bia .*\))?$`), func(st *iosIfState, m []string) {
		if m[2] != "" {
			st.i.MAC = ciscoMAC(m[2])
		}
		if strings.Contains(strings.ToLower(m[1]), "sfp") {
			st.media = m[1]
		}
	}},
	{"Description: ", regexp.MustCompile(`^\s+Description: (.*)$`), func(st *iosIfState, m []string) { st.i.Description = strings.TrimSpace(m[1]) }},
	{"MTU ", regexp.MustCompile(`^\s+MTU (\d+) bytes, BW (\d+) Kbit`), func(st *iosIfState, m []string) {
		st.i.MTU, _ = strconv.Atoi(m[1])
		st.bw, _ = strconv.ParseInt(m[2], 10, 64)
	}},
	{"uplex", regexp.MustCompile(`(?i)^\s+(?:full|half|auto)[- ]duplex, (\d+)\s?(M|G)b(?:/s|ps)(?:,.*media type is (.*))?`), func(st *iosIfState, m []string) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if strings.EqualFold(m[2], "G") {
			n *= 1000
		}
		st.lineSpeed = n * 1000
		if m[3] != "" {
			st.media = m[3]
		}
	}},
	{"media type is", regexp.MustCompile(`^\s+(?:.*, )?media type is (.*)$`), func(st *iosIfState, m []string) { st.media = m[1] }},
	{"Members in this channel", regexp.MustCompile(`^\s+Members in this channel: (.*)$`), func(st *iosIfState, m []string) {
		st.members = append(st.members, strings.Fields(m[1])...)
	}},
	// IOS-XR bundle members: "    TenGigE0/0/0/0   Full-duplex  10000Mb/s   Active"
	{"uplex", regexp.MustCompile(`^\s{4,}(\S+\d)\s+\S+-duplex\s+\d+\S*\s+\S+`), func(st *iosIfState, m []string) {
		st.members = append(st.members, m[1])
	}},
}

// ParseIOSInterfaces reads `show interfaces` (IOS, IOS-XE, IOS-XR).
func ParseIOSInterfaces(out string) ([]drivers.Interface, error) {
	var (
		res    []drivers.Interface
		states []*iosIfState
		cur    *iosIfState
	)
	flush := func() {
		if cur != nil {
			states = append(states, cur)
		}
	}
	for _, l := range splitLines(out) {
		if l == "" {
			continue
		}
		if l[0] != ' ' && strings.Contains(l, " is ") {
			m := ifHeader.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			flush()
			enabled := !strings.EqualFold(m[2], "administratively down") && !strings.EqualFold(m[2], "shutdown")
			cur = &iosIfState{i: &drivers.Interface{Name: m[1], Enabled: &enabled}}
			continue
		}
		if cur == nil {
			continue
		}
		for _, r := range iosIfRules {
			if !strings.Contains(l, r.kw) {
				continue
			}
			if mm := r.re.FindStringSubmatch(l); mm != nil {
				r.set(cur, mm)
				break
			}
		}
	}
	flush()
	if len(states) == 0 {
		return nil, errors.New("show interfaces: no interface found in output")
	}
	byShort := map[string]int{}
	for _, st := range states {
		i := st.i
		if dot := strings.LastIndex(i.Name, "."); dot > 0 {
			i.Parent = i.Name[:dot]
		}
		i.Type, i.MgmtOnly = IfType(i.Name, st.media, st.lineSpeed)
		switch i.Type {
		case "virtual": // BW is a routing metric there
		case "lag":
			i.SpeedKbps = st.bw // the aggregate; the duplex line shows a member's
		default:
			i.SpeedKbps = st.lineSpeed
		}
		byShort[shortIf(i.Name)] = len(res)
		res = append(res, *i)
	}
	for _, st := range states {
		for _, mem := range st.members {
			if k, ok := byShort[shortIf(mem)]; ok {
				res[k].LAG = st.i.Name
			}
		}
	}
	return res, nil
}

var (
	ipPrimary   = regexp.MustCompile(`^\s+Internet address is (\d+\.\d+\.\d+\.\d+/\d+)`)
	ipSecondary = regexp.MustCompile(`^\s+Secondary address (\d+\.\d+\.\d+\.\d+/\d+)`)
	ipv6Global  = regexp.MustCompile(`^\s+([0-9A-Fa-f:]+:[0-9A-Fa-f:]*), subnet is [0-9A-Fa-f:]+/(\d+)`)
	ipVrf       = regexp.MustCompile(`^\s+(?:VPN Routing/Forwarding "([^"]+)"|Vrf is (\S+))`)
)

// ParseIOSAddresses reads `show ip interface`, `show ipv4 interface` or
// `show ipv6 interface` and returns addresses and VRFs per interface name.
// IPv6 link-local addresses are left out: they repeat on every device and
// NetBox would merge them into one object.
func ParseIOSAddresses(out string) (addrs map[string][]drivers.Address, vrfs map[string]string, err error) {
	addrs = map[string][]drivers.Address{}
	vrfs = map[string]string{}
	cur := ""
	for _, l := range splitLines(out) {
		if m := ifHeader.FindStringSubmatch(l); m != nil {
			cur = m[1]
			continue
		}
		if cur == "" {
			continue
		}
		switch {
		case ipPrimary.MatchString(l):
			p, perr := netip.ParsePrefix(ipPrimary.FindStringSubmatch(l)[1])
			if perr != nil {
				return nil, nil, fmt.Errorf("interface %s: %w", cur, perr)
			}
			addrs[cur] = append(addrs[cur], drivers.Address{Prefix: p})
		case ipSecondary.MatchString(l):
			p, perr := netip.ParsePrefix(ipSecondary.FindStringSubmatch(l)[1])
			if perr != nil {
				return nil, nil, fmt.Errorf("interface %s: %w", cur, perr)
			}
			addrs[cur] = append(addrs[cur], drivers.Address{Prefix: p, Role: "secondary"})
		case ipv6Global.MatchString(l):
			m := ipv6Global.FindStringSubmatch(l)
			a, aerr := netip.ParseAddr(strings.ToLower(m[1]))
			bits, _ := strconv.Atoi(m[2])
			if aerr != nil {
				return nil, nil, fmt.Errorf("interface %s: %w", cur, aerr)
			}
			if a.IsLinkLocalUnicast() {
				continue
			}
			addrs[cur] = append(addrs[cur], drivers.Address{Prefix: netip.PrefixFrom(a, bits)})
		case ipVrf.MatchString(l):
			m := ipVrf.FindStringSubmatch(l)
			v := m[1] + m[2]
			if v != "default" {
				vrfs[cur] = v
			}
		}
	}
	return addrs, vrfs, nil
}

var vlanRow = regexp.MustCompile(`^(\d{1,4})\s+(\S+)\s+(active|suspended|act/lshut|sus/lshut|act/unsup|act/ishut|sus/ishut)\s*(.*)$`)

// ParseIOSVlans reads `show vlan brief` and the access ports of each VLAN.
// The 1002-1005 FDDI/Token Ring VLANs every IOS switch lists are skipped.
func ParseIOSVlans(out string) (vlans []drivers.VLAN, access map[string]int) {
	access = map[string]int{}
	cur := 0
	for _, l := range splitLines(out) {
		if m := vlanRow.FindStringSubmatch(l); m != nil {
			vid, _ := strconv.Atoi(m[1])
			cur = 0
			if m[3] == "act/unsup" {
				continue
			}
			st := ""
			if !strings.HasPrefix(m[3], "act") || strings.Contains(m[3], "shut") {
				st = "reserved"
			}
			vlans = append(vlans, drivers.VLAN{VID: vid, Name: m[2], Status: st})
			cur = vid
			addPorts(access, m[4], vid)
			continue
		}
		if cur != 0 && strings.HasPrefix(l, " ") {
			addPorts(access, l, cur)
		} else {
			cur = 0
		}
	}
	return vlans, access
}

func addPorts(access map[string]int, list string, vid int) {
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			access[shortIf(p)] = vid
		}
	}
}

// ciscoMAC turns 0050.56bf.1234 into 00:50:56:bf:12:34.
func ciscoMAC(s string) string {
	h := strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ":", "")
	if len(h) != 12 {
		return ""
	}
	h = strings.ToLower(h)
	if h == "000000000000" {
		return ""
	}
	return h[0:2] + ":" + h[2:4] + ":" + h[4:6] + ":" + h[6:8] + ":" + h[8:10] + ":" + h[10:12]
}

func splitLines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
}

// mergeAddresses attaches addresses and VRFs to interfaces by name.
func mergeAddresses(ifs []drivers.Interface, addrs map[string][]drivers.Address, vrfs map[string]string) {
	idx := map[string]int{}
	for k := range ifs {
		idx[ifs[k].Name] = k
		idx[shortIf(ifs[k].Name)] = k
	}
	for name, as := range addrs {
		k, ok := idx[name]
		if !ok {
			k, ok = idx[shortIf(name)]
		}
		if !ok {
			continue
		}
		for _, a := range as {
			if !hasAddr(ifs[k].Addresses, a.Prefix) {
				ifs[k].Addresses = append(ifs[k].Addresses, a)
			}
		}
	}
	for name, v := range vrfs {
		if k, ok := idx[name]; ok {
			ifs[k].VRF = v
		}
	}
}

func hasAddr(as []drivers.Address, p netip.Prefix) bool {
	for _, a := range as {
		if a.Prefix == p {
			return true
		}
	}
	return false
}

// ciscoCommands is the command set of one Cisco text CLI; IOS/IOS-XE and
// IOS-XR differ only in these rows (IOS-XR takes its hostname from the
// prompt, see Discover).
type ciscoCommands struct {
	addresses []string // address tables, each optional (no IPv6 on some images)
	vlans     string   // VLAN table with access ports; "" = none
}

var (
	iosCommands   = ciscoCommands{addresses: []string{"show ip interface", "show ipv6 interface"}, vlans: "show vlan brief"}
	iosxrCommands = ciscoCommands{addresses: []string{"show ipv4 interface", "show ipv6 interface"}}
)

// collectIOS runs the IOS / IOS-XE command set.
func collectIOS(r runner, d *drivers.Device, captureConfig bool) error {
	return iosCommands.collect(r, d, captureConfig)
}

// collectIOSXR runs the IOS-XR command set.
func collectIOSXR(r runner, d *drivers.Device, captureConfig bool) error {
	return iosxrCommands.collect(r, d, captureConfig)
}

func (c ciscoCommands) collect(r runner, d *drivers.Device, captureConfig bool) error {
	out, err := r.Run("show version")
	if err != nil {
		return err
	}
	if err := ParseIOSVersion(out, d); err != nil {
		return err
	}
	if out, err = optional(r, "show inventory"); err != nil {
		return err
	}
	ParseIOSInventory(out, d)
	if out, err = r.Run("show interfaces"); err != nil {
		return err
	}
	ifs, err := ParseIOSInterfaces(out)
	if err != nil {
		return err
	}
	for _, cmd := range c.addresses {
		out, err := optional(r, cmd)
		if err != nil {
			return err
		}
		addrs, vrfs, err := ParseIOSAddresses(out)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		mergeAddresses(ifs, addrs, vrfs)
	}
	if c.vlans != "" {
		if out, err = optional(r, c.vlans); err != nil {
			return err
		}
		vlans, access := ParseIOSVlans(out)
		d.VLANs = vlans
		for k := range ifs {
			if vid, ok := access[shortIf(ifs[k].Name)]; ok {
				ifs[k].Mode, ifs[k].UntaggedVLAN = "access", vid
			}
		}
	}
	d.Interfaces = ifs
	return captureRunning(r, d, captureConfig, "show running-config")
}

func captureRunning(r runner, d *drivers.Device, capture bool, cmd string) error {
	if !capture {
		return nil
	}
	out, err := r.Run(cmd)
	if err != nil {
		return err
	}
	d.Config = MaskSecrets(strings.TrimSpace(out))
	return nil
}
