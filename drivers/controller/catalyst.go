package controller

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orbd/orbd/drivers"
)

// Catalyst Center Intent API paths.
const (
	catTokenPath      = "/dna/system/api/v1/auth/token"
	catDevicePath     = "/dna/intent/api/v1/network-device"
	catInterfacePath  = "/dna/intent/api/v1/interface"
	catDevIfacePath   = "/dna/intent/api/v1/interface/network-device/"
	catSitePath       = "/dna/intent/api/v1/site"
	catMembershipPath = "/dna/intent/api/v1/membership/"
)

// catDevice is the part of a network-device record we use.
type catDevice struct {
	ID                  string `json:"id"`
	InstanceUUID        string `json:"instanceUuid"`
	Hostname            string `json:"hostname"`
	ManagementIPAddress string `json:"managementIpAddress"`
	PlatformID          string `json:"platformId"`
	SerialNumber        string `json:"serialNumber"`
	SoftwareType        string `json:"softwareType"`
	SoftwareVersion     string `json:"softwareVersion"`
	Role                string `json:"role"`
	Family              string `json:"family"`
	Series              string `json:"series"`
	MacAddress          string `json:"macAddress"`
	ReachabilityStatus  string `json:"reachabilityStatus"`
	UptimeSeconds       int64  `json:"uptimeSeconds"`
	// Present in newer releases and in some views; saves the site calls.
	SiteNameHierarchy string `json:"siteNameHierarchy"`
}

func (d *catDevice) key() string {
	if d.ID != "" {
		return d.ID
	}
	return d.InstanceUUID
}

