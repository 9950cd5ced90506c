package ingest

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Undefined names the site, role, manufacturer, model and cluster type
// that NetBox requires but the source did not tell us. orb-agent uses the
// same placeholder, so objects created by either agent line up.
const Undefined = "undefined"

// MapOptions steer Entities beyond the policy defaults.
type MapOptions struct {
	// Now stamps every Entity (Diode requires a timestamp in the past).
	// Zero means a millisecond before time.Now().
	Now time.Time
	// EmitPrefixes derives a Prefix from each address (options.emit_prefixes).
	EmitPrefixes bool
	// NetboxID pins the device to an existing NetBox object: it travels as
	// metadata source_match.netbox_id (the diode-netbox-plugin's PK match).
	NetboxID int
	// DropUnknownVLANs is snmp_discovery's create_unknown_vlans: false. A
	// VLAN is unknown when the device lists no name for its id (no VLAN
	// row, or an empty name). Dropped: such VLANs are neither emitted nor
	// referenced from interfaces, so NetBox gets no "VLAN<vid>" objects
	// next to the real, named ones. Otherwise (the zero value, and every
	// other backend) they are created with the placeholder name VLAN<vid>.
	DropUnknownVLANs bool
}

// Entities maps one target's inventory to Diode entities.
//
// Mapping rules worth knowing (the rest is field-for-field):
//   - Driver facts win; defaults fill what the driver did not know (site,
//     role, model, manufacturer, platform, description). A missing site,
//     role, manufacturer or model becomes "undefined" (orb-agent's
//     convention) because NetBox cannot create a device without them.
//   - Platform is named "<OS> <version>" when the version is known, as
//     orb-agent's device_discovery does (NetBox has no OS version field).
//     defaults.device.platform, when set, is used verbatim instead.
//   - Interface type: the first matching defaults.interface_patterns entry,
//     else the driver's type, else defaults.interface.if_type, else "other".
//   - Shared objects (Site, Manufacturer, DeviceType, Platform, DeviceRole,
//     cluster types and groups) and derived Prefixes are emitted once per
//     call. Prefixes skip /32 and /128 host routes and link-local networks.
//   - Platform carries no manufacturer: NetBox would then refuse it for
//     devices of another vendor.
//   - Nested references are small matcher stubs; the full object rides on
//     its own top-level entity.
//
// Output order is deterministic for a given inventory. Invalid
// defaults.interface_patterns are ignored here; Run.Add reports them.
func Entities(inv *drivers.Inventory, d policies.Defaults, o MapOptions) []*diodepb.Entity {
	return newMapper(d, o, compilePatterns(d.InterfacePatterns, nil)).run(inv)
}

type compiledPattern struct {
	re  *regexp.Regexp
	typ string
}

