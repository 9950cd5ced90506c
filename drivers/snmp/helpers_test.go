package snmp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/policies"
)

// v2c is a policy-wide SNMPv2c authentication block.
func v2c(community string) *policies.SNMPAuth {
	return &policies.SNMPAuth{ProtocolVersion: "SNMPv2c", Community: policies.Secret(community)}
}

// newDriver builds a driver for a policy with the given scope.
func newDriver(t testing.TB, auth *policies.SNMPAuth, targets []policies.SNMPTarget, mod func(*policies.SNMPConfig)) *Driver {
	t.Helper()
	p := &policies.Policy{
		Backend: policies.BackendSNMP,
		Name:    "test",
		SNMP: &policies.SNMPPolicy{
			Config: policies.SNMPConfig{SNMPTimeout: 1, SNMPProbeTimeout: 0.3, Retries: 0},
			Scope:  policies.SNMPScope{Authentication: auth, Targets: targets},
		},
	}
	if mod != nil {
		mod(&p.SNMP.Config)
	}
	d, err := New(p, drivers.Deps{Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

// startAgent serves a demo recording on a free loopback port.
func startAgent(t testing.TB, name string, opts ...snmptest.Option) *snmptest.Server {
	t.Helper()
	rec, err := snmptest.DemoRecording(name)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, "127.0.0.1:0", rec, opts...)
}

func serve(t testing.TB, addr string, rec *snmptest.Recording, opts ...snmptest.Option) *snmptest.Server {
	t.Helper()
	s, err := snmptest.NewServer(addr, rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func target(port int) drivers.Target {
	return drivers.Target{Host: "127.0.0.1", Port: port}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// one is a scope with a single 127.0.0.1 entry.
func one(port int) []policies.SNMPTarget {
	return []policies.SNMPTarget{{Host: "127.0.0.1", Port: port}}
}

func writeFileErr(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }
