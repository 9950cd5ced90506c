package vcenter_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/vcenter"
	"github.com/orbd/orbd/drivers/vcenter/vcentertest"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/internal/ingesttest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

func start(t testing.TB, m *simulator.Model) *vcentertest.Server {
	t.Helper()
	s, err := vcentertest.Start(m, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// policy builds a vcenter_discovery policy for s; edit adjusts it.
func policy(s *vcentertest.Server, edit func(*policies.Policy)) *policies.Policy {
	p := &policies.Policy{
		Backend:       policies.BackendVCenter,
		Name:          "vc",
		TargetTimeout: 30 * time.Second,
		VCenter: &policies.VCenterPolicy{Scope: policies.VCenterScope{
			URL:      s.URL.String(),
			Username: s.Username,
			Password: policies.Secret(s.Password),
			Insecure: true,
		}},
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func discover(t *testing.T, p *policies.Policy) (*drivers.Inventory, error) {
	t.Helper()
	spec, ok := drivers.Lookup(policies.BackendVCenter)
	if !ok {
		t.Fatal("vcenter_discovery not registered")
	}
	d, err := spec.New(p, drivers.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := d.Targets(context.Background())
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets = %v, %v; want one", targets, err)
	}
	return d.Discover(context.Background(), targets[0])
}

// summary is what the tests compare between the simulator's model and the
// inventory: names and relations, plus totals of the repeated parts.
type summary struct {
	Clusters   []string // group/name
	Hosts      []string // name@cluster
	VMs        []string // name@host@cluster
	VMDisks    int
	VMNICs     int
	HostNICs   int // pnic + vnic
	DiskGB     int64
	MemoryMB   int64
	VCPUs      float64
	PoweredOff int
}

func (s *summary) sort() {
	sort.Strings(s.Clusters)
	sort.Strings(s.Hosts)
	sort.Strings(s.VMs)
}

func inventorySummary(inv *drivers.Inventory) summary {
	var s summary
	for _, c := range inv.Clusters {
		if c.Type != "VMware vSphere" {
			panic("cluster without type " + c.Name)
		}
		s.Clusters = append(s.Clusters, c.Group+"/"+c.Name)
	}
	for _, d := range inv.Devices {
		s.Hosts = append(s.Hosts, d.Name+"@"+d.Cluster)
		s.HostNICs += len(d.Interfaces)
	}
	for _, v := range inv.VirtualMachines {
		s.VMs = append(s.VMs, v.Name+"@"+v.Device+"@"+v.Cluster)
		s.VMDisks += len(v.Disks)
		s.VMNICs += len(v.Interfaces)
		s.DiskGB += v.DiskGB
		s.MemoryMB += v.MemoryMB
		s.VCPUs += v.VCPUs
		if v.Status == "offline" {
			s.PoweredOff++
		}
	}
	s.sort()
	return s
}

// modelSummary reads the simulator's registry directly (no SOAP), under
// the registry's locks, keeping objects below datacenter dc ("" = all).
func modelSummary(t *testing.T, m *simulator.Model, dc string, templates bool) summary {
	t.Helper()
	ctx := m.Service.Context
	reg := ctx.Map
	name := func(ref types.ManagedObjectReference) string {
		return reg.Get(ref).(mo.Entity).Entity().Name
	}
	dcOf := func(e mo.Entity) string {
		for ref := e.Entity().Parent; ref != nil; {
			obj := reg.Get(*ref).(mo.Entity)
			if ref.Type == "Datacenter" {
				return obj.Entity().Name
			}
			ref = obj.Entity().Parent
		}
		return ""
	}
	var s summary
	clusterOfHost := map[types.ManagedObjectReference]string{}
	for _, e := range reg.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		var row string
		reg.WithLock(ctx, h.Reference(), func() {
			if dc != "" && dcOf(h) != dc {
				return
			}
			cluster := ""
			if h.Parent.Type == "ClusterComputeResource" {
				cluster = name(*h.Parent)
			}
			clusterOfHost[h.Self] = cluster
			row = h.Name + "@" + cluster
			s.HostNICs += len(h.Config.Network.Pnic) + len(h.Config.Network.Vnic)
		})
		if row != "" {
			s.Hosts = append(s.Hosts, row)
		}
	}
	for _, e := range reg.All("ClusterComputeResource") {
		if d := dcOf(e); dc == "" || d == dc {
			s.Clusters = append(s.Clusters, d+"/"+e.Entity().Name)
		}
	}
	for _, e := range reg.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		reg.WithLock(ctx, vm.Reference(), func() {
			if dc != "" && dcOf(vm) != dc || vm.Config.Template && !templates {
				return
			}
			host := *vm.Runtime.Host
			cluster, hostName := clusterOfHost[host], ""
			if cluster != "" { // NetBox takes a VM's host only with its cluster
				hostName = name(host)
			}
			s.VMs = append(s.VMs, vm.Name+"@"+hostName+"@"+cluster)
			s.MemoryMB += int64(vm.Config.Hardware.MemoryMB)
			s.VCPUs += float64(vm.Config.Hardware.NumCPU)
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
				s.PoweredOff++
			}
			for _, d := range vm.Config.Hardware.Device {
				switch d := d.(type) {
				case *types.VirtualDisk:
					s.VMDisks++
					s.DiskGB += (d.CapacityInBytes + 1<<30 - 1) >> 30
				case types.BaseVirtualEthernetCard:
					s.VMNICs++
				}
			}
		})
	}
	s.sort()
	return s
}

func TestDefaultVPXMatchesModel(t *testing.T) {
	s := start(t, nil)
	inv, err := discover(t, policy(s, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, want := inventorySummary(inv), modelSummary(t, s.Model, "", false)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("inventory does not match the simulator model\n got %+v\nwant %+v", got, want)
	}
	// The documented shape of the default VPX model, as a sanity check on
	// the model query itself: 1 cluster of 3 hosts, 1 standalone host, 4 VMs.
	if len(want.Clusters) != 1 || len(want.Hosts) != 4 || len(want.VMs) != 4 {
		t.Fatalf("default VPX model changed shape: %+v", want)
	}
	// The standalone host (DC0_H0, not in a cluster) is a device, and its
	// VMs are reported, on the policy's site and without the host.
	standalone := slices.IndexFunc(inv.Devices, func(d drivers.Device) bool { return d.Name == "DC0_H0" })
	if standalone < 0 || inv.Devices[standalone].Cluster != "" || len(inv.Devices[standalone].Interfaces) == 0 {
		t.Fatalf("standalone host DC0_H0 missing or misplaced: %+v", inv.Devices)
	}
	var standaloneVMs []string
	for _, v := range inv.VirtualMachines {
		if strings.HasPrefix(v.Name, "DC0_H0_VM") {
			standaloneVMs = append(standaloneVMs, v.Name+"@"+v.Device+"@"+v.Cluster)
		}
	}
	if fmt.Sprint(standaloneVMs) != "[DC0_H0_VM0@@ DC0_H0_VM1@@]" {
		t.Fatalf("standalone host's VMs = %q; want DC0_H0_VM0, DC0_H0_VM1 without host or cluster", standaloneVMs)
	}
	// vcsim places cluster VMs on a random host; placement is checked
	// against the model above, so the golden file leaves it out.
	for i := range inv.VirtualMachines {
		if inv.VirtualMachines[i].Cluster != "" {
			inv.VirtualMachines[i].Device = "(checked against the model)"
		}
	}
	testutil.GoldenJSON(t, filepath.Join("testdata", "vpx-default.json"), inv)

	// Through the ingest mapping: one Diode entity per object of the model.
	counts, ents := ingesttest.Map(t, inv)
	ingesttest.CheckCounts(t, counts, map[string]int{
		"cluster": len(want.Clusters), "device": len(want.Hosts), "virtual_machine": len(want.VMs),
		"vm_interface": want.VMNICs, "virtual_disk": want.VMDisks, "interface": want.HostNICs,
	})
	testutil.Golden(t, filepath.Join("testdata", "vpx-default.entities.json"), ents)
}

// TestGuestIPsAndTemplates changes the model: guest IPs on a NIC (bound by
// MAC), one VM turned into a template.
func TestGuestIPsAndTemplates(t *testing.T) {
	s := start(t, nil)
	ctx := s.Model.Service.Context
	reg := ctx.Map
	vms := reg.All("VirtualMachine")
	slices.SortFunc(vms, func(a, b mo.Entity) int { return strings.Compare(a.Entity().Name, b.Entity().Name) })
	withIP, tmpl := vms[0].(*simulator.VirtualMachine), vms[1].(*simulator.VirtualMachine)
	var mac string
	reg.WithLock(ctx, withIP.Reference(), func() {
		n := &withIP.Guest.Net[0]
		mac = n.MacAddress
		n.IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{
			{IpAddress: "192.0.2.5", PrefixLength: 24},
			{IpAddress: "127.0.0.1", PrefixLength: 8}, // loopback: left out
			{IpAddress: "fe80::1", PrefixLength: 64},  // link-local: left out
			{IpAddress: "2001:db8::5", PrefixLength: 64},
		}}
	})
	reg.WithLock(ctx, tmpl.Reference(), func() { tmpl.Config.Template = true })
	// Power states: NetBox's VM status has active and offline.
	off, suspended := vms[2].(*simulator.VirtualMachine), vms[3].(*simulator.VirtualMachine)
	reg.WithLock(ctx, off.Reference(), func() { off.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOff })
	reg.WithLock(ctx, suspended.Reference(), func() { suspended.Runtime.PowerState = types.VirtualMachinePowerStateSuspended })
	wantStatus := map[string]string{withIP.Name: "active", off.Name: "offline", suspended.Name: "offline"}

	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_templates=%v", include), func(t *testing.T) {
			inv, err := discover(t, policy(s, func(p *policies.Policy) { p.VCenter.Config.Options.IncludeTemplates = include }))
			if err != nil {
				t.Fatal(err)
			}
			got, want := inventorySummary(inv), modelSummary(t, s.Model, "", include)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("\n got %+v\nwant %+v", got, want)
			}
			for _, v := range inv.VirtualMachines {
				if w, ok := wantStatus[v.Name]; ok && v.Status != w {
					t.Errorf("VM %s status %q; want %q", v.Name, v.Status, w)
				}
			}
			if want.PoweredOff != 2 {
				t.Fatalf("model has %d VMs not powered on; want the 2 changed", want.PoweredOff)
			}
			hasTmpl := slices.ContainsFunc(inv.VirtualMachines, func(v drivers.VirtualMachine) bool { return v.Name == tmpl.Name })
			if hasTmpl != include {
				t.Fatalf("template %s present=%v, want %v", tmpl.Name, hasTmpl, include)
			}
			i := slices.IndexFunc(inv.VirtualMachines, func(v drivers.VirtualMachine) bool { return v.Name == withIP.Name })
			nic := inv.VirtualMachines[i].Interfaces[0]
			var addrs []string
			for _, a := range nic.Addresses {
				addrs = append(addrs, a.Prefix.String())
			}
			if nic.MAC != strings.ToLower(mac) || fmt.Sprint(addrs) != "[192.0.2.5/24 2001:db8::5/64]" {
				t.Fatalf("%s NIC = %s %v; want %s [192.0.2.5/24 2001:db8::5/64]", withIP.Name, nic.MAC, addrs, mac)
			}
		})
	}
}