// patternCache keeps compiled interface_patterns across the targets of a
// run so each regexp is compiled once, not once per device.
type patternCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (c *patternCache) compile(expr string) (*regexp.Regexp, error) {
	if c == nil {
		return regexp.Compile(expr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*regexp.Regexp{}
	}
	c.m[expr] = re
	return re, nil
}

// compilePatterns returns the patterns that compile, in order.
func compilePatterns(ps []policies.InterfacePattern, cache *patternCache) []compiledPattern {
	out := make([]compiledPattern, 0, len(ps))
	for _, p := range ps {
		re, err := cache.compile(p.Match)
		if err != nil || p.Type == "" {
			continue
		}
		out = append(out, compiledPattern{re: re, typ: p.Type})
	}
	return out
}

// checkPatterns reports the first interface pattern that cannot be used.
func checkPatterns(ps []policies.InterfacePattern, cache *patternCache) error {
	for i, p := range ps {
		if _, err := cache.compile(p.Match); err != nil {
			return fmt.Errorf("defaults.interface_patterns[%d] match %q: %w", i, p.Match, err)
		}
		if p.Type == "" {
			return fmt.Errorf("defaults.interface_patterns[%d] match %q: type is empty", i, p.Match)
		}
	}
	return nil
}

type mapper struct {
	d    policies.Defaults
	o    MapOptions
	ts   *timestamppb.Timestamp
	tags []*diodepb.Tag
	pats []compiledPattern
	out  []*diodepb.Entity
	seen map[string]struct{}
	// droppedVLANs counts unknown VLAN ids left out (DropUnknownVLANs),
	// once per device and id, so Run.Add can say so.
	droppedVLANs int
}

func newMapper(d policies.Defaults, o MapOptions, pats []compiledPattern) *mapper {
	now := o.Now
	if now.IsZero() {
		// A millisecond back: Diode wants timestamps strictly in the past.
		now = time.Now().Add(-time.Millisecond)
	}
	return &mapper{
		d:    d,
		o:    o,
		ts:   timestamppb.New(now),
		tags: tagList(d.Tags),
		pats: pats,
		seen: map[string]struct{}{},
	}
}

func (m *mapper) run(inv *drivers.Inventory) []*diodepb.Entity {
	if inv == nil {
		return nil
	}
	n := 0
	for i := range inv.Devices {
		dev := &inv.Devices[i]
		n += 6 + len(dev.VLANs) + len(dev.Modules)
		for j := range dev.Interfaces {
			n += 2 + 2*len(dev.Interfaces[j].Addresses)
		}
	}
	m.out = make([]*diodepb.Entity, 0, n)

	clusters := map[string]*drivers.Cluster{}
	for i := range inv.Clusters {
		clusters[inv.Clusters[i].Name] = &inv.Clusters[i]
	}
	hosts := map[string]*diodepb.Device{}
	for i := range inv.Devices {
		stub := m.device(&inv.Devices[i], clusters)
		hosts[inv.Devices[i].Name] = stub
	}
	for i := range inv.Clusters {
		m.cluster(&inv.Clusters[i])
	}
	for i := range inv.VirtualMachines {
		m.vm(&inv.VirtualMachines[i], clusters, hosts)
	}
	return m.out
}

// ---- small helpers ----

func sp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ip64(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Slugify follows NetBox's slug rules: lowercase ASCII letters and digits,
// every other run of characters becomes one '-', no leading or trailing
// '-', at most 100 characters.
func Slugify(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteByte(c)
		if b.Len() >= 100 {
			break
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return Undefined
	}
	return out
}

func tagList(names []string) []*diodepb.Tag {
	if len(names) == 0 {
		return nil
	}
	seen := map[string]bool{}
	out := make([]*diodepb.Tag, 0, len(names))
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, &diodepb.Tag{Name: n, Slug: Slugify(n)})
	}
	return out
}

// once reports whether key is new in this call (for shared objects).
func (m *mapper) once(key string) bool {
	if _, ok := m.seen[key]; ok {
		return false
	}
	m.seen[key] = struct{}{}
	return true
}

func (m *mapper) emit(e *diodepb.Entity) {
	e.Timestamp = m.ts
	m.out = append(m.out, e)
}

func tenantRef(name string) *diodepb.Tenant {
	if name == "" {
		return nil
	}
	return &diodepb.Tenant{Name: name, Slug: Slugify(name)}
}

func vrfRef(name string) *diodepb.VRF {
	if name == "" {
		return nil
	}
	return &diodepb.VRF{Name: name}
}

func roleRef(name string) *diodepb.Role {
	if name == "" {
		return nil
	}
	return &diodepb.Role{Name: name, Slug: Slugify(name)}
}

func sourceMatch(netboxID int) *structpb.Struct {
	if netboxID == 0 {
		return nil
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"source_match": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"netbox_id": structpb.NewNumberValue(float64(netboxID)),
		}}),
	}}
}

// normMAC writes MACs the way NetBox stores them (upper case, colons). A
// value that does not parse is passed through for the server to judge.
func normMAC(s string) string {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return s
	}
	return strings.ToUpper(hw.String())
}

