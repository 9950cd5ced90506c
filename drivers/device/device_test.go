package device_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	_ "github.com/orbd/orbd/drivers/device" // registers device_discovery
	"github.com/orbd/orbd/drivers/ssh/sshtest"
	"github.com/orbd/orbd/policies"
)

// loadPolicy wraps one policy body in an agent.yaml and loads it with the
// real policies loader.
func loadPolicy(t testing.TB, body string) *policies.Policy {
	t.Helper()
	var b strings.Builder
	b.WriteString("orb:\n  backends:\n    common:\n      diode: {dry_run: true}\n    device_discovery: {}\n  policies:\n    device_discovery:\n      p1:\n")
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString("        " + l + "\n")
	}
	f := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := policies.Load([]string{f}, policies.LoadOptions{})
	if err != nil {
		t.Fatalf("load:\n%s\n%v", b.String(), err)
	}
	if len(cfg.Policies) != 1 {
		t.Fatalf("%d policies", len(cfg.Policies))
	}
	return cfg.Policies[0]
}

func newDriver(t testing.TB, p *policies.Policy, log io.Writer) drivers.Driver {
	t.Helper()
	spec, ok := drivers.Lookup(policies.BackendDevice)
	if !ok {
		t.Fatal("device_discovery not registered")
	}
	if log == nil {
		log = io.Discard
	}
	d, err := spec.New(p, drivers.Deps{Logger: slog.New(slog.NewTextHandler(log, nil)), Metrics: prometheus.NewRegistry(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// run is what the agent does: Targets, Probe for swept ones, Discover.
func run(t testing.TB, d drivers.Driver) (map[string]*drivers.Inventory, map[string]error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts, err := d.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	invs, errs := map[string]*drivers.Inventory{}, map[string]error{}
	for _, tg := range ts {
		if tg.Swept {
			if err := d.(drivers.Prober).Probe(ctx, tg); err != nil {
				if !errors.Is(err, drivers.ErrNoAnswer) {
					errs[tg.Host] = err
				}
				continue
			}
		}
		inv, err := d.Discover(ctx, tg)
		if err != nil {
			errs[tg.Host] = err
			continue
		}
		invs[tg.Host] = inv
	}
	return invs, errs
}

func TestDemo(t *testing.T) {
	body, stop, err := sshtest.Demo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var logs strings.Builder
	invs, errs := run(t, newDriver(t, loadPolicy(t, body), &logs))
	for h, err := range errs {
		t.Errorf("%s: %v", h, err)
	}
	want := map[string]string{"127.0.0.11": "sw-core-01", "127.0.0.12": "nx-leaf-01", "127.0.0.13": "eos-leaf-02",
		"127.0.0.14": "pe1", "127.0.0.15": "mx-edge-01", "127.0.0.16": "mx-netconf-01", "127.0.0.17": "oc-spine-01"}
	for h, name := range want {
		inv := invs[h]
		if inv == nil || len(inv.Devices) != 1 {
			t.Errorf("%s: no device", h)
			continue
		}
		dv := inv.Devices[0]
		if dv.Name != name || len(dv.Interfaces) == 0 || dv.OSVersion == "" || dv.Config == "" {
			t.Errorf("%s: got name %q, %d interfaces, version %q, config %d bytes", h, dv.Name, len(dv.Interfaces), dv.OSVersion, len(dv.Config))
		}
		if strings.Contains(dv.Config, sshtest.DemoSecret) || strings.Contains(dv.Config, sshtest.DemoPassword) {
			t.Errorf("%s: config leaks a demo secret", h)
		}
	}
	if strings.Contains(logs.String(), sshtest.DemoPassword) {
		t.Error("logs leak the password")
	}
}

func TestFailuresArePerTarget(t *testing.T) {
	good := startDev(t, "127.0.0.1", sshtest.Device{Platform: "eos", Password: "pw"})
	other := startDev(t, "127.0.0.2", sshtest.Device{Platform: "eos", Password: "pw"})
	refused := freePort(t)
	stall := startDev(t, "127.0.0.4", sshtest.Device{Platform: "iosxe", Password: "pw", StallAfterLogin: true})
	garbage := startDev(t, "127.0.0.5", sshtest.Device{Platform: "iosxe", Password: "pw", Garbage: true})
	slow := startDev(t, "127.0.0.6", sshtest.Device{Platform: "eos", Password: "pw", SlowOutput: 200 * time.Millisecond})
	entry := func(ip string, port int, driver, pw string) string {
		return fmt.Sprintf("  - hostname: %s\n    driver: %s\n    username: admin\n    password: %s\n    optional_args: {port: %d, host_key_policy: insecure}\n", ip, driver, pw, port)
	}
	body := "config:\n  timeout: 3\nscope:\n" +
		entry("127.0.0.1", good.Port(), "eos", "pw") +
		entry("127.0.0.2", other.Port(), "eos", "wrong") +
		entry("127.0.0.3", refused, "iosxe", "pw") +
		entry("127.0.0.4", stall.Port(), "iosxe", "pw") +
		entry("127.0.0.5", garbage.Port(), "iosxe", "pw") +
		entry("127.0.0.6", slow.Port(), "eos", "pw")
	var logs strings.Builder
	invs, errs := run(t, newDriver(t, loadPolicy(t, body), &logs))
	if invs["127.0.0.1"] == nil {
		t.Fatalf("good device failed: %v", errs["127.0.0.1"])
	}
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.2", "authentication failed"},
		{"127.0.0.3", "connection refused"},
		{"127.0.0.4", "timed out after 3s"},
		{"127.0.0.5", "show version: no Cisco IOS version line"},
		{"127.0.0.6", "timed out after 3s"},
	} {
		err := errs[tc.host]
		// the agent adds policy and target; the driver names the step
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ssh ") || strings.Contains(err.Error(), "policy p1") {
			t.Errorf("%s: err = %v, want it to name the step (ssh …) and contain %q", tc.host, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "wrong") {
			t.Errorf("%s: error leaks the password: %v", tc.host, err)
		}
	}
	if !strings.Contains(logs.String(), "host_key_policy: insecure") {
		t.Error("no warning logged for host_key_policy insecure")
	}
}

func startDev(t *testing.T, ip string, d sshtest.Device) *sshtest.Server {
	t.Helper()
	s, err := sshtest.Start(ip+":0", d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func freePort(t *testing.T) int {
	s := startDev(t, "127.0.0.3", sshtest.Device{Platform: "eos"})
	p := s.Port()
	s.Close()
	return p
}
