package snmp

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/orbd/orbd/drivers"
)

// ENTITY-MIB PhysicalClass values.
const (
	entClassPowerSupply = 6
	entClassChassis     = 3
	entClassModule      = 9
)

// rows groups a table's varbinds by index, then by column position.
func rows(vbs []varbind) (map[string]map[int]gosnmp.SnmpPDU, []string) {
	out := map[string]map[int]gosnmp.SnmpPDU{}
	var order []string
	for _, v := range vbs {
		r, ok := out[v.index]
		if !ok {
			r = map[int]gosnmp.SnmpPDU{}
			out[v.index] = r
			order = append(order, v.index)
		}
		r[v.col] = v.pdu
	}
	sort.Slice(order, func(i, j int) bool { return oidLess(order[i], order[j]) })
	return out, order
}

// build turns the walked tables into one Device.
func (d *Driver) build(t drivers.Target, sys sysInfo, w map[string][]varbind) drivers.Device {
	info := parseSysDescr(sys.descr)
	dev := drivers.Device{
		Name:        sys.name,
		Description: firstLine(sys.descr),
		Location:    sys.location,
		Platform:    info.Platform,
		OSVersion:   info.Version,
		Uptime:      sys.uptime,
		MgmtAddress: mgmtAddr(t),
	}
	if dev.Name == "" {
		dev.Name = t.Host
	}
	if ent, ok := enterpriseOf(sys.objectID); ok {
		dev.Manufacturer = enterprises[ent]
	}
	if dev.Manufacturer == "" {
		dev.Manufacturer = info.Manufacturer
	}

	// Interfaces, keyed by ifIndex.
	byIndex := map[int]*drivers.Interface{}
	var indexes []int
	iface := func(idx int) *drivers.Interface {
		if it, ok := byIndex[idx]; ok {
			return it
		}
		it := &drivers.Interface{}
		byIndex[idx] = it
		indexes = append(indexes, idx)
		return it
	}
	ifTypes := map[int]int{}
	speedBps := map[int]int64{}
	ifRows, order := rows(w["ifTable"])
	for _, ix := range order {
		idx, err := strconv.Atoi(ix)
		if err != nil {
			continue
		}
		r := ifRows[ix]
		it := iface(idx)
		if v, ok := r[ifDescr]; ok {
			it.Name = pduString(v)
		}
		if v, ok := r[ifType]; ok {
			ifTypes[idx] = int(pduInt(v))
		}
		if v, ok := r[ifMtu]; ok {
			it.MTU = int(pduInt(v))
		}
		if v, ok := r[ifSpeed]; ok {
			speedBps[idx] = pduInt(v)
		}
		if v, ok := r[ifPhysAddress]; ok {
			it.MAC = formatMAC(pduBytes(v))
		}
		if v, ok := r[ifAdminStatus]; ok {
			en := pduInt(v) == 1
			it.Enabled = &en
		}
	}
	xRows, order := rows(w["ifXTable"])
	for _, ix := range order {
		idx, err := strconv.Atoi(ix)
		if err != nil {
			continue
		}
		r := xRows[ix]
		it := iface(idx)
		if v, ok := r[ifName]; ok {
			if n := pduString(v); n != "" {
				it.Name = n // ifName is the short CLI name; ifDescr is the fallback
			}
		}
		if v, ok := r[ifHighSpeed]; ok && pduInt(v) > 0 {
			it.SpeedKbps = pduInt(v) * 1000
		}
		if v, ok := r[ifAlias]; ok {
			it.Description = pduString(v)
		}
	}
	for idx, it := range byIndex {
		if it.SpeedKbps == 0 && speedBps[idx] > 0 && speedBps[idx] < 4294967295 {
			it.SpeedKbps = speedBps[idx] / 1000
		}
		if it.Name == "" {
			it.Name = "ifIndex" + strconv.Itoa(idx)
		}
		it.Type = ifTypeSlug(ifTypes[idx], it.SpeedKbps, it.Name)
	}

	// Addresses: ipAddressTable (v4+v6) and ipAddrTable (v4, masks), merged.
	type addrKey struct {
		idx  int
		addr netip.Addr
	}
	addrs := map[addrKey]drivers.Address{}
	var addrOrder []addrKey
	orphans := 0 // addresses on an ifIndex the ifTable does not list
	addAddr := func(idx int, p netip.Prefix, role string) {
		if !p.IsValid() {
			return
		}
		if _, ok := byIndex[idx]; !ok {
			orphans++
			return
		}
		if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			return // fe80::/10 repeats everywhere; not IPAM data
		}
		k := addrKey{idx, p.Addr()}
		if old, ok := addrs[k]; ok {
			// Keep the more specific information: a real prefix over a host-length guess.
			if old.Prefix.Bits() == p.Addr().BitLen() && p.Bits() != p.Addr().BitLen() {
				old.Prefix = p
			}
			if old.Role == "" {
				old.Role = role
			}
			addrs[k] = old
			return
		}
		addrs[k] = drivers.Address{Prefix: p, Role: role}
		addrOrder = append(addrOrder, k)
	}
	v4Rows, order := rows(w["ipAddrTable"])
	for _, ix := range order {
		a, err := netip.ParseAddr(ix)
		if err != nil || !a.Is4() {
			continue
		}
		r := v4Rows[ix]
		bits := 32
		if v, ok := r[ipAdNetMask]; ok {
			if m, ok := maskBits(v); ok {
				bits = m
			}
		}
		if v, ok := r[ipAdIfIndex]; ok {
			addAddr(int(pduInt(v)), netip.PrefixFrom(a, bits), "")
		}
	}
	aRows, order := rows(w["ipAddressTable"])
	for _, ix := range order {
		a, ok := parseInetIndex(ix)
		if !ok {
			continue
		}
		r := aRows[ix]
		v, ok := r[ipaIfIndex]
		if !ok {
			continue
		}
		role := ""
		if tv, ok := r[ipaType]; ok {
			switch pduInt(tv) {
			case 2:
				role = "anycast"
			case 3:
				continue // broadcast entries are not addresses of the interface
			}
		}
		bits := a.BitLen()
		if pv, ok := r[ipaPrefix]; ok {
			if s, ok := pv.Value.(string); ok {
				if b, ok := prefixLenFromPointer(s, a.BitLen()); ok {
					bits = b
				}
			}
		}
		addAddr(int(pduInt(v)), netip.PrefixFrom(a, bits), role)
	}
	for _, k := range addrOrder {
		it := byIndex[k.idx]
		it.Addresses = append(it.Addresses, addrs[k])
	}
	if orphans > 0 && d.log != nil {
		// Not an error: agents list addresses of hidden or internal interfaces.
		d.log.Debug("addresses on interfaces missing from ifTable skipped", "target", t.String(), "addresses", orphans)
	}

	// LAG membership: a port attached to another interface's aggregator.
	for _, v := range w["dot3adAggPortAttachedAggID"] {
		member, err := strconv.Atoi(v.index)
		agg := int(pduInt(v.pdu))
		if err != nil || agg == 0 || agg == member {
			continue
		}
		if m, ok := byIndex[member]; ok {
			if a, ok := byIndex[agg]; ok {
				m.LAG = a.Name
			}
		}
	}

	ports(w, byIndex)
	if d.vrfs {
		interfaceVRFs(w, byIndex)
	}

	sort.Ints(indexes)
	names := map[string]bool{}
	for _, idx := range indexes {
		names[byIndex[idx].Name] = true
	}
	for _, idx := range indexes {
		it := byIndex[idx]
		if i := strings.LastIndex(it.Name, "."); i > 0 && names[it.Name[:i]] {
			it.Parent = it.Name[:i]
		}
		dev.Interfaces = append(dev.Interfaces, *it)
	}

	// ENTITY-MIB: the chassis gives serial/model/revision; modules optional.
	eRows, order := rows(w["entPhysicalTable"])
	chassis := ""
	for _, ix := range order {
		r := eRows[ix]
		if pduInt(r[entClass]) != entClassChassis {
			continue
		}
		if chassis == "" || (pduInt(r[entContainedIn]) == 0 && pduInt(eRows[chassis][entContainedIn]) != 0) {
			chassis = ix
		}
	}
	if chassis != "" {
		r := eRows[chassis]
		dev.Serial = pduString(r[entSerial])
		dev.HardwareRev = pduString(r[entHwRev])
		dev.PartNumber = pduString(r[entModel])
		dev.Model = dev.PartNumber
	}
	if dev.Model == "" {
		dev.Model = info.Model
	}
	if m, ok := d.models[sys.objectID]; ok {
		dev.Model = m // the operator's table wins
	}
	if d.modules {
		for _, ix := range order {
			r := eRows[ix]
			c := pduInt(r[entClass])
			if c != entClassModule && c != entClassPowerSupply {
				continue
			}
			m := drivers.Module{
				Bay:          pduString(r[entName]),
				Model:        pduString(r[entModel]),
				Serial:       pduString(r[entSerial]),
				Description:  pduString(r[entDescr]),
				Manufacturer: pduString(r[entMfg]),
			}
			if m.Model == "" && m.Serial == "" {
				continue
			}
			if m.Bay == "" {
				m.Bay = "entPhysicalIndex " + ix
			}
			dev.Modules = append(dev.Modules, m)
		}
	}

	// VLANs: Q-BRIDGE where present, CISCO-VTP-MIB on Cisco.
	seen := map[int]bool{}
	for _, v := range w["dot1qVlanStaticTable"] {
		vid, err := strconv.Atoi(v.index)
		if v.col != vlanStName || err != nil || vid < 1 || vid > 4094 || seen[vid] {
			continue
		}
		seen[vid] = true
		dev.VLANs = append(dev.VLANs, drivers.VLAN{VID: vid, Name: pduString(v.pdu)})
	}
	for _, v := range w["vtpVlanName"] {
		_, vidStr, ok := strings.Cut(v.index, ".") // managementDomainIndex.vtpVlanIndex
		if !ok {
			continue
		}
		vid, err := strconv.Atoi(vidStr)
		if err != nil || vid < 1 || vid > 4094 || seen[vid] || (vid >= 1002 && vid <= 1005) {
			continue
		}
		seen[vid] = true
		dev.VLANs = append(dev.VLANs, drivers.VLAN{VID: vid, Name: pduString(v.pdu)})
	}
	sort.Slice(dev.VLANs, func(i, j int) bool { return dev.VLANs[i].VID < dev.VLANs[j].VID })
	return dev
}