// catInterface is the part of an interface record we use. Numbers come
// as strings (speed in Kbps, mtu).
type catInterface struct {
	ID           string `json:"id"`
	DeviceID     string `json:"deviceId"`
	PortName     string `json:"portName"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Status       string `json:"status"`
	AdminStatus  string `json:"adminStatus"`
	Speed        string `json:"speed"`
	MTU          string `json:"mtu"`
	MacAddress   string `json:"macAddress"`
	IPv4Address  string `json:"ipv4Address"`
	IPv4Mask     string `json:"ipv4Mask"`
	InterfaceTyp string `json:"interfaceType"`
	PortType     string `json:"portType"`
	PortMode     string `json:"portMode"`
	VlanID       string `json:"vlanId"`
	NativeVlanID string `json:"nativeVlanId"`
}

type catSite struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	ParentID          string `json:"parentId"`
	SiteNameHierarchy string `json:"siteNameHierarchy"`
	AdditionalInfo    []struct {
		NameSpace  string            `json:"nameSpace"`
		Attributes map[string]string `json:"attributes"`
	} `json:"additionalInfo"`
}

func (s *catSite) typ() string {
	for _, ai := range s.AdditionalInfo {
		if t := ai.Attributes["type"]; t != "" {
			return t
		}
	}
	return ""
}

type catMembership struct {
	Device []struct {
		SiteID   string `json:"siteId"`
		Response []struct {
			ID           string `json:"id"`
			InstanceUUID string `json:"instanceUuid"`
		} `json:"response"`
	} `json:"device"`
}

// catalystSession carries the token of one run; it is refreshed once if
// the controller rejects it mid-run (tokens live one hour).
type catalystSession struct {
	d     *Driver
	token string
}

func (d *Driver) discoverCatalyst(ctx context.Context) (*drivers.Inventory, error) {
	s := &catalystSession{d: d}
	if err := s.login(ctx); err != nil {
		return nil, err
	}
	devs, err := pagedCatalyst[catDevice](ctx, s, catDevicePath)
	if err != nil {
		return nil, fmt.Errorf("list network devices: %w", err)
	}
	ifaces, err := s.interfaces(ctx, devs)
	if err != nil {
		return nil, err
	}
	sites, err := s.sites(ctx, devs)
	if err != nil {
		return nil, err
	}
	inv := &drivers.Inventory{}
	for i := range devs {
		inv.Devices = append(inv.Devices, catalystDevice(&devs[i], ifaces[devs[i].key()], sites[devs[i].key()]))
	}
	sortDevices(inv.Devices)
	return inv, nil
}

func (s *catalystSession) login(ctx context.Context) error {
	sc := s.d.scope
	resp, err := s.d.c.do(ctx, http.MethodPost, catTokenPath, nil, func(h http.Header) {
		r := http.Request{Header: h}
		r.SetBasicAuth(sc.Username, sc.Password.Reveal())
		h.Set("Content-Type", "application/json")
	})
	if err != nil {
		if c := statusCode(err); c == http.StatusUnauthorized || c == http.StatusForbidden {
			return fmt.Errorf("authentication failed (%d): check username/password", c)
		}
		return fmt.Errorf("get token: %w", err)
	}
	var tok struct {
		Token string `json:"Token"`
	}
	if err := decode(resp.Body, &tok); err != nil {
		return fmt.Errorf("POST %s: decode response: %w", catTokenPath, err)
	}
	if tok.Token == "" {
		return fmt.Errorf("POST %s: response has no Token", catTokenPath)
	}
	s.token = tok.Token
	return nil
}

// get does an authenticated GET, logging in again once if the token was
// rejected.
func (s *catalystSession) get(ctx context.Context, path string, q url.Values, v any) error {
	for retried := false; ; retried = true {
		tok := s.token
		_, err := s.d.c.getJSON(ctx, path, q, func(h http.Header) { h.Set("X-Auth-Token", tok) }, v)
		if err == nil {
			return nil
		}
		if statusCode(err) != http.StatusUnauthorized {
			return err
		}
		if retried {
			return fmt.Errorf("authentication failed (401) on %s: token rejected after a fresh login", path)
		}
		s.d.c.log.InfoContext(ctx, "token rejected; logging in again", "path", path)
		if err := s.login(ctx); err != nil {
			return err
		}
	}
}

// pagedCatalyst walks offset (1-based) / limit until a short page.
func pagedCatalyst[T any](ctx context.Context, s *catalystSession, path string) ([]T, error) {
	limit := s.d.pageSize
	var all []T
	for offset := 1; ; offset += limit {
		var page struct {
			Response []T `json:"response"`
		}
		q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
		if err := s.get(ctx, path, q, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Response...)
		if len(page.Response) < limit {
			return all, nil
		}
	}
}

// interfaces lists every interface with the paged bulk call (one request
// per 500 interfaces). Controllers without it (404) are asked per device.
func (s *catalystSession) interfaces(ctx context.Context, devs []catDevice) (map[string][]catInterface, error) {
	out := map[string][]catInterface{}
	all, err := pagedCatalyst[catInterface](ctx, s, catInterfacePath)
	if err == nil {
		for _, it := range all {
			out[it.DeviceID] = append(out[it.DeviceID], it)
		}
		return out, nil
	}
	if statusCode(err) != http.StatusNotFound {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	s.d.c.log.InfoContext(ctx, "bulk interface list not supported; asking per device")
	for i := range devs {
		id := devs[i].key()
		if id == "" {
			continue
		}
		var page struct {
			Response []catInterface `json:"response"`
		}
		if err := s.get(ctx, catDevIfacePath+url.PathEscape(id), nil, &page); err != nil {
			if statusCode(err) == http.StatusNotFound {
				continue // e.g. access points have no interface records
			}
			return nil, fmt.Errorf("interfaces of %s: %w", devs[i].Hostname, err)
		}
		out[id] = page.Response
	}
	return out, nil
}

// devSite is where a device sits: the NetBox site and, for floors, the
// location inside it.
type devSite struct {
	Site, Location string
	depth          int
}

// sites maps device id → site. The site list (paged, a few calls) gives
// names and types; membership is then read per site only when some device
// does not carry its siteNameHierarchy (newer releases do), and the
// deepest site a device is a member of wins.
func (s *catalystSession) sites(ctx context.Context, devs []catDevice) (map[string]devSite, error) {
	out := map[string]devSite{}
	if len(devs) == 0 {
		return out, nil
	}
	sites, err := pagedCatalyst[catSite](ctx, s, catSitePath)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	byID := make(map[string]*catSite, len(sites))
	byHier := make(map[string]*catSite, len(sites))
	for i := range sites {
		byID[sites[i].ID] = &sites[i]
		byHier[sites[i].SiteNameHierarchy] = &sites[i]
	}
	complete := true
	for i := range devs {
		h := strings.TrimSpace(devs[i].SiteNameHierarchy)
		switch st, ok := byHier[h]; {
		case h == "":
			complete = false
		case ok:
			out[devs[i].key()] = siteOf(st, byID)
		default:
			parts := strings.Split(h, "/")
			out[devs[i].key()] = devSite{Site: parts[len(parts)-1], depth: len(parts)}
		}
	}
	if complete {
		return out, nil
	}
	for i := range sites {
		st := &sites[i]
		var m catMembership
		if err := s.get(ctx, catMembershipPath+url.PathEscape(st.ID), nil, &m); err != nil {
			return nil, fmt.Errorf("membership of site %s: %w", st.SiteNameHierarchy, err)
		}
		ds := siteOf(st, byID)
		for _, grp := range m.Device {
			for _, dv := range grp.Response {
				id := dv.ID
				if id == "" {
					id = dv.InstanceUUID
				}
				if cur, ok := out[id]; !ok || ds.depth > cur.depth {
					out[id] = ds
				}
			}
		}
	}
	return out, nil
}

// siteOf turns a Catalyst site into NetBox terms: a floor is a location
// inside its building, which is the site.
func siteOf(st *catSite, byID map[string]*catSite) devSite {
	depth := strings.Count(st.SiteNameHierarchy, "/") + 1
	if strings.EqualFold(st.typ(), "floor") {
		if p, ok := byID[st.ParentID]; ok {
			return devSite{Site: p.Name, Location: st.Name, depth: depth}
		}
	}
	name := st.Name
	if name == "" && st.SiteNameHierarchy != "" {
		parts := strings.Split(st.SiteNameHierarchy, "/")
		name = parts[len(parts)-1]
	}
	return devSite{Site: name, depth: depth}
}

func catalystDevice(cd *catDevice, ifs []catInterface, site devSite) drivers.Device {
	d := drivers.Device{
		Name:         strings.TrimSpace(cd.Hostname),
		Manufacturer: "Cisco",
		Model:        firstOfList(cd.PlatformID),
		Serial:       firstOfList(cd.SerialNumber),
		Platform:     strings.TrimSpace(cd.SoftwareType),
		OSVersion:    strings.TrimSpace(cd.SoftwareVersion),
		Role:         roleSlug(cd.Role),
		Site:         site.Site,
		Location:     site.Location,
		Uptime:       time.Duration(cd.UptimeSeconds) * time.Second,
	}
	if d.Name == "" {
		d.Name = cd.ManagementIPAddress
	}
	if strings.EqualFold(cd.ReachabilityStatus, "Unreachable") {
		d.Status = "offline"
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(cd.ManagementIPAddress)); err == nil {
		d.MgmtAddress = a
	}
	// Stacks list one platform and serial per member.
	models, serials := splitList(cd.PlatformID), splitList(cd.SerialNumber)
	if len(serials) > 1 {
		for i, sn := range serials {
			m := drivers.Module{Bay: "Switch " + strconv.Itoa(i+1), Serial: sn, Manufacturer: "Cisco"}
			if i < len(models) {
				m.Model = models[i]
			}
			d.Modules = append(d.Modules, m)
		}
	}
	names := map[string]bool{}
	for _, it := range ifs {
		names[ifName(&it)] = true
	}
	switchLike := strings.EqualFold(cd.Family, "Switches and Hubs")
	for i := range ifs {
		d.Interfaces = append(d.Interfaces, catalystInterface(&ifs[i], names, switchLike))
	}
	return d
}

func ifName(it *catInterface) string {
	if it.PortName != "" {
		return it.PortName
	}
	return it.Name
}

func catalystInterface(it *catInterface, names map[string]bool, switchLike bool) drivers.Interface {
	name := ifName(it)
	out := drivers.Interface{
		Name:        name,
		Description: strings.TrimSpace(it.Description),
		MAC:         strings.TrimSpace(it.MacAddress),
	}
	switch strings.ToUpper(it.AdminStatus) {
	case "UP":
		out.Enabled = boolPtr(true)
	case "DOWN":
		out.Enabled = boolPtr(false)
	}
	out.MTU, _ = strconv.Atoi(strings.TrimSpace(it.MTU))
	out.SpeedKbps, _ = strconv.ParseInt(strings.TrimSpace(it.Speed), 10, 64)
	out.Type = catalystIfType(name, it.InterfaceTyp, out.SpeedKbps)
	if i := strings.LastIndexByte(name, '.'); i > 0 && names[name[:i]] {
		out.Parent = name[:i]
		out.Type = "virtual"
	}
	out.MgmtOnly = name == "mgmt0" || (switchLike && name == "GigabitEthernet0/0")
	switch strings.ToLower(it.PortMode) {
	case "access":
		out.Mode = "access"
		out.UntaggedVLAN, _ = strconv.Atoi(it.VlanID)
	case "trunk":
		out.Mode = "tagged-all"
		out.UntaggedVLAN, _ = strconv.Atoi(it.NativeVlanID)
	}
	if p, ok := maskPrefix(it.IPv4Address, it.IPv4Mask); ok {
		out.Addresses = append(out.Addresses, drivers.Address{Prefix: p})
	}
	return out
}

// catalystIfType guesses the NetBox type slug from the IOS/NX-OS name,
// then the speed; logical interfaces are virtual or lag.
func catalystIfType(name, ifType string, kbps int64) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasPrefix(n, "port-channel"), strings.HasPrefix(n, "bundle-ether"):
		return "lag"
	case strings.HasPrefix(n, "vlan"), strings.HasPrefix(n, "loopback"), strings.HasPrefix(n, "tunnel"),
		strings.HasPrefix(n, "nve"), strings.HasPrefix(n, "bdi"), strings.HasPrefix(n, "null"):
		return "virtual"
	case strings.HasPrefix(n, "hundredgig"):
		return "100gbase-x-qsfp28"
	case strings.HasPrefix(n, "fortygig"):
		return "40gbase-x-qsfpp"
	case strings.HasPrefix(n, "twentyfivegig"):
		return "25gbase-x-sfp28"
	case strings.HasPrefix(n, "tengig"):
		return "10gbase-x-sfpp"
	case strings.HasPrefix(n, "gigabitethernet"):
		return "1000base-t"
	case strings.HasPrefix(n, "fastethernet"):
		return "100base-tx"
	}
	if strings.EqualFold(ifType, "Virtual") {
		return "virtual"
	}
	return drivers.EthernetType(kbps)
}

// maskPrefix builds addr/len from a dotted mask; false if either is
// missing or the mask is not contiguous.
func maskPrefix(addr, mask string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return netip.Prefix{}, false
	}
	m, err := netip.ParseAddr(strings.TrimSpace(mask))
	if err != nil || !m.Is4() || !a.Is4() {
		return netip.Prefix{}, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits), true
}

// roleSlug turns "BORDER ROUTER" into "border-router"; UNKNOWN is empty.
func roleSlug(r string) string {
	r = strings.ToLower(strings.TrimSpace(r))
	if r == "" || r == "unknown" {
		return ""
	}
	return strings.Join(strings.FieldsFunc(r, func(c rune) bool { return c == ' ' || c == '_' || c == '/' }), "-")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstOfList(s string) string {
	if l := splitList(s); len(l) > 0 {
		return l[0]
	}
	return ""
}

func boolPtr(b bool) *bool { return &b }

// sortDevices gives the inventory a stable order whatever the paging.
func sortDevices(ds []drivers.Device) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Name != ds[j].Name {
			return ds[i].Name < ds[j].Name
		}
		return ds[i].Serial < ds[j].Serial
	})
}
