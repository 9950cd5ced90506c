package snmp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func TestRegistered(t *testing.T) {
	if _, ok := drivers.Lookup(policies.BackendSNMP); !ok {
		t.Fatal("snmp_discovery backend not registered")
	}
}

func TestTargets(t *testing.T) {
	over := &policies.Defaults{Role: "core"}
	v3 := &policies.SNMPAuth{ProtocolVersion: "SNMPv3", SecurityLevel: "authPriv", Username: "u",
		AuthProtocol: "SHA256", AuthPassphrase: "a-pass-1234", PrivProtocol: "AES256C", PrivPassphrase: "p-pass-1234"}
	d := newDriver(t, v2c("public"), []policies.SNMPTarget{
		{Host: "192.0.2.1"},
		{Host: "192.0.2.8/30", Port: 1161},
		{Host: "198.51.100.5-7", OverrideDefaults: over, NetboxID: 7},
		{Host: "switch1.example.net", Authentication: v3},
	}, nil)
	got, err := d.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []drivers.Target{
		{Host: "192.0.2.1", Port: 161, Entry: 0},
		{Host: "192.0.2.9", Port: 1161, Entry: 1, Swept: true},
		{Host: "192.0.2.10", Port: 1161, Entry: 1, Swept: true},
		{Host: "198.51.100.5", Port: 161, Entry: 2, Swept: true, Overrides: over, NetboxID: 7},
		{Host: "198.51.100.6", Port: 161, Entry: 2, Swept: true, Overrides: over, NetboxID: 7},
		{Host: "198.51.100.7", Port: 161, Entry: 2, Swept: true, Overrides: over, NetboxID: 7},
		{Host: "switch1.example.net", Port: 161, Entry: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d targets %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// The entry's authentication replaces the policy-wide one wholesale.
	if a := d.auths[3]; a.user != "u" || a.community != "" || a.privPass.Reveal() != "p-pass-1234" {
		t.Errorf("entry auth not used: %+v", a)
	}
	if a := d.auths[0]; a.community.Reveal() != "public" {
		t.Errorf("policy auth not used: %+v", a)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth *policies.SNMPAuth
		want string
	}{
		{"no auth", nil, "no authentication"},
		{"bad version", &policies.SNMPAuth{ProtocolVersion: "SNMPv4"}, `protocol_version "SNMPv4": want SNMPv1, SNMPv2c or SNMPv3`},
		{"no community", &policies.SNMPAuth{ProtocolVersion: "SNMPv2c"}, "SNMPv2c needs a community"},
		{"no user", &policies.SNMPAuth{ProtocolVersion: "SNMPv3"}, "SNMPv3 needs a username"},
		{"bad level", &policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "high"}, `security_level "high"`},
		{"bad auth proto", &policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "authNoPriv", AuthProtocol: "SHA3", AuthPassphrase: "x"}, `auth_protocol "SHA3"`},
		{"no auth pass", &policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "authNoPriv", AuthProtocol: "MD5"}, "needs auth_passphrase"},
		{"bad priv proto", &policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "x", PrivProtocol: "3DES", PrivPassphrase: "y"}, `priv_protocol "3DES"`},
		{"no priv pass", &policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "x", PrivProtocol: "DES"}, "authPriv needs priv_passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &policies.Policy{Name: "test", SNMP: &policies.SNMPPolicy{Scope: policies.SNMPScope{
				Authentication: tc.auth, Targets: []policies.SNMPTarget{{Host: "127.0.0.1"}}}}}
			_, err := New(p, drivers.Deps{Metrics: prometheus.NewRegistry()})
			// Names the scope entry, not the policy (the agent adds that).
			const unit = "scope target 0 (127.0.0.1): "
			if err == nil || !strings.HasPrefix(err.Error(), unit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q then %q", err, unit, tc.want)
			}
		})
	}
	// Every protocol gosnmp supports is accepted.
	for a := range authProtocols {
		for p := range privProtocols {
			if _, err := resolveAuth(&policies.SNMPAuth{ProtocolVersion: "SNMPv3", Username: "u", SecurityLevel: "authPriv",
				AuthProtocol: a, AuthPassphrase: "x", PrivProtocol: p, PrivPassphrase: "y"}); err != nil {
				t.Errorf("%s/%s: %v", a, p, err)
			}
		}
	}
}