// ---- devices ----

type devCtx struct {
	stub  *diodepb.Device // matcher stub for nested references
	types map[string]string
	vlans map[int]string
	prefs []prefixSeed
}

type prefixSeed struct {
	network netip.Prefix
	vrf     string
}

func (m *mapper) device(dev *drivers.Device, clusters map[string]*drivers.Cluster) *diodepb.Device {
	d := m.d
	site := first(dev.Site, d.Site, Undefined)
	role := first(dev.Role, d.Role, Undefined)
	mfr := first(dev.Manufacturer, d.Device.Manufacturer, Undefined)
	model := first(dev.Model, d.Device.Model, Undefined)
	platform := d.Device.Platform
	if platform == "" && dev.Platform != "" {
		platform = dev.Platform
		if dev.OSVersion != "" {
			platform += " " + dev.OSVersion
		}
	}

	if m.once("site\x00" + site) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Site{Site: &diodepb.Site{
			Name: site, Slug: Slugify(site), Status: sp("active"), Tags: m.tags,
		}}})
	}
	if m.once("manufacturer\x00" + mfr) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Manufacturer{Manufacturer: &diodepb.Manufacturer{
			Name: mfr, Slug: Slugify(mfr), Tags: m.tags,
		}}})
	}
	if m.once("devicetype\x00" + mfr + "\x00" + model) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_DeviceType{DeviceType: &diodepb.DeviceType{
			Model:        model,
			Slug:         Slugify(model),
			Manufacturer: &diodepb.Manufacturer{Name: mfr},
			PartNumber:   sp(dev.PartNumber),
			Tags:         m.tags,
		}}})
	}
	if platform != "" && m.once("platform\x00"+platform) {
		// No manufacturer on the platform: NetBox then refuses the
		// platform for devices of any other vendor (ESXi on Dell and HPE).
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Platform{Platform: &diodepb.Platform{
			Name: platform, Slug: Slugify(platform), Tags: m.tags,
		}}})
	}
	if m.once("devicerole\x00" + role) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_DeviceRole{DeviceRole: &diodepb.DeviceRole{
			Name: role, Slug: Slugify(role), Tags: m.tags,
		}}})
	}

	meta := sourceMatch(m.o.NetboxID)
	stub := &diodepb.Device{
		Name:       sp(dev.Name),
		Site:       &diodepb.Site{Name: site},
		DeviceType: &diodepb.DeviceType{Model: model, Manufacturer: &diodepb.Manufacturer{Name: mfr}},
		Role:       &diodepb.DeviceRole{Name: role},
		Metadata:   meta,
	}
	full := &diodepb.Device{
		Name:        sp(dev.Name),
		DeviceType:  &diodepb.DeviceType{Model: model, Slug: Slugify(model), Manufacturer: &diodepb.Manufacturer{Name: mfr, Slug: Slugify(mfr)}},
		Role:        &diodepb.DeviceRole{Name: role, Slug: Slugify(role)},
		Tenant:      tenantRef(d.Tenant),
		Serial:      sp(dev.Serial),
		Site:        &diodepb.Site{Name: site, Slug: Slugify(site)},
		Status:      sp(first(dev.Status, "active")),
		Description: sp(first(dev.Description, d.Description)),
		Comments:    sp(d.Comments),
		Tags:        m.tags,
		Metadata:    meta,
	}
	if platform != "" {
		full.Platform = &diodepb.Platform{Name: platform, Slug: Slugify(platform)}
	}
	if d.Location != "" {
		full.Location = &diodepb.Location{Name: d.Location, Slug: Slugify(d.Location), Site: &diodepb.Site{Name: site}}
	}
	if dev.Cluster != "" {
		full.Cluster = clusterStub(dev.Cluster, clusters)
	}
	if dev.Config != "" { // only present when the policy asked; drivers mask secrets
		full.Config = &diodepb.DeviceConfig{Running: []byte(dev.Config)}
	}
	if dev.MgmtAddress.IsValid() {
		mgmt := dev.MgmtAddress.Unmap()
	find:
		for i := range dev.Interfaces {
			for _, a := range dev.Interfaces[i].Addresses {
				if a.Prefix.Addr().Unmap() != mgmt {
					continue
				}
				ref := &diodepb.IPAddress{Address: a.Prefix.String(), Vrf: vrfRef(first(dev.Interfaces[i].VRF, d.IPAddress.VRF))}
				if mgmt.Is4() {
					full.PrimaryIp4 = ref
				} else {
					full.PrimaryIp6 = ref
				}
				break find
			}
		}
	}
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Device{Device: full}})

	dc := &devCtx{stub: stub, types: map[string]string{}, vlans: map[int]string{}}
	for i := range dev.Interfaces {
		dc.types[dev.Interfaces[i].Name] = m.ifType(&dev.Interfaces[i])
	}
	for i, mod := range dev.Modules {
		m.module(dc, mod, i, mfr)
	}
	m.vlans(dc, dev)
	// One VRF entity per VRF the interfaces name, ahead of the interfaces,
	// addresses and prefixes that reference it.
	for i := range dev.Interfaces {
		if v := dev.Interfaces[i].VRF; v != "" && m.once("vrf\x00"+v) {
			m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Vrf{Vrf: &diodepb.VRF{Name: v, Tags: m.tags}}})
		}
	}
	for i := range dev.Interfaces {
		m.iface(dc, &dev.Interfaces[i])
	}
	m.prefixes(dc.prefs)
	return stub
}