func TestDatacenterFilter(t *testing.T) {
	m := simulator.VPX()
	m.Datacenter = 2
	s := start(t, m)
	for _, dc := range []string{"DC0", "DC1"} {
		t.Run(dc, func(t *testing.T) {
			inv, err := discover(t, policy(s, func(p *policies.Policy) { p.VCenter.Scope.Datacenters = []string{dc} }))
			if err != nil {
				t.Fatal(err)
			}
			got, want := inventorySummary(inv), modelSummary(t, s.Model, dc, false)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("\n got %+v\nwant %+v", got, want)
			}
			all := modelSummary(t, s.Model, "", false)
			if len(got.VMs) == 0 || len(got.VMs) >= len(all.VMs) {
				t.Fatalf("filter kept %d of %d VMs", len(got.VMs), len(all.VMs))
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := discover(t, policy(s, func(p *policies.Policy) { p.VCenter.Scope.Datacenters = []string{"DC9"} }))
		want := `datacenter "DC9" not found (have: DC0, DC1)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v; want it to contain %q", err, want)
		}
	})
}

func TestTLS(t *testing.T) {
	s := start(t, nil)
	wrongCA := testutil.UnrelatedCA(t)
	badCA := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(badCA, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		insecure bool
		caFile   string
		wantErr  string
	}{
		{"insecure", true, "", ""},
		{"ca_file", false, s.CAFile, ""},
		{"system roots only", false, "", "certificate"},
		{"wrong ca_file", false, wrongCA, "certificate signed by unknown authority"},
		{"unreadable ca_file", false, badCA, "ca_file " + badCA},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := discover(t, policy(s, func(p *policies.Policy) {
				p.VCenter.Scope.Insecure = c.insecure
				p.VCenter.Scope.CAFile = c.caFile
			}))
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v; want it to contain %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), s.Password) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestLoginFailure(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		s := start(t, nil)
		_, err := discover(t, policy(s, func(p *policies.Policy) { p.VCenter.Scope.Password = "wrong-secret" }))
		want := fmt.Sprintf("login as %s: ServerFaultCode: ", s.Username)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("err = %v; want prefix %q", err, want)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	})
	t.Run("fault injected", func(t *testing.T) {
		s := start(t, nil)
		s.Service().AddFaultRule(&simulator.FaultInjectionRule{
			MethodName: "Login", ObjectType: "*", ObjectName: "*", Probability: 1,
			FaultType: simulator.FaultTypeNotAuthenticated, Message: "directory service down", Enabled: true,
		})
		_, err := discover(t, policy(s, nil))
		want := fmt.Sprintf("login as %s: ServerFaultCode: directory service down", s.Username)
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v; want %q", err, want)
		}
	})
}

// sessions lists the simulator's sessions other than the observer's own.
func sessions(t *testing.T, s *vcentertest.Server) int {
	t.Helper()
	ctx := context.Background()
	u := *s.URL
	u.User = url.UserPassword(s.Username, s.Password)
	c, err := govmomi.NewClient(ctx, &u, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	var sm mo.SessionManager
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *c.Client.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range sm.SessionList {
		if x.Key != sm.CurrentSession.Key {
			n++
		}
	}
	return n
}

func TestSlowPropertyCollectorTimesOutAndLogsOut(t *testing.T) {
	s := start(t, nil)
	// A fault after 2 s: the run's 300 ms deadline expires first.
	s.Service().AddFaultRule(&simulator.FaultInjectionRule{
		MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*", Probability: 1,
		FaultType: simulator.FaultTypeTimeout, Delay: 2000, Enabled: true,
	})
	// No MaxCount: the simulator updates a rule's counters under a read lock
	// (a data race with concurrent calls such as our Logout); the rule is
	// cleared instead once the run has returned.
	_, err := discover(t, policy(s, func(p *policies.Policy) { p.TargetTimeout = 300 * time.Millisecond }))
	s.Service().ClearFaultRules()
	want := "timed out after 300ms: retrieve properties: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v; want prefix %q", err, want)
	}
	if n := sessions(t, s); n != 0 {
		t.Fatalf("%d sessions left open after a timed-out run; want 0 (logout)", n)
	}
}

func TestLogout(t *testing.T) {
	s := start(t, nil)
	// The observer itself works: a session opened and not closed is seen.
	u := *s.URL
	u.User = url.UserPassword(s.Username, s.Password)
	leak, err := govmomi.NewClient(context.Background(), &u, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := sessions(t, s); n != 1 {
		t.Fatalf("observer sees %d sessions; want the 1 left open", n)
	}
	_ = leak.Logout(context.Background())

	for range 2 {
		if _, err := discover(t, policy(s, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := sessions(t, s); n != 0 {
		t.Fatalf("%d sessions left open after two runs; want 0", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		url, user, pass, want string
	}{
		{"", "u", "p", "scope.url: empty URL"},
		{"https://admin:hunter2@vc.example.com/sdk", "u", "p", "scope.url: credentials in the URL are not allowed"},
		{"ftp://vc.example.com", "u", "p", `scope.url: scheme "ftp"`},
		{"https://vc.example.com/sdk", "", "p", "scope: username and password are required"},
	}
	for _, c := range cases {
		p := &policies.Policy{Backend: policies.BackendVCenter, Name: "bad", VCenter: &policies.VCenterPolicy{
			Scope: policies.VCenterScope{URL: c.url, Username: c.user, Password: policies.Secret(c.pass)},
		}}
		_, err := vcenter.New(p, drivers.Deps{})
		// The field, not the policy: the agent names that.
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("url %q: err = %v; want %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestTargetsAndURLDefaults(t *testing.T) {
	for in, want := range map[string]string{
		"vc.example.com":              "https://vc.example.com/sdk vc.example.com:443",
		"https://vc.example.com:8443": "https://vc.example.com:8443/sdk vc.example.com:8443",
		"http://127.0.0.1:8989/sdk":   "http://127.0.0.1:8989/sdk 127.0.0.1:8989",
	} {
		p := &policies.Policy{Backend: policies.BackendVCenter, Name: "t", VCenter: &policies.VCenterPolicy{
			Scope: policies.VCenterScope{URL: in, Username: "u", Password: "p"},
		}}
		d, err := vcenter.New(p, drivers.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		ts, _ := d.Targets(context.Background())
		u, _ := vcenter.ParseURL(in)
		if got := u.String() + " " + ts[0].String(); got != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
}

func TestDemo(t *testing.T) {
	body, stop, err := vcentertest.Demo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	p := testutil.LoadPolicy(t, policies.BackendVCenter, "demo_vcenter", body)
	u, err := url.Parse(p.VCenter.Scope.URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("demo URL %q is not on loopback", p.VCenter.Scope.URL)
	}
	inv, err := discover(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Clusters) != 1 || len(inv.Devices) != 4 || len(inv.VirtualMachines) != 4 {
		t.Fatalf("demo inventory: %d clusters, %d hosts, %d VMs; want 1, 4, 4", len(inv.Clusters), len(inv.Devices), len(inv.VirtualMachines))
	}
	// NetBox's rules for a VM: a site or a cluster, and a host device only
	// with a cluster. Checked on what the demo policy really emits.
	ents := ingest.Entities(inv, p.Defaults, ingest.MapOptions{Now: time.Now()})
	vms := 0
	for _, e := range ents {
		vm := e.GetVirtualMachine()
		if vm == nil {
			continue
		}
		vms++
		if vm.GetSite() == nil && vm.GetCluster() == nil {
			t.Errorf("VM %s has neither site nor cluster", vm.GetName())
		}
		if vm.GetDevice() != nil && vm.GetCluster() == nil {
			t.Errorf("VM %s has a host device without a cluster", vm.GetName())
		}
	}
	if vms != 4 {
		t.Fatalf("%d VM entities; want 4", vms)
	}
}
