package snmp

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

// The embedded demo devices discovered over v2c give the golden inventory.
func TestDiscoverDemoRecordings(t *testing.T) {
	for _, name := range snmptest.DemoDevices {
		t.Run(name, func(t *testing.T) {
			s := startAgent(t, name, snmptest.WithCommunity("demo"))
			d := newDriver(t, v2c("demo"), one(s.Port()), func(c *policies.SNMPConfig) { c.Options.DiscoverModules = true; c.Options.DiscoverVRFs = true })
			inv, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
			if err != nil {
				t.Fatal(err)
			}
			dev := inv.Devices[0]
			dev.MgmtAddress = netip.Addr{} // the port is random; the address is not
			testutil.GoldenJSON(t, filepath.Join("testdata", name+".golden.json"), dev)
		})
	}
}

// Demo starts the lab; its policy body passes the real policy loader and
// discovers the four devices, while the silent address answers nothing.
func TestDemo(t *testing.T) {
	ctx := ctxTimeout(t, 60*time.Second)
	body, stop, err := snmptest.Demo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	p := testutil.LoadPolicy(t, policies.BackendSNMP, "demo_snmp", body)
	if p.SNMP == nil {
		t.Fatalf("policy: %+v", p)
	}
	spec, _ := drivers.Lookup(policies.BackendSNMP)
	drv, err := spec.New(p, drivers.Deps{Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := drv.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	silent := 0
	for _, tg := range ts {
		if tg.Swept {
			if err := drv.(drivers.Prober).Probe(ctx, tg); err != nil {
				if !errors.Is(err, drivers.ErrNoAnswer) {
					t.Errorf("%s: %v", tg, err)
				}
				silent++
				continue
			}
		}
		inv, err := drv.Discover(ctx, tg)
		if err != nil {
			if !tg.Swept {
				silent++ // fallback layout: the silent agent is a plain target
				continue
			}
			t.Errorf("%s: %v", tg, err)
			continue
		}
		names = append(names, inv.Devices[0].Name)
	}
	sort.Strings(names)
	want := []string{"dist-sw01.lab.example.net", "edge-rtr01.lab.example.net", "leaf01.lab.example.net", "web01"}
	if !reflect.DeepEqual(names, want) || silent != 1 {
		t.Errorf("discovered %v with %d silent, want %v and 1 silent", names, silent, want)
	}
}