func (m *mapper) module(dc *devCtx, mod drivers.Module, i int, devMfr string) {
	bay := first(mod.Bay, mod.Description, "module-"+strconv.Itoa(i))
	model := first(mod.Model, Undefined)
	mfr := first(mod.Manufacturer, devMfr, Undefined)
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Module{Module: &diodepb.Module{
		Device:      dc.stub,
		ModuleBay:   &diodepb.ModuleBay{Name: bay, Device: dc.stub},
		ModuleType:  &diodepb.ModuleType{Model: model, Manufacturer: &diodepb.Manufacturer{Name: mfr}},
		Status:      sp("active"),
		Serial:      sp(mod.Serial),
		Description: sp(mod.Description),
		Tags:        m.tags,
	}}})
}

// vlans emits the device's VLANs and records which ids interfaces may
// reference (dc.vlans). A VLAN without a name is unknown: with
// DropUnknownVLANs it is skipped, otherwise it is emitted as VLAN<vid>,
// as is every id an interface references that the device did not list.
func (m *mapper) vlans(dc *devCtx, dev *drivers.Device) {
	status := map[int]string{}
	var order []int
	add := func(vid int, name, st string) {
		if _, ok := dc.vlans[vid]; ok {
			return
		}
		name = strings.Join(strings.Fields(name), " ")
		if name == "" && m.o.DropUnknownVLANs {
			m.droppedVLANs++
			dc.vlans[vid] = "" // counted once; references are dropped by has()
			return
		}
		dc.vlans[vid], status[vid] = name, st
		order = append(order, vid)
	}
	for _, v := range dev.VLANs {
		add(v.VID, v.Name, v.Status)
	}
	for i := range dev.Interfaces {
		ifc := &dev.Interfaces[i]
		if ifc.UntaggedVLAN != 0 {
			add(ifc.UntaggedVLAN, "", "")
		}
		for _, vid := range ifc.TaggedVLANs {
			add(vid, "", "")
		}
	}
	for _, vid := range order {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Vlan{Vlan: m.vlan(vid, dc.vlans[vid], status[vid], true)}})
	}
}

// vlanRef is the nested VLAN an interface references, nil when the id is
// unknown and dropped.
func (m *mapper) vlanRef(dc *devCtx, vid int) *diodepb.VLAN {
	name, ok := dc.vlans[vid]
	if !ok || (name == "" && m.o.DropUnknownVLANs) {
		return nil
	}
	return m.vlan(vid, name, "", false)
}

