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

// Junos: the CLI's `| display json` and NETCONF's native RPCs return the
// same elements, mapped once here.

var junosVersionInComment = regexp.MustCompile(`\[([^\]]+)\]`)

// JunosDevice maps the replies of get-software-information,
// get-interface-information and get-chassis-inventory (any may be nil
// except software) into a Device.
func JunosDevice(sw, ifs, chassis *Node) (*drivers.Device, error) {
	si := sw.Find("software-information")
	if si == nil {
		return nil, errors.New("junos: no software-information in reply")
	}
	// multi-RE systems wrap it: multi-routing-engine-results/…/software-information
	d := &drivers.Device{Manufacturer: "Juniper", Platform: "Junos"}
	d.Name = si.Str("host-name")
	d.Model = strings.ToUpper(si.Str("product-model"))
	d.OSVersion = si.Str("junos-version")
	if d.OSVersion == "" {
		for _, p := range si.Children("package-information") {
			if m := junosVersionInComment.FindStringSubmatch(p.Str("comment")); m != nil {
				d.OSVersion = m[1]
				break
			}
		}
	}
	if d.Name == "" {
		return nil, errors.New("junos: software-information has no host-name")
	}
	if c := chassis.Find("chassis"); c != nil {
		d.Serial = c.Str("serial-number")
		if d.Model == "" {
			d.Model = c.Str("description")
		}
		for _, m := range c.Children("chassis-module") {
			if m.Str("serial-number") == "" && m.Str("model-number") == "" {
				continue
			}
			d.Modules = append(d.Modules, drivers.Module{Bay: m.Str("name"), Model: firstNonEmpty(m.Str("model-number"), m.Str("part-number")),
				Serial: m.Str("serial-number"), Description: m.Str("description"), Manufacturer: "Juniper"})
		}
	}
	if ii := ifs.Find("interface-information"); ii != nil {
		for _, p := range ii.Children("physical-interface") {
			phys, units, err := junosInterface(p)
			if err != nil {
				return nil, err
			}
			d.Interfaces = append(d.Interfaces, phys)
			d.Interfaces = append(d.Interfaces, units...)
		}
	}
	return d, nil
}

// JunosUptime reads get-system-uptime-information (CLI `show system
// uptime`): the booted time's length, else the up-time line, each carrying
// the seconds in a junos:seconds attribute. 0 when absent.
func JunosUptime(n *Node) time.Duration {
	for _, l := range []*Node{n.Find("system-booted-time").Child("time-length"), n.Find("up-time")} {
		if l == nil {
			continue
		}
		sec := l.Attrs["seconds"] // XML: the namespace prefix is dropped
		if sec == "" {
			sec = l.Attrs["junos:seconds"] // JSON
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(sec), 10, 64); err == nil && v > 0 {
			return time.Duration(v) * time.Second
		}
	}
	return 0
}

func junosInterface(p *Node) (drivers.Interface, []drivers.Interface, error) {
	name := p.Str("name")
	en := p.Str("admin-status") != "down"
	i := drivers.Interface{Name: name, Description: p.Str("description"), Enabled: &en,
		MAC: strings.ToLower(p.Str("current-physical-address"))}
	i.MTU, _ = strconv.Atoi(p.Str("mtu"))
	i.SpeedKbps = junosSpeed(p.Str("speed"))
	i.Type, i.MgmtOnly = IfType(name, "", i.SpeedKbps)
	var units []drivers.Interface
	for _, l := range p.Children("logical-interface") {
		un := l.Str("name")
		uen := en && l.Path("if-config-flags", "iff-down") == nil
		u := drivers.Interface{Name: un, Description: l.Str("description"), Enabled: &uen, Parent: name, Type: "virtual"}
		for _, af := range l.Children("address-family") {
			fam := af.Str("address-family-name")
			if fam == "aenet" {
				if b := af.Str("ae-bundle-name"); b != "" {
					i.LAG = strings.SplitN(b, ".", 2)[0]
				}
			}
			if fam != "inet" && fam != "inet6" {
				continue
			}
			if u.MTU == 0 {
				u.MTU, _ = strconv.Atoi(af.Str("mtu"))
			}
			for _, ia := range af.Children("interface-address") {
				loc := ia.Str("ifa-local")
				if loc == "" {
					continue
				}
				a, err := netip.ParseAddr(loc)
				if err != nil {
					return i, nil, fmt.Errorf("junos: interface %s: bad address %q", un, loc)
				}
				if a.IsLinkLocalUnicast() {
					continue
				}
				bits := a.BitLen()
				if dst := ia.Str("ifa-destination"); dst != "" {
					if pf, err := netip.ParsePrefix(dst); err == nil {
						bits = pf.Bits()
					}
				}
				u.Addresses = append(u.Addresses, drivers.Address{Prefix: netip.PrefixFrom(a, bits)})
			}
		}
		units = append(units, u)
	}
	return i, units, nil
}

// junosSpeed reads "1000mbps", "10Gbps", "100Gbps", "Unlimited", "Auto".
func junosSpeed(s string) int64 {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(0)
	switch {
	case strings.HasSuffix(s, "gbps"):
		mult, s = 1_000_000, strings.TrimSuffix(s, "gbps")
	case strings.HasSuffix(s, "mbps"):
		mult, s = 1_000, strings.TrimSuffix(s, "mbps")
	default:
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n * mult
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// collectJunos runs the Junos CLI with `| display json`.
func collectJunos(r runner, d *drivers.Device, captureConfig bool) error {
	get := func(cmd string, opt bool) (*Node, error) {
		var out string
		var err error
		if opt {
			out, err = optional(r, cmd)
		} else {
			out, err = r.Run(cmd)
		}
		if err != nil || out == "" {
			return nil, err
		}
		n, err := ParseJunosJSON([]byte(out))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		return n, nil
	}
	sw, err := get("show version | display json", false)
	if err != nil {
		return err
	}
	ifs, err := get("show interfaces | display json", false)
	if err != nil {
		return err
	}
	ch, err := get("show chassis hardware | display json", true)
	if err != nil {
		return err
	}
	up, err := get("show system uptime | display json", true)
	if err != nil {
		return err
	}
	jd, err := JunosDevice(sw, ifs, ch)
	if err != nil {
		return err
	}
	jd.Uptime = JunosUptime(up)
	mgmt := d.MgmtAddress
	*d = *jd
	d.MgmtAddress = mgmt
	return captureRunning(r, d, captureConfig, "show configuration")
}
