package snmp

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/policies"
)

// One device that is silent, answers garbage or rejects the community
// fails with an error naming the step (the agent prefixes the target).
func TestDiscoverFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []snmptest.Option
		auth *policies.SNMPAuth
		want []string
	}{
		{"silent", []snmptest.Option{snmptest.WithDrop()}, v2c("public"),
			[]string{"get system group: no response (wrong community or no agent?)", "timeout"}},
		{"wrong community", nil, v2c("private"),
			[]string{"get system group: no response (wrong community or no agent?)"}},
		{"garbage", []snmptest.Option{snmptest.WithGarbage()}, v2c("public"),
			[]string{"get system group: malformed response (not SNMP?)"}},
		{"v3 unknown user", []snmptest.Option{snmptest.WithV3User("someone")},
			&policies.SNMPAuth{ProtocolVersion: "SNMPv3", SecurityLevel: "noAuthNoPriv", Username: "nobody-here"},
			[]string{"get system group: authentication failed (unknown user)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startAgent(t, "linux-netsnmp", tc.opts...)
			d := newDriver(t, tc.auth, one(s.Port()), func(c *policies.SNMPConfig) { c.SNMPTimeout = 0.2 })
			_, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
			if err == nil {
				t.Fatal("no error")
			}
			prefix := "get system group: "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "private") {
				t.Errorf("error leaks the community: %q", err)
			}
		})
	}
}

// A walk that stalls after the system group names the table.
func TestDiscoverWalkTimeoutNamesTable(t *testing.T) {
	s := startAgent(t, "cisco-iosxe-c9300", snmptest.WithSilentOn(".1.3.6.1.2.1.31.1.1.1"))
	d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.SNMPTimeout = 0.2; c.Retries = 1 })
	_, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
	want := "walk ifXTable: request timeout"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// Responses slower than the round trip but within snmp_timeout succeed.
func TestDiscoverSlowAgent(t *testing.T) {
	s := startAgent(t, "cisco-iosxe-c9300", snmptest.WithDelay(100*time.Millisecond))
	d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.SNMPTimeout = 1 })
	if _, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port())); err != nil {
		t.Fatal(err)
	}
}

// v1 (GETNEXT) and v3 noAuthNoPriv find exactly what v2c (GETBULK) finds.
func TestDiscoverVersionsAgree(t *testing.T) {
	for _, name := range snmptest.DemoDevices {
		t.Run(name, func(t *testing.T) {
			s := startAgent(t, name, snmptest.WithV3User("reader"))
			run := func(a *policies.SNMPAuth) drivers.Device {
				d := newDriver(t, a, one(s.Port()), nil)
				inv, err := d.Discover(ctxTimeout(t, 20*time.Second), target(s.Port()))
				if err != nil {
					t.Fatalf("%s: %v", a.ProtocolVersion, err)
				}
				return inv.Devices[0]
			}
			want := run(v2c("public"))
			for _, a := range []*policies.SNMPAuth{
				{ProtocolVersion: "SNMPv1", Community: "public"},
				{ProtocolVersion: "SNMPv3", SecurityLevel: "noAuthNoPriv", Username: "reader"},
			} {
				if got := run(a); !reflect.DeepEqual(got, want) {
					t.Errorf("%s differs from SNMPv2c:\n got %+v\nwant %+v", a.ProtocolVersion, got, want)
				}
			}
		})
	}
}

// Tiny max-repetitions and many columns still yield the same inventory
// (responses advance columns unevenly).
func TestDiscoverMaxRepetitions(t *testing.T) {
	s := startAgent(t, "cisco-iosxe-c9300")
	var want drivers.Device
	for i, mr := range []int{25, 1, 2, 7, 200} {
		d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.Options.MaxRepetitions = mr })
		inv, err := d.Discover(ctxTimeout(t, 20*time.Second), target(s.Port()))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = inv.Devices[0]
			continue
		}
		if !reflect.DeepEqual(inv.Devices[0], want) {
			t.Errorf("max_repetitions %d differs", mr)
		}
	}
}