// vlan builds a VLAN; full adds status, tenant, role and tags (top-level).
func (m *mapper) vlan(vid int, name, status string, full bool) *diodepb.VLAN {
	v := &diodepb.VLAN{Vid: int64(vid), Name: first(strings.Join(strings.Fields(name), " "), "VLAN"+strconv.Itoa(vid))}
	if g := m.d.VLAN.Group; g != "" {
		v.Group = &diodepb.VLANGroup{Name: g, Slug: Slugify(g)}
	}
	if full {
		v.Status = sp(first(status, "active"))
		v.Tenant = tenantRef(m.d.VLAN.Tenant)
		v.Role = roleRef(m.d.VLAN.Role)
		v.Tags = m.tags
	}
	return v
}

func (m *mapper) ifType(ifc *drivers.Interface) string {
	for _, p := range m.pats {
		if p.re.MatchString(ifc.Name) {
			return p.typ
		}
	}
	return first(ifc.Type, m.d.Interface.IfType, "other")
}

func (m *mapper) iface(dc *devCtx, ifc *drivers.Interface) {
	typ := dc.types[ifc.Name]
	stub := &diodepb.Interface{Name: ifc.Name, Device: dc.stub, Type: typ}
	e := &diodepb.Interface{
		Device:      dc.stub,
		Name:        ifc.Name,
		Type:        typ,
		Enabled:     ifc.Enabled,
		Mtu:         ip64(int64(ifc.MTU)),
		Speed:       ip64(ifc.SpeedKbps),
		Description: sp(ifc.Description),
		Mode:        sp(ifc.Mode),
		Vrf:         vrfRef(ifc.VRF),
		Tags:        m.tags,
	}
	if ifc.MgmtOnly {
		t := true
		e.MgmtOnly = &t
	}
	// Parent and LAG stubs carry the type NetBox needs should the stub
	// arrive before the interface itself; a LAG the driver did not list
	// is still a "lag".
	if ifc.Parent != "" {
		e.Parent = &diodepb.Interface{Name: ifc.Parent, Device: dc.stub, Type: first(dc.types[ifc.Parent], m.ifType(&drivers.Interface{Name: ifc.Parent}))}
	}
	if ifc.LAG != "" {
		e.Lag = &diodepb.Interface{Name: ifc.LAG, Device: dc.stub, Type: first(dc.types[ifc.LAG], "lag")}
	}
	if ifc.UntaggedVLAN != 0 {
		e.UntaggedVlan = m.vlanRef(dc, ifc.UntaggedVLAN)
	}
	for _, vid := range ifc.TaggedVLANs {
		if v := m.vlanRef(dc, vid); v != nil {
			e.TaggedVlans = append(e.TaggedVlans, v)
		}
	}
	mac := ""
	if ifc.MAC != "" {
		mac = normMAC(ifc.MAC)
		e.PrimaryMacAddress = &diodepb.MACAddress{MacAddress: mac}
	}
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Interface{Interface: e}})
	if mac != "" {
		m.emitMAC(mac, func(e *diodepb.MACAddress) {
			e.AssignedObject = &diodepb.MACAddress_AssignedObjectInterface{AssignedObjectInterface: stub}
		})
	}
	for _, a := range ifc.Addresses {
		ip := m.ipAddress(a, ifc.VRF)
		ip.AssignedObject = &diodepb.IPAddress_AssignedObjectInterface{AssignedObjectInterface: stub}
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_IpAddress{IpAddress: ip}})
		dc.addPrefix(m, a.Prefix, ifc.VRF)
	}
}

// emitMAC emits the MACAddress object of an interface or VM interface;
// assign sets which one it belongs to (the oneof types differ).
func (m *mapper) emitMAC(mac string, assign func(*diodepb.MACAddress)) {
	e := &diodepb.MACAddress{MacAddress: mac, Tags: m.tags}
	assign(e)
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_MacAddress{MacAddress: e}})
}