// formatMAC renders a 6-octet ifPhysAddress; anything else is not a MAC.
func formatMAC(b []byte) string {
	if len(b) != 6 {
		return ""
	}
	allZero := true
	for _, x := range b {
		if x != 0 {
			allZero = false
		}
	}
	if allZero {
		return ""
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// maskBits converts a dotted netmask IpAddress to a prefix length; a
// non-contiguous mask is rejected.
func maskBits(v gosnmp.SnmpPDU) (int, bool) {
	var b []byte
	switch x := v.Value.(type) {
	case string:
		a, err := netip.ParseAddr(x)
		if err != nil || !a.Is4() {
			return 0, false
		}
		a4 := a.As4()
		b = a4[:]
	case []byte:
		b = x
	default:
		return 0, false
	}
	if len(b) != 4 {
		return 0, false
	}
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for m&0x80000000 != 0 {
		bits++
		m <<= 1
	}
	if m != 0 {
		return 0, false
	}
	return bits, true
}

// parseInetIndex decodes an ipAddressTable index: InetAddressType then a
// length-prefixed InetAddress (ipv4 1, ipv6 2, ipv4z 3, ipv6z 4; zones dropped).
func parseInetIndex(ix string) (netip.Addr, bool) {
	parts := strings.Split(ix, ".")
	if len(parts) < 3 {
		return netip.Addr{}, false
	}
	typ, err1 := strconv.Atoi(parts[0])
	n, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || len(parts) != 2+n {
		return netip.Addr{}, false
	}
	b := make([]byte, n)
	for i := 0; i < n; i++ {
		x, err := strconv.Atoi(parts[2+i])
		if err != nil || x < 0 || x > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(x)
	}
	switch {
	case (typ == 1 && n == 4) || (typ == 3 && n == 8):
		return netip.AddrFrom4([4]byte(b[:4])), true
	case (typ == 2 && n == 16) || (typ == 4 && n == 20):
		return netip.AddrFrom16([16]byte(b[:16])), true
	}
	return netip.Addr{}, false
}

// prefixLenFromPointer reads the prefix length from an ipAddressPrefix
// value, a RowPointer into ipAddressPrefixTable whose last sub-identifier
// is the length. zeroDotZero (unknown) yields false.
func prefixLenFromPointer(oid string, maxBits int) (int, bool) {
	o := strings.TrimPrefix(oid, ".")
	if !strings.HasPrefix(o, "1.3.6.1.2.1.4.32.1.") {
		return 0, false
	}
	i := strings.LastIndex(o, ".")
	n, err := strconv.Atoi(o[i+1:])
	if err != nil || n < 0 || n > maxBits {
		return 0, false
	}
	return n, true
}

// ports sets each bridge port's 802.1Q membership from Q-BRIDGE-MIB:
// dot1qPvid is the untagged (native) VLAN, and a VLAN whose static egress
// list holds the port but whose untagged list does not is tagged on it.
// Ports with tagged VLANs are "tagged", the others with a PVID "access".
// A VLAN id here may have no dot1qVlanStaticTable row (dynamic, GVRP):
// ingest decides by options.create_unknown_vlans whether it is created.
func ports(w map[string][]varbind, byIndex map[int]*drivers.Interface) {
	portIf := map[int]int{} // dot1dBasePort → ifIndex
	for _, v := range w["dot1dBasePortIfIndex"] {
		port, err := strconv.Atoi(v.index)
		if err == nil && port > 0 {
			portIf[port] = int(pduInt(v.pdu))
		}
	}
	if len(portIf) == 0 {
		return
	}
	ifOf := func(port int) *drivers.Interface {
		if idx, ok := portIf[port]; ok {
			return byIndex[idx]
		}
		return nil
	}
	for _, v := range w["dot1qPvid"] {
		port, err := strconv.Atoi(v.index)
		vid := int(pduInt(v.pdu))
		if err != nil || vid < 1 || vid > 4094 {
			continue
		}
		if it := ifOf(port); it != nil {
			it.UntaggedVLAN = vid
		}
	}
	vrows, order := rows(w["dot1qVlanStaticTable"])
	tagged := map[*drivers.Interface][]int{}
	for _, ix := range order {
		vid, err := strconv.Atoi(ix)
		if err != nil || vid < 1 || vid > 4094 {
			continue
		}
		r := vrows[ix]
		untagged := portSet(pduBytes(r[vlanStUntagged]))
		for port := range portSet(pduBytes(r[vlanStEgress])) {
			it := ifOf(port)
			if it == nil || untagged[port] || it.UntaggedVLAN == vid {
				continue
			}
			tagged[it] = append(tagged[it], vid)
		}
	}
	for _, it := range byIndex {
		if vids := tagged[it]; len(vids) > 0 {
			sort.Ints(vids)
			it.Mode, it.TaggedVLANs = "tagged", vids
		} else if it.UntaggedVLAN != 0 {
			it.Mode = "access"
		}
	}
}

// portSet decodes a Q-BRIDGE PortList: octet 0's high bit is port 1.
func portSet(b []byte) map[int]bool {
	out := map[int]bool{}
	for i, x := range b {
		for bit := 0; bit < 8; bit++ {
			if x&(0x80>>bit) != 0 {
				out[i*8+bit+1] = true
			}
		}
	}
	return out
}

// interfaceVRFs sets Interface.VRF from MPLS-L3VPN-STD-MIB, then from
// CISCO-VRF-MIB for interfaces the standard MIB did not place.
func interfaceVRFs(w map[string][]varbind, byIndex map[int]*drivers.Interface) {
	for _, v := range w["mplsL3VpnIfConfTable"] {
		name, rest, ok := octetIndex(v.index)
		if !ok || name == "" {
			continue
		}
		idx, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		if it, ok := byIndex[idx]; ok && it.VRF == "" {
			it.VRF = name
		}
	}
	names := map[string]string{} // cvVrfIndex → name
	for _, v := range w["cvVrfTable"] {
		if n := pduString(v.pdu); n != "" {
			names[v.index] = n
		}
	}
	for _, v := range w["cvVrfInterfaceTable"] {
		vrfIx, ifIx, ok := strings.Cut(v.index, ".")
		if !ok || pduInt(v.pdu) != 1 { // RowStatus active(1) only
			continue
		}
		idx, err := strconv.Atoi(ifIx)
		if err != nil {
			continue
		}
		if it, ok := byIndex[idx]; ok && it.VRF == "" && names[vrfIx] != "" {
			it.VRF = names[vrfIx]
		}
	}
}

// octetIndex decodes a length-prefixed OCTET STRING index component
// ("3.114.101.100.7" → "red", "7").
func octetIndex(ix string) (string, string, bool) {
	parts := strings.Split(ix, ".")
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 || len(parts) < 1+n {
		return "", "", false
	}
	b := make([]byte, n)
	for i := 0; i < n; i++ {
		x, err := strconv.Atoi(parts[1+i])
		if err != nil || x < 0 || x > 255 {
			return "", "", false
		}
		b[i] = byte(x)
	}
	return strings.TrimSpace(string(b)), strings.Join(parts[1+n:], "."), true
}
