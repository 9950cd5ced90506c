package main

import (
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/agent"
	"github.com/orbd/orbd/policies"
)

func TestPrintSummary(t *testing.T) {
	results := []agent.RunResult{
		{Policy: "s1", Backend: "snmp_discovery", TargetsTried: 254, TargetsAnswered: 3, TargetsFailed: 1002,
			Devices: 3, Interfaces: 40, Addresses: 12, Entities: 120, Duration: 1234567 * time.Microsecond,
			Errors: []agent.TargetError{{Target: "127.0.0.9:161", Error: "get system group: request timeout"}}, ErrorsOmitted: 1001},
		{Policy: "a1", Backend: "vcenter_discovery", TargetsTried: 1, Err: "driver: login as u: bad password"},
		{Policy: "b1", Backend: "gnmi_discovery", TargetsTried: 2, TargetsAnswered: 2, Devices: 2, Entities: 30},
	}
	var b strings.Builder
	failed := printSummary(&b, results)
	want := `POLICY  BACKEND            TARGETS  ANSWERED  DEVICES  INTERFACES  ADDRESSES  ENTITIES  ERRORS  DURATION
a1      vcenter_discovery  1        0         0        0           0          0         1       0s
b1      gnmi_discovery     2        2         2        0           0          30        0       0s
s1      snmp_discovery     254      3         3        40          12         120       1002    1.235s
  a1: driver: login as u: bad password
  s1  127.0.0.9:161: get system group: request timeout
  s1  … and 1001 more target errors (see the log)
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if failed != 1003 {
		t.Fatalf("failed = %d, want 1003", failed)
	}
}

func TestDeliveryChanged(t *testing.T) {
	base := func() *policies.Config {
		return &policies.Config{Labels: map[string]string{"pop": "ams1"},
			Diode: policies.DiodeConfig{Target: "grpcs://a.example/diode", ClientSecret: "s1"}}
	}
	if deliveryChanged(base(), base()) {
		t.Fatal("identical configs reported as changed")
	}
	for name, mod := range map[string]func(*policies.Config){
		"target": func(c *policies.Config) { c.Diode.Target = "grpcs://b.example/diode" },
		"secret": func(c *policies.Config) { c.Diode.ClientSecret = "s2" },
		"labels": func(c *policies.Config) { c.Labels["pop"] = "fra1" },
	} {
		next := base()
		mod(next)
		if !deliveryChanged(base(), next) {
			t.Errorf("%s change not detected", name)
		}
	}
}
