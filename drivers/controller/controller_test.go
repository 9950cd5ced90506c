package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/controller/controllertest"
	orbdtest "github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

func policyFor(sc policies.ControllerScope) *policies.Policy {
	return &policies.Policy{
		Backend:    policies.BackendController,
		Name:       "ctl-test",
		RunTimeout: 60 * time.Second,
		Controller: &policies.ControllerPolicy{Scope: sc},
	}
}

func newDriver(t *testing.T, p *policies.Policy, deps drivers.Deps) *Driver {
	t.Helper()
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	d, err := New(p, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.(*Driver).Close() })
	return d.(*Driver)
}

func discover(t *testing.T, d *Driver) (*drivers.Inventory, error) {
	t.Helper()
	ts, err := d.Targets(context.Background())
	if err != nil {
		t.Fatalf("Targets: %v", err)
	}
	if len(ts) != 1 {
		t.Fatalf("Targets: got %d, want 1", len(ts))
	}
	return d.Discover(context.Background(), ts[0])
}

func startCatalyst(t *testing.T, opts controllertest.Options) *controllertest.Catalyst {
	t.Helper()
	c, err := controllertest.NewCatalyst(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func startMist(t *testing.T, opts controllertest.Options) *controllertest.Mist {
	t.Helper()
	m, err := controllertest.NewMist(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func catalystScope(c *controllertest.Catalyst) policies.ControllerScope {
	return policies.ControllerScope{Kind: KindCatalyst, URL: c.URL(), Username: c.Username, Password: policies.Secret(c.Password)}
}

func mistScope(m *controllertest.Mist) policies.ControllerScope {
	return policies.ControllerScope{Kind: KindMist, URL: m.URL(), Token: policies.Secret(m.Token), OrgID: m.OrgID}
}

func writeCA(t *testing.T, w interface{ WriteCA(string) error }) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := w.WriteCA(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func jsonNum(i int) string { b, _ := json.Marshal(i); return string(b) }

func fixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := controllertest.Fixture(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// catalystCounts derives the expected counts from the fixture itself:
// every device record, every interface record, and one address per
// interface that has an IPv4 address.
func catalystCounts(t *testing.T) (devs, ifs, addrs int) {
	var d, i struct {
		Response []map[string]any `json:"response"`
	}
	fixture(t, "catalyst/network-device.json", &d)
	fixture(t, "catalyst/interface.json", &i)
	for _, it := range i.Response {
		if s, _ := it["ipv4Address"].(string); s != "" {
			addrs++
		}
	}
	return len(d.Response), len(i.Response), addrs
}

func TestCatalystInventory(t *testing.T) {
	wantDevs, wantIfs, wantAddrs := catalystCounts(t)
	if wantDevs != 7 || wantIfs != 30 || wantAddrs != 15 {
		t.Fatalf("fixture changed: %d devices, %d interfaces, %d addresses", wantDevs, wantIfs, wantAddrs)
	}
	for _, tc := range []struct {
		name     string
		pageSize int // 0: driver default
		tls      bool
		perDev   bool
		hier     bool // devices carry siteNameHierarchy: no membership calls
		// request counts expected on the server
		devPages, ifPages, sitePages int
	}{
		{name: "default pages", devPages: 1, ifPages: 1, sitePages: 1},
		// 7 devices by 3: 3+3+1; 30 interfaces by 3: ten full pages and an empty one; 6 sites: 3+3+0.
		{name: "pages of 3 over TLS", pageSize: 3, tls: true, devPages: 3, ifPages: 11, sitePages: 3},
		{name: "per-device interfaces", perDev: true, devPages: 1, sitePages: 1},
		{name: "siteNameHierarchy in devices", hier: true, devPages: 1, ifPages: 1, sitePages: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := controllertest.Options{TLS: tc.tls, SiteHierarchy: tc.hier}
			if tc.pageSize > 0 {
				opts.MaxLimit = tc.pageSize
			}
			c := startCatalyst(t, opts)
			if tc.perDev {
				c.DisableBulkInterfaces()
			}
			sc := catalystScope(c)
			if tc.tls {
				sc.CAFile = writeCA(t, c)
			}
			d := newDriver(t, policyFor(sc), drivers.Deps{})
			if tc.pageSize > 0 {
				d.pageSize = tc.pageSize
			}
			inv, err := discover(t, d)
			if err != nil {
				t.Fatal(err)
			}
			if dv, ifs, ad := inv.Counts(); dv != wantDevs || ifs != wantIfs || ad != wantAddrs {
				t.Errorf("counts = %d devices, %d interfaces, %d addresses; want %d, %d, %d", dv, ifs, ad, wantDevs, wantIfs, wantAddrs)
			}
			orbdtest.GoldenJSON(t, filepath.Join("testdata", "catalyst.golden.json"), inv)

			if n := c.Count("/dna/system/api/v1/auth/token"); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			if n := c.Count("/dna/intent/api/v1/network-device"); n != tc.devPages {
				t.Errorf("network-device requests = %d, want %d", n, tc.devPages)
			}
			if n := c.Count("/dna/intent/api/v1/site"); n != tc.sitePages {
				t.Errorf("site requests = %d, want %d", n, tc.sitePages)
			}
			wantMember := 6 // one per site
			if tc.hier {
				wantMember = 0
			}
			if n := c.Count("/dna/intent/api/v1/membership/"); n != wantMember {
				t.Errorf("membership requests = %d, want %d", n, wantMember)
			}
			bulk, per := 0, 0
			for _, r := range c.Requests() {
				switch {
				case r.Path == "/dna/intent/api/v1/interface":
					bulk++
				case strings.HasPrefix(r.Path, "/dna/intent/api/v1/interface/network-device/"):
					per++
				}
			}
			if tc.perDev {
				// one refused bulk call, then one per device
				if bulk != 1 || per != wantDevs {
					t.Errorf("interface requests: bulk %d, per-device %d; want 1 and %d", bulk, per, wantDevs)
				}
			} else if bulk != tc.ifPages || per != 0 {
				t.Errorf("interface requests: bulk %d, per-device %d; want %d and 0", bulk, per, tc.ifPages)
			}
		})
	}
}

// TestCatalystMapping pins the mapping rules that the golden file hides
// in bulk: stacks, floors, roles, modes, management interfaces.
func TestCatalystMapping(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{})
	inv, err := discover(t, newDriver(t, policyFor(catalystScope(c)), drivers.Deps{}))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]drivers.Device{}
	for _, d := range inv.Devices {
		byName[d.Name] = d
	}
	acc := byName["ams1-acc-01.example.net"]
	if acc.Model != "C9300-48P" || acc.Serial != "FOC2233Q1AB" || len(acc.Modules) != 2 {
		t.Errorf("stack: model %q serial %q modules %d; want first member and 2 modules", acc.Model, acc.Serial, len(acc.Modules))
	}
	if acc.Site != "AMS1" || acc.Location != "Floor-1" {
		t.Errorf("floor device: site %q location %q; want AMS1 / Floor-1", acc.Site, acc.Location)
	}
	if r := byName["ams1-rtr-01.example.net"]; r.Role != "border-router" || r.Site != "AMS1" || r.Platform != "IOS-XE" || r.OSVersion != "17.6.5" {
		t.Errorf("router: %+v", r)
	}
	// Management addresses come from the vendor-shaped fixture JSON and are
	// only compared, never dialled (the test controllers are on 127.0.0.1).
	const wantNexusMgmt = "10.20.20.1"
	if n := byName["chi2-core-01.example.net"]; n.Platform != "NX-OS" || n.Site != "CHI2" || n.MgmtAddress.String() != wantNexusMgmt || n.Manufacturer != "Cisco" {
		t.Errorf("nexus: %+v", n)
	}
	if ap := byName["AP-AMS1-F1-01"]; ap.Platform != "" || len(ap.Interfaces) != 0 || ap.Location != "Floor-1" {
		t.Errorf("AP: platform %q, %d interfaces, location %q", ap.Platform, len(ap.Interfaces), ap.Location)
	}
	ifByName := map[string]drivers.Interface{}
	for _, it := range acc.Interfaces {
		ifByName[it.Name] = it
	}
	if it := ifByName["GigabitEthernet1/0/2"]; it.Mode != "access" || it.UntaggedVLAN != 30 || it.Type != "1000base-t" || it.SpeedKbps != 1_000_000 {
		t.Errorf("access port: %+v", it)
	}
	if it := ifByName["TenGigabitEthernet1/1/1"]; it.Mode != "tagged-all" || it.UntaggedVLAN != 1 || it.Type != "10gbase-x-sfpp" || it.MTU != 9198 {
		t.Errorf("trunk port: %+v", it)
	}
	if it := ifByName["Port-channel1"]; it.Type != "lag" {
		t.Errorf("port-channel type %q, want lag", it.Type)
	}
	if it := ifByName["GigabitEthernet0/0"]; !it.MgmtOnly || len(it.Addresses) != 1 || it.Addresses[0].Prefix.String() != "10.10.20.11/24" {
		t.Errorf("mgmt port: %+v", it)
	}
	if it := ifByName["GigabitEthernet2/0/1"]; it.Enabled == nil || !*it.Enabled {
		t.Errorf("admin-up, oper-down port should be enabled: %+v", it)
	}
}

// mistCounts derives the expected counts from the fixture: a device per
// inventory entry; gateways' if_stat entries (plus parent ports that have
// no entry of their own) and their ips; switches' ip_stat.ips entries;
// else one uplink with ip_stat.ip.
func mistCounts(t *testing.T) (devs, ifs, addrs int, types map[string]int) {
	var inv []map[string]any
	var stats []struct {
		IfStat map[string]struct {
			PortID string   `json:"port_id"`
			IPs    []string `json:"ips"`
		} `json:"if_stat"`
		IPStat *struct {
			IP  string            `json:"ip"`
			IP6 string            `json:"ip6"`
			IPs map[string]string `json:"ips"`
		} `json:"ip_stat"`
	}
	fixture(t, "mist/inventory.json", &inv)
	fixture(t, "mist/stats-devices.json", &stats)
	types = map[string]int{}
	for _, e := range inv {
		types[e["type"].(string)]++
	}
	for _, s := range stats {
		switch {
		case len(s.IfStat) > 0:
			parents := map[string]bool{}
			for name, is := range s.IfStat {
				ifs++
				addrs += len(is.IPs)
				if _, own := s.IfStat[is.PortID]; is.PortID != name && !own {
					parents[is.PortID] = true
				}
			}
			ifs += len(parents)
		case s.IPStat != nil && len(s.IPStat.IPs) > 0:
			ifs += len(s.IPStat.IPs)
			addrs += len(s.IPStat.IPs)
		case s.IPStat != nil && s.IPStat.IP != "":
			ifs++
			addrs++
			if s.IPStat.IP6 != "" {
				addrs++
			}
		}
	}
	return len(inv), ifs, addrs, types
}

func TestMistInventory(t *testing.T) {
	wantDevs, wantIfs, wantAddrs, types := mistCounts(t)
	if wantDevs != 6 || types["ap"] != 3 || types["switch"] != 2 || types["gateway"] != 1 {
		t.Fatalf("fixture changed: %d devices %v", wantDevs, types)
	}
	for _, tc := range []struct {
		name      string
		serverMax int // server's page cap
		clientPg  int // driver's page size
		// stats pages per site: HQ has 4 devices, the branch 2
		invPages, sitePages, statsPages int
	}{
		{name: "one page each", invPages: 3, sitePages: 1, statsPages: 2},
		// server caps pages at 2: ap 3→2 pages, switch 2→1, gateway 1→1; sites 2→1; stats HQ 4→2, branch 2→1
		{name: "server caps at 2", serverMax: 2, invPages: 4, sitePages: 1, statsPages: 3},
		// client asks 1 per page: ap 3, switch 2, gateway 1; sites 2; stats 4+2
		{name: "client pages of 1", clientPg: 1, invPages: 6, sitePages: 2, statsPages: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMist(t, controllertest.Options{MaxLimit: tc.serverMax})
			d := newDriver(t, policyFor(mistScope(m)), drivers.Deps{})
			if tc.clientPg > 0 {
				d.pageSize = tc.clientPg
			}
			inv, err := discover(t, d)
			if err != nil {
				t.Fatal(err)
			}
			if dv, ifs, ad := inv.Counts(); dv != wantDevs || ifs != wantIfs || ad != wantAddrs {
				t.Errorf("counts = %d devices, %d interfaces, %d addresses; want %d, %d, %d", dv, ifs, ad, wantDevs, wantIfs, wantAddrs)
			}
			roles := map[string]int{}
			for _, dv := range inv.Devices {
				roles[dv.Role]++
			}
			if roles["access-point"] != types["ap"] || roles["switch"] != types["switch"] || roles["gateway"] != types["gateway"] {
				t.Errorf("roles %v, want from types %v", roles, types)
			}
			orbdtest.GoldenJSON(t, filepath.Join("testdata", "mist.golden.json"), inv)
			if n := c(m, "/api/v1/orgs/"+m.OrgID+"/inventory"); n != tc.invPages {
				t.Errorf("inventory requests = %d, want %d", n, tc.invPages)
			}
			if n := c(m, "/api/v1/orgs/"+m.OrgID+"/sites"); n != tc.sitePages {
				t.Errorf("sites requests = %d, want %d", n, tc.sitePages)
			}
			if n := m.Count("/api/v1/sites/"); n != tc.statsPages {
				t.Errorf("stats requests = %d, want %d", n, tc.statsPages)
			}
		})
	}
}

func c(m *controllertest.Mist, path string) int {
	n := 0
	for _, r := range m.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

func TestMistMapping(t *testing.T) {
	m := startMist(t, controllertest.Options{})
	inv, err := discover(t, newDriver(t, policyFor(mistScope(m)), drivers.Deps{}))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]drivers.Device{}
	for _, d := range inv.Devices {
		byName[d.Name] = d
	}
	// The branch AP has no name: its MAC stands in; it is disconnected.
	ap, ok := byName["d4:20:b0:00:1b:03"]
	if !ok || ap.Status != "offline" || ap.Site != "Branch-Austin" || ap.Model != "AP45" || ap.Serial != "A17002305B03" {
		t.Errorf("unnamed AP: %+v (found %v)", ap, ok)
	}
	hq := byName["hq-ap-01"]
	const wantAPMgmt = "10.1.10.21" // from the Mist fixture JSON; compared, never dialled
	if hq.Site != "HQ-Sunnyvale" || hq.MgmtAddress.String() != wantAPMgmt || len(hq.Interfaces) != 1 ||
		hq.Interfaces[0].Name != "eth0" || hq.Interfaces[0].MAC != "5c:5b:35:00:0a:01" || hq.Interfaces[0].Addresses[0].Prefix.String() != "10.1.10.21/24" {
		t.Errorf("hq AP: %+v", hq)
	}
	gw := byName["hq-gw-01"]
	if gw.Role != "gateway" || gw.Platform != "Junos" || gw.OSVersion != "22.4R3-S1.4" {
		t.Errorf("gateway: %+v", gw)
	}
	var unit drivers.Interface
	for _, it := range gw.Interfaces {
		if it.Name == "ge-0/0/1.10" {
			unit = it
		}
	}
	if unit.Parent != "ge-0/0/1" || unit.UntaggedVLAN != 10 || len(unit.Addresses) != 1 {
		t.Errorf("gateway unit: %+v", unit)
	}
}

func TestAuthFailures(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{TLS: true})
	m := startMist(t, controllertest.Options{})
	const secret = "s3cr3t-never-shown-Zq9"
	badPw := catalystScope(c)
	badPw.Password = secret
	badPw.CAFile = writeCA(t, c)
	badTok := mistScope(m)
	badTok.Token = secret
	badOrg := mistScope(m)
	badOrg.OrgID = "00000000-0000-0000-0000-00000000dead"
	for _, tc := range []struct {
		name string
		sc   policies.ControllerScope
		want string
	}{
		{"catalyst password", badPw, "authentication failed (401): check username/password"},
		{"mist token", badTok, "list sites: authentication failed (401): check token"},
		{"mist org", badOrg, "list sites: access denied (403) to /api/v1/orgs/00000000-0000-0000-0000-00000000dead/sites"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := discover(t, newDriver(t, policyFor(tc.sc), drivers.Deps{}))
			if err == nil {
				t.Fatal("discover succeeded with bad credentials")
			}
			// The step, not the controller: the agent names the target.
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to start with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

// TestRetryAfter checks from the server's request log that the client
// waited at least what Retry-After asked before trying again.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    string
		status  int
		n       int
		date    bool // Retry-After as an HTTP date 2s ahead, else "1"
		wantErr string
	}{
		{name: "catalyst 429 seconds", kind: KindCatalyst, status: http.StatusTooManyRequests, n: 2},
		{name: "catalyst 503 date", kind: KindCatalyst, status: http.StatusServiceUnavailable, n: 1, date: true},
		{name: "mist 429 seconds", kind: KindMist, status: http.StatusTooManyRequests, n: 1},
		{name: "mist 503 date", kind: KindMist, status: http.StatusServiceUnavailable, n: 1, date: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				sc   policies.ControllerScope
				fail func(n, status int, ra string)
				reqs func() []controllertest.Request
			)
			if tc.kind == KindCatalyst {
				s := startCatalyst(t, controllertest.Options{})
				sc, fail, reqs = catalystScope(s), s.Fail, s.Requests
			} else {
				s := startMist(t, controllertest.Options{})
				sc, fail, reqs = mistScope(s), s.Fail, s.Requests
			}
			ra := "1"
			var at time.Time
			if tc.date {
				at = time.Now().Add(2 * time.Second).Truncate(time.Second)
				ra = at.UTC().Format(http.TimeFormat)
			}
			fail(tc.n, tc.status, ra)
			reg := prometheus.NewRegistry()
			d := newDriver(t, policyFor(sc), drivers.Deps{Metrics: reg})
			if _, err := discover(t, d); err != nil {
				t.Fatal(err)
			}
			rs := reqs()
			for i := 0; i < tc.n; i++ {
				if rs[i].Status != tc.status {
					t.Fatalf("request %d answered %d, want %d", i, rs[i].Status, tc.status)
				}
				gap := rs[i+1].Time.Sub(rs[i].Time)
				if tc.date {
					if rs[i+1].Time.Before(at) {
						t.Errorf("retry %d arrived at %s, before Retry-After %s", i+1, rs[i+1].Time.Format(time.RFC3339Nano), at.Format(time.RFC3339))
					}
				} else if gap < time.Second {
					t.Errorf("retry %d came %s after the %d, want >= 1s", i+1, gap, tc.status)
				}
				if rs[i+1].Path != rs[i].Path {
					t.Errorf("retry %d went to %s, want the same %s", i+1, rs[i+1].Path, rs[i].Path)
				}
			}
			if rs[tc.n].Status != http.StatusOK {
				t.Errorf("request after the faults answered %d", rs[tc.n].Status)
			}
			if got := testutil.ToFloat64(d.m.retries.WithLabelValues(tc.kind, jsonNum(tc.status))); got != float64(tc.n) {
				t.Errorf("orbd_controller_retries_total = %v, want %d", got, tc.n)
			}
		})
	}
}

