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

// mistTypes are the device types of the org inventory. Older API
// releases default the inventory's type filter to "ap", so each type is
// asked for explicitly.
var mistTypes = []string{"ap", "switch", "gateway"}

// maxPages stops a controller whose paging never ends.
const maxPages = 10000

type mistSite struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type mistInventory struct {
	MAC      string `json:"mac"`
	Serial   string `json:"serial"`
	Model    string `json:"model"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	SiteID   string `json:"site_id"`
	HwRev    string `json:"hw_rev"`
}

type mistIPStat struct {
	IP       string            `json:"ip"`
	Netmask  string            `json:"netmask"`
	IP6      string            `json:"ip6"`
	Netmask6 string            `json:"netmask6"`
	IPs      map[string]string `json:"ips"`
}

type mistIfStat struct {
	PortID string   `json:"port_id"`
	IPs    []string `json:"ips"`
	Up     *bool    `json:"up"`
	VLAN   int      `json:"vlan"`
}

type mistPortStat struct {
	Up    *bool `json:"up"`
	Speed int64 `json:"speed"` // Mbps
}

type mistStats struct {
	MAC      string                  `json:"mac"`
	Name     string                  `json:"name"`
	Hostname string                  `json:"hostname"`
	Model    string                  `json:"model"`
	Serial   string                  `json:"serial"`
	Type     string                  `json:"type"`
	Status   string                  `json:"status"`
	SiteID   string                  `json:"site_id"`
	Version  string                  `json:"version"`
	IP       string                  `json:"ip"`
	HwRev    string                  `json:"hw_rev"`
	Uptime   float64                 `json:"uptime"`
	IPStat   *mistIPStat             `json:"ip_stat"`
	IfStat   map[string]mistIfStat   `json:"if_stat"`
	PortStat map[string]mistPortStat `json:"port_stat"`
}

func (d *Driver) discoverMist(ctx context.Context) (*drivers.Inventory, error) {
	org := url.PathEscape(strings.TrimSpace(d.scope.OrgID))
	sites, err := pagedMist[mistSite](ctx, d, "/api/v1/orgs/"+org+"/sites", nil)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	siteName := make(map[string]string, len(sites))
	for _, s := range sites {
		siteName[s.ID] = s.Name
	}
	var inv []mistInventory
	for _, typ := range mistTypes {
		part, err := pagedMist[mistInventory](ctx, d, "/api/v1/orgs/"+org+"/inventory", url.Values{"type": {typ}})
		if err != nil {
			return nil, fmt.Errorf("org inventory (%s): %w", typ, err)
		}
		inv = append(inv, part...)
	}
	stats := map[string]*mistStats{}
	for _, s := range sites {
		part, err := pagedMist[mistStats](ctx, d, "/api/v1/sites/"+url.PathEscape(s.ID)+"/stats/devices", url.Values{"type": {"all"}})
		if err != nil {
			return nil, fmt.Errorf("device stats of site %s: %w", s.Name, err)
		}
		for i := range part {
			if part[i].MAC != "" {
				stats[normMAC(part[i].MAC)] = &part[i]
			}
		}
	}
	out := &drivers.Inventory{}
	seen := map[string]bool{}
	for i := range inv {
		mac := normMAC(inv[i].MAC)
		if mac == "" || seen[mac] {
			continue
		}
		seen[mac] = true
		out.Devices = append(out.Devices, mistDevice(&inv[i], stats[mac], siteName))
	}
	// Stats of devices missing from the inventory (claimed meanwhile).
	macs := make([]string, 0, len(stats))
	for mac := range stats {
		if !seen[mac] {
			macs = append(macs, mac)
		}
	}
	sort.Strings(macs)
	for _, mac := range macs {
		st := stats[mac]
		out.Devices = append(out.Devices, mistDevice(&mistInventory{MAC: st.MAC, SiteID: st.SiteID, Type: st.Type}, st, siteName))
	}
	sortDevices(out.Devices)
	return out, nil
}

// pagedMist walks limit/page (1-based). X-Page-Total/X-Page-Limit say when
// to stop; without them a short page ends the walk.
func pagedMist[T any](ctx context.Context, d *Driver, path string, extra url.Values) ([]T, error) {
	tok := d.scope.Token
	auth := func(h http.Header) { h.Set("Authorization", "Token "+tok.Reveal()) }
	var all []T
	for page := 1; page <= maxPages; page++ {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(d.pageSize))
		q.Set("page", strconv.Itoa(page))
		var items []T
		resp, err := d.c.getJSON(ctx, path, q, auth, &items)
		if err != nil {
			switch statusCode(err) {
			case http.StatusUnauthorized:
				return nil, fmt.Errorf("authentication failed (401): check token")
			case http.StatusForbidden:
				return nil, fmt.Errorf("access denied (403) to %s: check the token's privileges on org %s", path, d.scope.OrgID)
			}
			return nil, err
		}
		all = append(all, items...)
		total, errT := strconv.Atoi(resp.Header.Get("X-Page-Total"))
		limit, errL := strconv.Atoi(resp.Header.Get("X-Page-Limit"))
		if errT == nil && errL == nil && limit > 0 {
			if page*limit >= total || len(items) == 0 {
				return all, nil
			}
			continue
		}
		if len(items) < d.pageSize {
			return all, nil
		}
	}
	return nil, fmt.Errorf("GET %s: more than %d pages", path, maxPages)
}

func mistDevice(in *mistInventory, st *mistStats, siteName map[string]string) drivers.Device {
	if st == nil {
		st = &mistStats{}
	}
	typ := firstNonEmpty(in.Type, st.Type)
	d := drivers.Device{
		Name:         firstNonEmpty(st.Name, in.Name, st.Hostname, in.Hostname, colonMAC(in.MAC)),
		Manufacturer: "Juniper",
		Model:        firstNonEmpty(in.Model, st.Model),
		Serial:       firstNonEmpty(in.Serial, st.Serial),
		HardwareRev:  firstNonEmpty(in.HwRev, st.HwRev),
		OSVersion:    st.Version,
		Site:         siteName[firstNonEmpty(st.SiteID, in.SiteID)],
		Uptime:       time.Duration(st.Uptime) * time.Second,
	}
	switch typ {
	case "ap":
		d.Role, d.Platform = "access-point", "Mist AP"
	case "switch":
		d.Role, d.Platform = "switch", "Junos"
	case "gateway":
		d.Role, d.Platform = "gateway", "Junos"
	}
	if strings.EqualFold(st.Status, "disconnected") {
		d.Status = "offline"
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(st.IP)); err == nil {
		d.MgmtAddress = a
	}
	d.Interfaces = mistInterfaces(typ, colonMAC(in.MAC), st)
	return d
}

// mistInterfaces derives what the stats tell: gateways list their
// interfaces (if_stat), switches their L3 VLAN interfaces (ip_stat.ips),
// APs their uplink eth0.
func mistInterfaces(typ, mac string, st *mistStats) []drivers.Interface {
	var out []drivers.Interface
	switch {
	case len(st.IfStat) > 0:
		names := sortedKeys(st.IfStat)
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		parents := map[string]bool{}
		var subs []drivers.Interface
		for _, n := range names {
			is := st.IfStat[n]
			it := drivers.Interface{Name: n, Enabled: is.Up}
			if is.PortID != "" && is.PortID != n {
				it.Parent, it.Type = is.PortID, "virtual"
				if is.VLAN > 0 {
					it.Mode, it.UntaggedVLAN = "access", is.VLAN
				}
				if !have[is.PortID] {
					parents[is.PortID] = true
				}
			}
			for _, a := range is.IPs {
				if p, err := netip.ParsePrefix(strings.TrimSpace(a)); err == nil {
					it.Addresses = append(it.Addresses, drivers.Address{Prefix: p})
				}
			}
			subs = append(subs, it)
		}
		// Parents first so that they exist when their units refer to them.
		for _, p := range sortedKeys(parents) {
			out = append(out, drivers.Interface{Name: p})
		}
		out = append(out, subs...)
	case st.IPStat != nil && len(st.IPStat.IPs) > 0:
		for _, n := range sortedKeys(st.IPStat.IPs) {
			it := drivers.Interface{Name: n, Type: "virtual"}
			for _, a := range strings.Split(st.IPStat.IPs[n], ",") {
				if p, err := netip.ParsePrefix(strings.TrimSpace(a)); err == nil {
					it.Addresses = append(it.Addresses, drivers.Address{Prefix: p})
				}
			}
			out = append(out, it)
		}
	case st.IPStat != nil && st.IPStat.IP != "":
		name := map[string]string{"ap": "eth0", "switch": "me0", "gateway": "fxp0"}[typ]
		if name == "" {
			name = "mgmt"
		}
		it := drivers.Interface{Name: name, MAC: mac}
		if ps, ok := st.PortStat[name]; ok {
			it.Enabled = ps.Up
			it.SpeedKbps = ps.Speed * 1000
			it.Type = map[int64]string{100: "100base-tx", 1000: "1000base-t", 2500: "2.5gbase-t", 5000: "5gbase-t", 10000: "10gbase-t"}[ps.Speed]
		}
		if p, ok := maskPrefix(st.IPStat.IP, st.IPStat.Netmask); ok {
			it.Addresses = append(it.Addresses, drivers.Address{Prefix: p})
		}
		if a, err := netip.ParseAddr(st.IPStat.IP6); err == nil && a.Is6() {
			bits, err := strconv.Atoi(strings.TrimPrefix(st.IPStat.Netmask6, "/"))
			if err != nil || bits < 0 || bits > 128 {
				bits = 128
			}
			it.Addresses = append(it.Addresses, drivers.Address{Prefix: netip.PrefixFrom(a, bits)})
		}
		out = append(out, it)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// normMAC lowercases and strips separators: Mist writes "5c5b35000a01".
func normMAC(m string) string {
	b := make([]byte, 0, len(m))
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c == ':' || c == '-' || c == '.':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// colonMAC turns "5c5b35000a01" into "5c:5b:35:00:0a:01".
func colonMAC(m string) string {
	n := normMAC(m)
	if len(n) != 12 {
		return m
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(n[i : i+2])
	}
	return b.String()
}
