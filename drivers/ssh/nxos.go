package ssh

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/orbd/orbd/drivers"
)

// Cisco NX-OS: `| json` everywhere. Its JSON nests rows as
// TABLE_x.ROW_x where either level may be an object or a list depending
// on the row count and release, and numbers may be quoted; nxRows and
// nxStr absorb both.

type nxRow map[string]any

func nxRows(v any, table, row string) []nxRow {
	var out []nxRow
	var walk func(v any, key string) []any
	walk = func(v any, key string) []any {
		switch x := v.(type) {
		case map[string]any:
			return []any{x[key]}
		case []any:
			var r []any
			for _, e := range x {
				r = append(r, walk(e, key)...)
			}
			return r
		}
		return nil
	}
	for _, t := range walk(v, table) {
		for _, r := range flatten(t) {
			for _, rr := range flatten(walk(r, row)) {
				if m, ok := rr.(map[string]any); ok {
					out = append(out, nxRow(m))
				}
			}
		}
	}
	return out
}

// flatten turns nested []any into one list of non-nil leaves.
func flatten(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var r []any
		for _, e := range x {
			r = append(r, flatten(e)...)
		}
		return r
	}
	return []any{v}
}

func (r nxRow) str(k string) string {
	v, ok := r[k]
	if !ok || v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

func (r nxRow) num(k string) int64 {
	n, _ := strconv.ParseInt(r.str(k), 10, 64)
	return n
}

func nxJSON(r runner, cmd string, opt bool) (any, error) {
	var v any
	ok, err := runJSON(r, cmd, &v, opt)
	if err != nil || !ok {
		return nil, err
	}
	return v, nil
}

func collectNXOS(r runner, d *drivers.Device, captureConfig bool) error {
	v, err := nxJSON(r, "show version | json", false)
	if err != nil {
		return err
	}
	ver, _ := v.(map[string]any)
	vr := nxRow(ver)
	d.Name, d.OSVersion, d.Serial, d.Platform = vr.str("host_name"), vr.str("nxos_ver_str"), vr.str("proc_board_id"), "NX-OS"
	if d.OSVersion == "" {
		d.OSVersion = vr.str("kickstart_ver_str")
	}
	if d.OSVersion == "" {
		return fmt.Errorf("show version | json: no nxos_ver_str")
	}
	d.Uptime = time.Duration(vr.num("kern_uptm_days"))*24*time.Hour + time.Duration(vr.num("kern_uptm_hrs"))*time.Hour +
		time.Duration(vr.num("kern_uptm_mins"))*time.Minute + time.Duration(vr.num("kern_uptm_secs"))*time.Second
	if inv, err := nxJSON(r, "show inventory | json", true); err != nil {
		return err
	} else if inv != nil {
		for k, row := range nxRows(inv, "TABLE_inv", "ROW_inv") {
			if k == 0 {
				d.Model = row.str("productid")
				setIfEmpty(&d.Serial, row.str("serialnum"))
				continue
			}
			sn := row.str("serialnum")
			if sn == "N/A" {
				sn = ""
			}
			d.Modules = append(d.Modules, drivers.Module{Bay: row.str("name"), Model: row.str("productid"), Serial: sn, Description: row.str("desc")})
		}
	}
	ifv, err := nxJSON(r, "show interface | json", false)
	if err != nil {
		return err
	}
	rows := nxRows(ifv, "TABLE_interface", "ROW_interface")
	if len(rows) == 0 {
		return fmt.Errorf("show interface | json: no interfaces")
	}
	for _, row := range rows {
		name := row.str("interface")
		svi := row.str("svi_admin_state") != ""
		i := drivers.Interface{Name: name}
		if svi {
			en := row.str("svi_admin_state") == "up"
			i.Enabled, i.Description, i.MAC = &en, row.str("svi_desc"), ciscoMAC(row.str("svi_mac"))
			i.MTU = int(row.num("svi_mtu"))
		} else {
			en := row.str("admin_state") != "down"
			i.Enabled, i.Description, i.MAC = &en, row.str("desc"), ciscoMAC(row.str("eth_hw_addr"))
			i.MTU = int(row.num("eth_mtu"))
			i.SpeedKbps = row.num("eth_bw")
		}
		if dot := strings.LastIndex(name, "."); dot > 0 {
			i.Parent = name[:dot]
		}
		i.Type, i.MgmtOnly = IfType(name, "", i.SpeedKbps)
		if i.Type == "virtual" {
			i.SpeedKbps = 0
		}
		if b := row.str("eth_bundle"); b != "" {
			i.LAG = "port-channel" + b
		}
		d.Interfaces = append(d.Interfaces, i)
	}
	addrs := map[string][]drivers.Address{}
	vrfs := map[string]string{}
	if ipv, err := nxJSON(r, "show ip interface vrf all | json", true); err != nil {
		return err
	} else if ipv != nil {
		for _, row := range nxRows(ipv, "TABLE_intf", "ROW_intf") {
			n := row.str("intf-name")
			if p, ok := nxPrefix(row.str("prefix"), row.str("masklen")); ok {
				addrs[n] = append(addrs[n], drivers.Address{Prefix: p})
			}
			for _, s := range nxRows(map[string]any(row), "TABLE_secondary_address", "ROW_secondary_address") {
				if p, ok := nxPrefix(s.str("prefix1"), s.str("masklen1")); ok {
					addrs[n] = append(addrs[n], drivers.Address{Prefix: p, Role: "secondary"})
				}
			}
			if v := row.str("vrf-name-out"); v != "" && v != "default" {
				vrfs[n] = v
			}
		}
	}
	if v6, err := nxJSON(r, "show ipv6 interface vrf all | json", true); err != nil {
		return err
	} else if v6 != nil {
		for _, row := range nxRows(v6, "TABLE_intf", "ROW_intf") {
			n := row.str("intf-name")
			for _, a := range nxRows(map[string]any(row), "TABLE_addr", "ROW_addr") {
				p, err := netip.ParsePrefix(a.str("addr"))
				if err != nil {
					return fmt.Errorf("show ipv6 interface vrf all | json: interface %s: bad address %q", n, a.str("addr"))
				}
				if !p.Addr().IsLinkLocalUnicast() {
					addrs[n] = append(addrs[n], drivers.Address{Prefix: p})
				}
			}
		}
	}
	mergeAddresses(d.Interfaces, addrs, vrfs)
	if vl, err := nxJSON(r, "show vlan brief | json", true); err != nil {
		return err
	} else if vl != nil {
		access := map[string]int{}
		for _, row := range nxRows(vl, "TABLE_vlanbriefxbrief", "ROW_vlanbriefxbrief") {
			vid := int(row.num("vlanshowbr-vlanid"))
			if vid == 0 {
				continue
			}
			st := ""
			if row.str("vlanshowbr-vlanstate") != "active" || row.str("vlanshowbr-shutstate") == "shutdown" {
				st = "reserved"
			}
			d.VLANs = append(d.VLANs, drivers.VLAN{VID: vid, Name: row.str("vlanshowbr-vlanname"), Status: st})
			for _, p := range expandNXPorts(row.str("vlanshowplist-ifidx")) {
				access[strings.ToLower(p)] = vid
			}
		}
		for k := range d.Interfaces {
			if vid, ok := access[strings.ToLower(d.Interfaces[k].Name)]; ok {
				d.Interfaces[k].Mode, d.Interfaces[k].UntaggedVLAN = "access", vid
			}
		}
	}
	return captureRunning(r, d, captureConfig, "show running-config")
}

func nxPrefix(ip, mask string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	bits, err := strconv.Atoi(mask)
	if err != nil || bits < 0 || bits > a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits), true
}

// expandNXPorts reads "Ethernet1/5-7, port-channel10".
func expandNXPorts(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		slash := strings.LastIndexByte(p, '/')
		dash := strings.LastIndexByte(p, '-')
		if slash > 0 && dash > slash {
			from, err1 := strconv.Atoi(p[slash+1 : dash])
			to, err2 := strconv.Atoi(p[dash+1:])
			if err1 == nil && err2 == nil && to >= from && to-from < 1024 {
				for n := from; n <= to; n++ {
					out = append(out, p[:slash+1]+strconv.Itoa(n))
				}
				continue
			}
		}
		out = append(out, p)
	}
	return out
}