func TestRetryBounds(t *testing.T) {
	t.Run("attempts exhausted", func(t *testing.T) {
		s := startMist(t, controllertest.Options{})
		s.Fail(maxAttempts, http.StatusServiceUnavailable, "0")
		_, err := discover(t, newDriver(t, policyFor(mistScope(s)), drivers.Deps{}))
		if err == nil || !strings.Contains(err.Error(), "still 503 Service Unavailable after 5 attempts") {
			t.Fatalf("err = %v", err)
		}
		if n := len(s.Requests()); n != maxAttempts {
			t.Errorf("%d requests, want %d", n, maxAttempts)
		}
	})
	t.Run("retry-after beyond the run deadline", func(t *testing.T) {
		s := startCatalyst(t, controllertest.Options{})
		s.Fail(1, http.StatusTooManyRequests, "3600")
		p := policyFor(catalystScope(s))
		p.RunTimeout = 5 * time.Second
		_, err := discover(t, newDriver(t, p, drivers.Deps{}))
		if err == nil || !strings.Contains(err.Error(), "POST /dna/system/api/v1/auth/token: 429 Too Many Requests asks to retry in 1h0m0s, after the run deadline") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("context cancelled while waiting", func(t *testing.T) {
		s := startMist(t, controllertest.Options{})
		s.Fail(1, http.StatusTooManyRequests, "30")
		d := newDriver(t, policyFor(mistScope(s)), drivers.Deps{})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for len(s.Requests()) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		ts, _ := d.Targets(ctx)
		_, err := d.Discover(ctx, ts[0])
		if err == nil || !strings.Contains(err.Error(), "waiting to retry after 429: context canceled") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTLS(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{TLS: true})
	m := startMist(t, controllertest.Options{TLS: true})
	wrong := orbdtest.UnrelatedCA(t)
	for _, tc := range []struct {
		name     string
		mist     bool
		ca       string // "server", "wrong", ""
		insecure bool
		wantErr  string
	}{
		{name: "catalyst ca_file", ca: "server"},
		{name: "catalyst wrong CA", ca: "wrong", wantErr: "certificate signed by unknown authority"},
		{name: "catalyst no CA", wantErr: "certificate signed by unknown authority"},
		{name: "catalyst insecure", insecure: true},
		{name: "mist ca_file", mist: true, ca: "server"},
		{name: "mist wrong CA", mist: true, ca: "wrong", wantErr: "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc policies.ControllerScope
			var srvCA string
			if tc.mist {
				sc, srvCA = mistScope(m), writeCA(t, m)
			} else {
				sc, srvCA = catalystScope(c), writeCA(t, c)
			}
			switch tc.ca {
			case "server":
				sc.CAFile = srvCA
			case "wrong":
				sc.CAFile = wrong
			}
			sc.Insecure = tc.insecure
			inv, err := discover(t, newDriver(t, policyFor(sc), drivers.Deps{}))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Devices) == 0 {
				t.Error("no devices")
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{})
	c.Malform("/dna/intent/api/v1/interface")
	_, err := discover(t, newDriver(t, policyFor(catalystScope(c)), drivers.Deps{}))
	want := "list interfaces: GET /dna/intent/api/v1/interface?limit=500&offset=1: decode response: unexpected end of JSON input"
	if err == nil || err.Error() != want {
		t.Errorf("catalyst err = %v\nwant %s", err, want)
	}

	m := startMist(t, controllertest.Options{})
	m.Malform("/api/v1/orgs/" + m.OrgID + "/inventory")
	_, err = discover(t, newDriver(t, policyFor(mistScope(m)), drivers.Deps{}))
	want = "org inventory (ap): GET /api/v1/orgs/" + m.OrgID + "/inventory?limit=100&page=1&type=ap: decode response: unexpected end of JSON input"
	if err == nil || err.Error() != want {
		t.Errorf("mist err = %v\nwant %s", err, want)
	}
}

func TestTokenRefresh(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{})
	d := newDriver(t, policyFor(catalystScope(c)), drivers.Deps{})
	d.pageSize = 3
	// A fault-free first page, then the token expires under the run.
	s := &catalystSession{d: d}
	if err := s.login(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.ExpireTokens()
	devs, err := pagedCatalyst[catDevice](context.Background(), s, catDevicePath)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 7 {
		t.Errorf("%d devices after re-login, want 7", len(devs))
	}
	if n := c.Count(catTokenPath); n != 2 {
		t.Errorf("token requests = %d, want 2 (login, re-login)", n)
	}
}

func TestNewValidation(t *testing.T) {
	const pw = "hunter2-proxy-pw"
	for _, tc := range []struct {
		name string
		sc   policies.ControllerScope
		want string
	}{
		{"kind", policies.ControllerScope{Kind: "meraki"}, `scope.kind "meraki": want catalyst_center or mist`},
		{"catalyst url", policies.ControllerScope{Kind: KindCatalyst, Username: "u", Password: "p"}, "scope.url is required for catalyst_center"},
		{"catalyst creds", policies.ControllerScope{Kind: KindCatalyst, URL: "https://127.0.0.1"}, "scope.username and scope.password are required"},
		{"mist token", policies.ControllerScope{Kind: KindMist, OrgID: "o"}, "scope.token is required for mist"},
		{"mist org", policies.ControllerScope{Kind: KindMist, Token: "t"}, "scope.org_id is required for mist"},
		{"scheme", policies.ControllerScope{Kind: KindCatalyst, URL: "ftp://127.0.0.1", Username: "u", Password: "p"}, `scope.url "ftp://127.0.0.1": want http(s)://host[:port][/path]`},
		{"url credentials", policies.ControllerScope{Kind: KindCatalyst, URL: "https://admin:" + pw + "@127.0.0.1", Username: "u", Password: "p"}, "scope.url must not carry credentials"},
		{"proxy", policies.ControllerScope{Kind: KindMist, Token: "t", OrgID: "o", Proxy: policies.Secret("::" + pw)}, "scope.proxy: not a valid proxy URL"},
		{"ca_file", policies.ControllerScope{Kind: KindMist, Token: "t", OrgID: "o", CAFile: "/nonexistent/ca.pem"}, "ca_file: open /nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(policyFor(tc.sc), drivers.Deps{Metrics: prometheus.NewRegistry()})
			// The field, not the policy: the agent names that.
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error leaks the proxy password: %v", err)
			}
		})
	}
	d, err := New(policyFor(policies.ControllerScope{Kind: KindMist, Token: "t", OrgID: "o"}), drivers.Deps{Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := d.Targets(context.Background())
	if ts[0].Host != "api.mist.com" || ts[0].Port != 443 {
		t.Errorf("default mist target %+v", ts[0])
	}
}

func TestRegistered(t *testing.T) {
	if _, ok := drivers.Lookup(policies.BackendController); !ok {
		t.Fatal("controller_discovery not registered")
	}
}

func TestRunTimeout(t *testing.T) {
	c := startCatalyst(t, controllertest.Options{})
	c.Delay(time.Minute)
	p := policyFor(catalystScope(c))
	p.RunTimeout = 200 * time.Millisecond
	_, err := discover(t, newDriver(t, p, drivers.Deps{}))
	want := "get token: POST /dna/system/api/v1/auth/token: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestMetricsPerPolicy(t *testing.T) {
	m := startMist(t, controllertest.Options{})
	reg := prometheus.NewRegistry()
	// The agent hands each driver a registerer scoped with its policy label.
	scoped := func(name string) prometheus.Registerer {
		return prometheus.WrapRegistererWith(prometheus.Labels{"policy": name}, reg)
	}
	d1 := newDriver(t, policyFor(mistScope(m)), drivers.Deps{Metrics: scoped("ctl-test")})
	p2 := policyFor(mistScope(m))
	p2.Name = "other"
	d2 := newDriver(t, p2, drivers.Deps{Metrics: scoped("other")})
	for _, d := range []*Driver{d1, d2} {
		if _, err := discover(t, d); err != nil {
			t.Fatal(err)
		}
	}
	perPolicy := float64(len(m.Requests()) / 2)
	for _, d := range []*Driver{d1, d2} {
		if got := testutil.ToFloat64(d.m.requests.WithLabelValues(KindMist, "200")); got != perPolicy {
			t.Errorf("requests of %s = %v, want %v", d.pol.Name, got, perPolicy)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "orbd_controller_requests_total"); err != nil || n != 2 {
		t.Errorf("%d series (%v), want one per policy", n, err)
	}
}

// TestProxyChoice pins which proxy each kind uses: scope.proxy always
// wins; Mist (a cloud API) then takes the agent's cloud proxy, then the
// environment; Catalyst Center is reached directly unless scope.proxy
// names one. The chosen function is only asked, nothing is dialled.
func TestProxyChoice(t *testing.T) {
	cloud := &url.URL{Scheme: "http", Host: "cloud-proxy.example:3128"}
	const scopeProxy = "http://user:pw@scope-proxy.example:8080"
	env := reflect.ValueOf(http.ProxyFromEnvironment).Pointer()
	for _, tc := range []struct {
		name  string
		kind  string
		scope policies.Secret
		cloud *url.URL
		want  string // proxy host; "env" for the environment, "" for direct
	}{
		{"mist, scope.proxy over cloud proxy", KindMist, scopeProxy, cloud, "scope-proxy.example:8080"},
		{"mist, cloud proxy", KindMist, "", cloud, "cloud-proxy.example:3128"},
		{"mist, environment", KindMist, "", nil, "env"},
		{"catalyst, scope.proxy", KindCatalyst, scopeProxy, cloud, "scope-proxy.example:8080"},
		{"catalyst, cloud proxy ignored", KindCatalyst, "", cloud, ""},
		{"catalyst, environment ignored", KindCatalyst, "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn, err := proxyFunc(tc.kind, tc.scope, tc.cloud)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			switch {
			case fn == nil:
			case reflect.ValueOf(fn).Pointer() == env:
				got = "env"
			default:
				req, _ := http.NewRequest(http.MethodGet, "https://api.mist.com/api/v1/self", nil)
				u, err := fn(req)
				if err != nil || u == nil {
					t.Fatalf("proxy = %v, %v", u, err)
				}
				got = u.Host
			}
			if got != tc.want {
				t.Fatalf("proxy %q; want %q", got, tc.want)
			}
		})
	}
}