func TestLookupExtensionModelWins(t *testing.T) {
	s := startAgent(t, "cisco-iosxe-c9300")
	dir := t.TempDir()
	writeFile(t, dir+"/m.yaml", "devices:\n  .1.3.6.1.4.1.9.1.2494: C9300-48P-E\n")
	d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.LookupExtensionsDir = dir })
	inv, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	if dev := inv.Devices[0]; dev.Model != "C9300-48P-E" || dev.PartNumber != "C9300-48P" {
		t.Errorf("model %q part %q", dev.Model, dev.PartNumber)
	}
}

func TestProbe(t *testing.T) {
	live := startAgent(t, "linux-netsnmp")
	silent := startAgent(t, "linux-netsnmp", snmptest.WithDrop())
	garbage := startAgent(t, "linux-netsnmp", snmptest.WithGarbage())
	closedPort := peertest.FreeUDPPort(t)
	d := newDriver(t, v2c("public"), one(0), nil)
	ctx := ctxTimeout(t, 10*time.Second)
	if err := d.Probe(ctx, target(live.Port())); err != nil {
		t.Errorf("live: %v", err)
	}
	if live.Requests() != 1 {
		t.Errorf("probe sent %d requests, want 1", live.Requests())
	}
	for name, port := range map[string]int{"silent": silent.Port(), "closed": closedPort} {
		err := d.Probe(ctx, target(port))
		if !errors.Is(err, drivers.ErrNoAnswer) {
			t.Errorf("%s: got %v, want ErrNoAnswer", name, err)
		}
	}
	err := d.Probe(ctx, target(garbage.Port()))
	if err == nil || errors.Is(err, drivers.ErrNoAnswer) || !strings.HasPrefix(err.Error(), "reply is not SNMP (") {
		t.Errorf("garbage: got %v, want a non-SNMP error", err)
	}
}

// The v3 probe never carries the operator's user name: the agent sees only
// the placeholder.
func TestProbeV3SendsPlaceholderUser(t *testing.T) {
	s := startAgent(t, "linux-netsnmp", snmptest.WithV3User("operator"))
	auth := &policies.SNMPAuth{ProtocolVersion: "SNMPv3", SecurityLevel: "authPriv", Username: "operator",
		AuthProtocol: "SHA", AuthPassphrase: "authpass123", PrivProtocol: "AES", PrivPassphrase: "privpass123"}
	d := newDriver(t, auth, one(s.Port()), nil)
	if err := d.Probe(ctxTimeout(t, 5*time.Second), target(s.Port())); err != nil {
		t.Fatal(err)
	}
	if got := s.Usernames(); len(got) != 1 || got[0] != ProbeUser {
		t.Errorf("agent saw users %q, want only %q", got, ProbeUser)
	}
	if s.Requests() != 1 {
		t.Errorf("probe took %d requests, want 1", s.Requests())
	}
}

// A swept loopback range where 3 of 10 addresses answer: exactly those are
// discovered, the rest report no answer.
func TestSweepLoopbackRange(t *testing.T) {
	port := peertest.FreeUDPPort(t)
	live := map[string]string{"127.0.0.21": "cisco-iosxe-c9300", "127.0.0.24": "arista-eos-7050", "127.0.0.28": "linux-netsnmp"}
	for host, name := range live {
		rec, err := snmptest.DemoRecording(name)
		if err != nil {
			t.Fatal(err)
		}
		serve(t, host+":"+strconv.Itoa(port), rec)
	}
	// One address holds a silent agent, the others have nothing listening.
	serve(t, "127.0.0.26:"+strconv.Itoa(port), &snmptest.Recording{}, snmptest.WithDrop())

	d := newDriver(t, v2c("public"), []policies.SNMPTarget{{Host: "127.0.0.20-127.0.0.29", Port: port}}, nil)
	ctx := ctxTimeout(t, 30*time.Second)
	ts, err := d.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 10 {
		t.Fatalf("%d targets, want 10", len(ts))
	}
	var mu sync.Mutex
	found := map[string]string{}
	var noAnswer []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, tg := range ts {
		if !tg.Swept {
			t.Fatalf("%s not swept", tg)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := d.Probe(ctx, tg); err != nil {
				if !errors.Is(err, drivers.ErrNoAnswer) {
					t.Errorf("%s: %v", tg, err)
				}
				mu.Lock()
				noAnswer = append(noAnswer, tg.Host)
				mu.Unlock()
				return
			}
			inv, err := d.Discover(ctx, tg)
			if err != nil {
				t.Errorf("%s: %v", tg, err)
				return
			}
			mu.Lock()
			found[tg.Host] = inv.Devices[0].Name
			mu.Unlock()
		}()
	}
	wg.Wait()
	want := map[string]string{"127.0.0.21": "dist-sw01.lab.example.net", "127.0.0.24": "leaf01.lab.example.net", "127.0.0.28": "web01"}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("discovered %v, want %v", found, want)
	}
	sort.Strings(noAnswer)
	if len(noAnswer) != 7 || noAnswer[0] != "127.0.0.20" {
		t.Errorf("no answer from %v, want the 7 others", noAnswer)
	}
}