func (m *mapper) ipAddress(a drivers.Address, vrf string) *diodepb.IPAddress {
	return &diodepb.IPAddress{
		Address: a.Prefix.String(),
		Vrf:     vrfRef(first(vrf, m.d.IPAddress.VRF)),
		Tenant:  tenantRef(m.d.IPAddress.Tenant),
		Status:  sp(first(a.Status, "active")),
		Role:    sp(first(a.Role, m.d.IPAddress.Role)),
		Tags:    m.tags,
	}
}

// addPrefix records the network of an address for Prefix emission,
// skipping host routes, link-local, IPv4-mapped and zero-length networks.
func (dc *devCtx) addPrefix(m *mapper, p netip.Prefix, vrf string) {
	if !m.o.EmitPrefixes || !p.IsValid() {
		return
	}
	addr := p.Addr()
	if addr.Is4In6() || p.Bits() == 0 || p.Bits() == addr.BitLen() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() {
		return
	}
	vrf = first(vrf, m.d.Prefix.VRF)
	n := p.Masked()
	// Deduplicated across the whole call: VMs of one cluster share networks.
	if !m.once("prefix\x00" + n.String() + "\x00" + vrf) {
		return
	}
	dc.prefs = append(dc.prefs, prefixSeed{network: n, vrf: vrf})
}

func (m *mapper) prefixes(seeds []prefixSeed) {
	sort.Slice(seeds, func(i, j int) bool {
		a, b := seeds[i], seeds[j]
		if c := a.network.Addr().Compare(b.network.Addr()); c != 0 {
			return c < 0
		}
		if a.network.Bits() != b.network.Bits() {
			return a.network.Bits() < b.network.Bits()
		}
		return a.vrf < b.vrf
	})
	for _, s := range seeds {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Prefix{Prefix: &diodepb.Prefix{
			Prefix: s.network.String(),
			Vrf:    vrfRef(s.vrf),
			Tenant: tenantRef(m.d.Prefix.Tenant),
			Status: sp("active"),
			Role:   roleRef(m.d.Prefix.Role),
			Tags:   m.tags,
		}}})
	}
}

// ---- virtualisation ----

func clusterStub(name string, clusters map[string]*drivers.Cluster) *diodepb.Cluster {
	typ := Undefined
	if c, ok := clusters[name]; ok && c.Type != "" {
		typ = c.Type
	}
	return &diodepb.Cluster{Name: name, Type: &diodepb.ClusterType{Name: typ}}
}

func (m *mapper) cluster(c *drivers.Cluster) {
	typ := first(c.Type, Undefined)
	if m.once("clustertype\x00" + typ) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_ClusterType{ClusterType: &diodepb.ClusterType{
			Name: typ, Slug: Slugify(typ), Tags: m.tags,
		}}})
	}
	if c.Group != "" && m.once("clustergroup\x00"+c.Group) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_ClusterGroup{ClusterGroup: &diodepb.ClusterGroup{
			Name: c.Group, Slug: Slugify(c.Group), Tags: m.tags,
		}}})
	}
	site := first(c.Site, m.d.Site)
	if site != "" && m.once("site\x00"+site) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Site{Site: &diodepb.Site{
			Name: site, Slug: Slugify(site), Status: sp("active"), Tags: m.tags,
		}}})
	}
	e := &diodepb.Cluster{
		Name:   c.Name,
		Type:   &diodepb.ClusterType{Name: typ, Slug: Slugify(typ)},
		Status: sp("active"),
		Tenant: tenantRef(m.d.Tenant),
		Tags:   m.tags,
	}
	if c.Group != "" {
		e.Group = &diodepb.ClusterGroup{Name: c.Group, Slug: Slugify(c.Group)}
	}
	if site != "" {
		e.Scope = &diodepb.Cluster_ScopeSite{ScopeSite: &diodepb.Site{Name: site, Slug: Slugify(site)}}
	}
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Cluster{Cluster: e}})
}