func TestTargetsErrors(t *testing.T) {
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"10.0.0.0/8", 0, "scope target 0: CIDR"},
		{"10.0.0.9-3", 0, "scope target 0: bad range"},
		{"not a host!", 0, "scope target 0:"},
		{"10.0.0.1", 70000, "scope target 0 (10.0.0.1): port 70000 out of range"},
	} {
		d := newDriver(t, v2c("public"), []policies.SNMPTarget{{Host: tc.host, Port: tc.port}}, nil)
		_, err := d.Targets(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.host, err, tc.want)
		}
	}
}

func TestLookupExtensions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "devices:\n  \".1.3.6.1.4.1.9.1.1208\": WS-C2960X-48FPD-L\n  1.3.6.1.4.1.9.1.2494: C9300-48P-E\n")
	write("b.yml", "devices:\n  .1.3.6.1.4.1.2636.1.1.1.2.150: MX204-HW\n")
	write("notes.txt", "ignored")
	m, err := loadExtensions(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".1.3.6.1.4.1.9.1.1208":         "WS-C2960X-48FPD-L",
		".1.3.6.1.4.1.9.1.2494":         "C9300-48P-E",
		".1.3.6.1.4.1.2636.1.1.1.2.150": "MX204-HW",
	}
	if len(m) != len(want) {
		t.Fatalf("got %v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}

	// Every error names the file and the line (and column where the YAML
	// decoder knows it).
	for _, tc := range []struct{ body, want string }{
		{"devices: [1, 2]\n", "bad.yaml:1:10: sequence was used where mapping is expected"},
		{"models:\n  .1.3: x\n", `bad.yaml:1:1: unknown field "models"`},
		{"devices:\n  .1.3.6.1: ok\n  cisco: x\n", `bad.yaml:3: devices key "cisco": not a numeric OID`},
		{"devices: {.1.3.6: \"\"}\n", `bad.yaml:1: devices ".1.3.6": empty model`},
		{"devices:\n  .1.3: [a]\n", "bad.yaml:2:9: cannot unmarshal"},
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, "bad.yaml"), []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := loadExtensions(bad)
		want := "lookup_extensions_dir: " + filepath.Join(bad, tc.want)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got %v, want prefix %q", tc.body, err, want)
		}
	}
	if _, err := loadExtensions(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing dir: no error")
	}
}

func TestMetricsPerPolicy(t *testing.T) {
	reg := prometheus.NewRegistry()
	mk := func(name string) drivers.Driver {
		p := &policies.Policy{Name: name, SNMP: &policies.SNMPPolicy{Scope: policies.SNMPScope{
			Authentication: v2c("x"), Targets: []policies.SNMPTarget{{Host: "127.0.0.1"}}}}}
		// as the agent does: one registerer per policy, carrying its label
		scoped := prometheus.WrapRegistererWith(prometheus.Labels{"policy": name}, reg)
		d, err := New(p, drivers.Deps{Metrics: scoped})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := mk("a"), mk("b")
	a.(*Driver).requests.Add(3)
	b.(*Driver).requests.Add(1)
	want := `
# HELP orbd_snmp_requests_total SNMP requests sent (probes, GET/GETNEXT/GETBULK, v3 discovery and retries), per policy.
# TYPE orbd_snmp_requests_total counter
orbd_snmp_requests_total{policy="a"} 3
orbd_snmp_requests_total{policy="b"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orbd_snmp_requests_total"); err != nil {
		t.Fatal(err)
	}
}