// Discovery never sends more requests than snmpbulkwalk needs to walk the
// same columns at the same max-repetitions (counted by the same agent).
func TestRequestsAtMostSnmpbulkwalk(t *testing.T) {
	bin := peertest.Require(t, "snmpbulkwalk", "snmp")
	for _, name := range snmptest.DemoDevices {
		for _, vrfs := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/discover_vrfs=%v", name, vrfs), func(t *testing.T) {
				s := startAgent(t, name)
				d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.Options.DiscoverVRFs = vrfs })
				_, ours, err := d.discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
				if err != nil {
					t.Fatal(err)
				}
				s.ResetRequests()
				// The Cisco walks are a superset: every device is compared with them.
				runSnmpbulkwalk(t, bin, s.Port(), "public", 25, referenceSubtrees(".1.3.6.1.4.1.9", vrfs))
				ref := s.Requests()
				t.Logf("%s: orbd %d requests, snmpbulkwalk %d", name, ours, ref)
				if ours > ref {
					t.Errorf("orbd sent %d requests, snmpbulkwalk %d", ours, ref)
				}
			})
		}
	}
}

// referenceSubtrees lists what snmpbulkwalk must walk to collect what the
// driver collects: each column separately (snmpbulkwalk walks one subtree
// per run) plus one GET-equivalent walk of each system scalar.
func referenceSubtrees(sysObjectID string, vrfs bool) []string {
	var out []string
	for _, o := range []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysName, oidSysLocation} {
		out = append(out, strings.TrimSuffix(o, ".0"))
	}
	for _, tb := range tablesFor(sysObjectID, vrfs) {
		out = append(out, tb.cols...)
	}
	return out
}

func runSnmpbulkwalk(t testing.TB, bin string, port int, community string, maxRep int, subtrees []string) {
	t.Helper()
	for _, st := range subtrees {
		cmd := exec.Command(bin, "-m", "", "-v2c", "-c", community, "-Cr"+strconv.Itoa(maxRep), "-t", "5", "-r", "0",
			"127.0.0.1:"+strconv.Itoa(port), st)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmpbulkwalk %s: %v\n%s", st, err, out)
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := writeFileErr(path, body); err != nil {
		t.Fatal(err)
	}
}

// The run's deadline (policy timeout) cuts a device short even inside a
// long snmp_timeout: the pending request is abandoned and its retries are
// never sent.
func TestDiscoverHonoursRunDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []snmptest.Option
		requests int64 // exact count when known, else 0
	}{
		{"silent agent", []snmptest.Option{snmptest.WithDrop()}, 1},
		{"walk stalls", []snmptest.Option{snmptest.WithSilentOn(".1.3.6.1.2.1.2.2.1")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startAgent(t, "linux-netsnmp", tc.opts...)
			d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.SNMPTimeout = 30; c.Retries = 3 })
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := d.Discover(ctx, target(s.Port())); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(15 * time.Second): // snmp_timeout × retries would be 120 s
				t.Fatal("Discover ignored the run deadline")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want the run's deadline", err)
			}
			if n := s.Requests(); tc.requests != 0 && n != tc.requests {
				t.Errorf("agent saw %d requests, want %d (no retries after the deadline)", n, tc.requests)
			}
		})
	}
}