func (m *mapper) vm(v *drivers.VirtualMachine, clusters map[string]*drivers.Cluster, hosts map[string]*diodepb.Device) {
	site := m.d.Site
	if c, ok := clusters[v.Cluster]; ok && c.Site != "" {
		site = c.Site
	}
	if site == "" && v.Cluster == "" {
		// NetBox needs a site or a cluster on a VM, as it needs a site on
		// a device: fall back the same way.
		site = Undefined
	}
	if v.Platform != "" && m.once("platform\x00"+v.Platform) {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_Platform{Platform: &diodepb.Platform{
			Name: v.Platform, Slug: Slugify(v.Platform), Tags: m.tags,
		}}})
	}
	stub := &diodepb.VirtualMachine{Name: v.Name}
	e := &diodepb.VirtualMachine{
		Name:        v.Name,
		Status:      sp(first(v.Status, "active")),
		Serial:      sp(v.Serial),
		Tenant:      tenantRef(m.d.Tenant),
		Memory:      ip64(v.MemoryMB),
		Disk:        ip64(v.DiskGB),
		Description: sp(first(v.Description, m.d.Description)),
		Comments:    sp(m.d.Comments),
		Tags:        m.tags,
	}
	if v.VCPUs != 0 {
		vc := v.VCPUs
		e.Vcpus = &vc
	}
	if site != "" {
		e.Site = &diodepb.Site{Name: site, Slug: Slugify(site)}
		stub.Site = &diodepb.Site{Name: site}
	}
	if v.Cluster != "" {
		e.Cluster = clusterStub(v.Cluster, clusters)
		stub.Cluster = e.Cluster
	}
	if v.Platform != "" {
		e.Platform = &diodepb.Platform{Name: v.Platform, Slug: Slugify(v.Platform)}
	}
	if v.Device != "" {
		if h, ok := hosts[v.Device]; ok {
			e.Device = h
		} else {
			e.Device = &diodepb.Device{Name: sp(v.Device), Site: e.Site}
		}
	}
	m.emit(&diodepb.Entity{Entity: &diodepb.Entity_VirtualMachine{VirtualMachine: e}})

	dc := &devCtx{}
	for i := range v.Interfaces {
		vi := &v.Interfaces[i]
		istub := &diodepb.VMInterface{Name: vi.Name, VirtualMachine: stub}
		ie := &diodepb.VMInterface{
			VirtualMachine: stub,
			Name:           vi.Name,
			Enabled:        vi.Enabled,
			Mtu:            ip64(int64(vi.MTU)),
			Description:    sp(vi.Description),
			Tags:           m.tags,
		}
		mac := ""
		if vi.MAC != "" {
			mac = normMAC(vi.MAC)
			ie.PrimaryMacAddress = &diodepb.MACAddress{MacAddress: mac}
		}
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_VmInterface{VmInterface: ie}})
		if mac != "" {
			m.emitMAC(mac, func(e *diodepb.MACAddress) {
				e.AssignedObject = &diodepb.MACAddress_AssignedObjectVmInterface{AssignedObjectVmInterface: istub}
			})
		}
		for _, a := range vi.Addresses {
			ip := m.ipAddress(a, "")
			ip.AssignedObject = &diodepb.IPAddress_AssignedObjectVmInterface{AssignedObjectVmInterface: istub}
			m.emit(&diodepb.Entity{Entity: &diodepb.Entity_IpAddress{IpAddress: ip}})
			dc.addPrefix(m, a.Prefix, "")
		}
	}
	for _, disk := range v.Disks {
		m.emit(&diodepb.Entity{Entity: &diodepb.Entity_VirtualDisk{VirtualDisk: &diodepb.VirtualDisk{
			VirtualMachine: stub,
			Name:           disk.Name,
			Size:           disk.SizeGB,
			Tags:           m.tags,
		}}})
	}
	m.prefixes(dc.prefs)
}
