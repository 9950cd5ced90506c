package device

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
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
	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/netconf/netconftest"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
	"github.com/orbd/orbd/policies"
)

func policy(timeout time.Duration, opts policies.DeviceOptions, scope ...policies.DeviceScope) *policies.Policy {
	return &policies.Policy{Name: "p1", Backend: policies.BackendDevice, TargetTimeout: timeout,
		Device: &policies.DevicePolicy{Config: policies.DeviceConfig{Options: opts}, Scope: scope}}
}

func entry(host, driver, pw string, args policies.DeviceArgs) policies.DeviceScope {
	if args.HostKeyPolicy == "" {
		args.HostKeyPolicy = "insecure"
	}
	return policies.DeviceScope{Hostname: host, Driver: driver, Username: "admin", Password: policies.Secret(pw), OptionalArgs: args}
}

func newTestDriver(t *testing.T, p *policies.Policy, stateDir string) *Driver {
	t.Helper()
	if stateDir == "" {
		stateDir = t.TempDir()
	}
	d, err := New(p, drivers.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry(), StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

func sshDev(t *testing.T, addr string, dev sshtest.Device) *sshtest.Server {
	t.Helper()
	s, err := sshtest.Start(addr, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func discover(t *testing.T, d *Driver, e int, host string) (*drivers.Device, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	inv, err := d.Discover(ctx, drivers.Target{Host: host, Entry: e})
	if err != nil {
		return nil, err
	}
	return &inv.Devices[0], nil
}

// TestSelection runs every transport rule against emulated peers that
// listen on the driver's (test-overridden) well-known SSH and NETCONF ports.
func TestSelection(t *testing.T) {
	a := sshDev(t, "127.0.0.21:0", sshtest.Device{Platform: "junos", Password: "pw"})
	sshPort := a.Port()
	sshDev(t, fmt.Sprintf("127.0.0.22:%d", sshPort), sshtest.Device{Platform: "junos", Password: "pw"})
	sshDev(t, fmt.Sprintf("127.0.0.23:%d", sshPort), sshtest.Device{Platform: "eos", Password: "pw"})
	nc, err := netconftest.Start("127.0.0.21:0", netconftest.Device{Profile: "junos-mx", Password: "pw", Base11: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	for _, tc := range []struct {
		name, host, driver, transport string
		wantName, wantPlatform        string
	}{
		{"junos prefers NETCONF", "127.0.0.21", "junos", "", "mx-netconf-01", "Junos"},
		{"junos falls back to SSH when 830 is closed", "127.0.0.22", "junos", "", "mx-edge-01", "Junos"},
		{"transport ssh forces the CLI", "127.0.0.21", "junos", "ssh", "mx-edge-01", "Junos"},
		{"driver netconf", "127.0.0.21", "netconf", "", "mx-netconf-01", "Junos"},
		{"no driver, 830 answers: NETCONF", "127.0.0.21", "", "", "mx-netconf-01", "Junos"},
		{"no driver, SSH only: detect from show version", "127.0.0.23", "", "", "eos-leaf-02", "EOS"},
		{"eos", "127.0.0.23", "eos", "", "eos-leaf-02", "EOS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDriver(t, policy(10*time.Second, policies.DeviceOptions{}, entry(tc.host, tc.driver, "pw", policies.DeviceArgs{Transport: tc.transport})), "")
			d.sshPort, d.netconfPort = sshPort, nc.Port()
			dev, err := discover(t, d, 0, tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if dev.Name != tc.wantName || dev.Platform != tc.wantPlatform {
				t.Fatalf("got %q/%q, want %q/%q", dev.Name, dev.Platform, tc.wantName, tc.wantPlatform)
			}
		})
	}
}

func TestTargetsAndProbe(t *testing.T) {
	s := sshDev(t, "127.0.0.33:0", sshtest.Device{Platform: "eos", Password: "pw"})
	p := policy(5*time.Second, policies.DeviceOptions{PortScanPorts: []int{s.Port()}, PortScanTimeout: 0.3},
		entry("127.0.0.32/30", "eos", "pw", policies.DeviceArgs{}),
		entry("127.0.0.40-42", "eos", "pw", policies.DeviceArgs{}),
		entry("127.0.0.33", "eos", "pw", policies.DeviceArgs{Port: s.Port()}),
		entry("localhost", "eos", "pw", policies.DeviceArgs{}))
	d := newTestDriver(t, p, "")
	ctx := context.Background()
	ts, err := d.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range ts {
		got = append(got, fmt.Sprintf("%s/%d/%v", tg.Host, tg.Entry, tg.Swept))
	}
	want := "127.0.0.33/0/true 127.0.0.34/0/true 127.0.0.40/1/true 127.0.0.41/1/true 127.0.0.42/1/true 127.0.0.33/2/false localhost/3/false"
	if strings.Join(got, " ") != want {
		t.Fatalf("targets\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, tg := range ts[:5] {
		err := d.Probe(ctx, tg)
		if tg.Host == "127.0.0.33" {
			if err != nil {
				t.Errorf("probe %s: %v", tg.Host, err)
			}
			continue
		}
		if !errors.Is(err, drivers.ErrNoAnswer) {
			t.Errorf("probe %s: %v, want ErrNoAnswer", tg.Host, err)
		}
	}
}

func TestHostKeysThroughTheDriver(t *testing.T) {
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	s1, _ := xssh.NewSignerFromKey(k1)
	s2, _ := xssh.NewSignerFromKey(k2)
	srv := sshDev(t, "127.0.0.51:0", sshtest.Device{Platform: "eos", Password: "pw", HostKey: s1})
	port := srv.Port()
	state := t.TempDir()
	strictFile := filepath.Join(t.TempDir(), "strict_known_hosts")
	other := sshDev(t, "127.0.0.52:0", sshtest.Device{Platform: "eos", Password: "pw"})
	d := newTestDriver(t, policy(10*time.Second, policies.DeviceOptions{},
		entry("127.0.0.51", "eos", "pw", policies.DeviceArgs{Port: port, HostKeyPolicy: "accept-new"}),
		entry("127.0.0.51", "eos", "pw", policies.DeviceArgs{Port: port, HostKeyPolicy: "strict", KnownHosts: strictFile}),
		entry("127.0.0.52", "eos", "pw", policies.DeviceArgs{Port: other.Port(), HostKeyPolicy: "accept-new"})), state)

	if _, err := discover(t, d, 1, "127.0.0.51"); err == nil || !strings.Contains(err.Error(), "not in "+strictFile) {
		t.Fatalf("strict, unknown key: %v", err)
	}
	if _, err := discover(t, d, 0, "127.0.0.51"); err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(state, "known_hosts"))
	if err != nil || !strings.HasPrefix(string(b), fmt.Sprintf("[127.0.0.51]:%d ssh-ed25519 ", port)) {
		t.Fatalf("known_hosts in state dir: %q, %v", b, err)
	}
	if _, err := discover(t, d, 2, "127.0.0.52"); err != nil {
		t.Fatalf("accept-new, second device: %v", err)
	}
	srv.Close()
	sshDev(t, fmt.Sprintf("127.0.0.51:%d", port), sshtest.Device{Platform: "eos", Password: "pw", HostKey: s2})
	_, err = discover(t, d, 0, "127.0.0.51")
	want := fmt.Sprintf("host key for 127.0.0.51:%d changed (%s line 1); remove that line if the change is expected", port, filepath.Join(state, "known_hosts"))
	// the agent adds policy and target; the driver names the step
	if err == nil || !strings.HasSuffix(err.Error(), want) || !strings.HasPrefix(err.Error(), "ssh eos port ") {
		t.Fatalf("changed key: %v\nwant suffix %q", err, want)
	}
	// only that target: the other device, recorded in the same file, still works
	if _, err := discover(t, d, 2, "127.0.0.52"); err != nil {
		t.Fatalf("unchanged device after another's key changed: %v", err)
	}
}

// TestInsecureWarnedEveryRun: every run (every Targets call) warns once
// per insecure entry, and never for the others.
func TestInsecureWarnedEveryRun(t *testing.T) {
	var logs strings.Builder
	d, err := New(policy(0, policies.DeviceOptions{},
		entry("127.0.0.81", "eos", "pw", policies.DeviceArgs{HostKeyPolicy: "insecure"}),
		entry("127.0.0.82", "eos", "pw", policies.DeviceArgs{HostKeyPolicy: "accept-new"})),
		drivers.Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil)), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 3; run++ {
		if _, err := d.Targets(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(logs.String(), "host_key_policy: insecure"); n != run {
			t.Fatalf("after run %d: %d warnings, want %d:\n%s", run, n, run, logs.String())
		}
	}
	if strings.Contains(logs.String(), "127.0.0.82") {
		t.Fatalf("accept-new entry warned:\n%s", logs.String())
	}
}

func TestKeyFileAndEnable(t *testing.T) {
	_, uk, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := xssh.NewSignerFromKey(uk)
	blk, err := xssh.MarshalPrivateKeyWithPassphrase(uk, "", []byte("kp-secret"))
	if err != nil {
		t.Fatal(err)
	}
	kf := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(kf, pem.EncodeToMemory(blk), 0o600)
	s := sshDev(t, "127.0.0.61:0", sshtest.Device{Platform: "iosxe", AuthorizedKeys: []xssh.PublicKey{signer.PublicKey()}, EnableSecret: "en-secret"})
	keyEntry := func(pass, secret string) policies.DeviceScope {
		e := entry("127.0.0.61", "iosxe", "", policies.DeviceArgs{Port: s.Port(), KeyFile: kf,
			KeyPassphrase: policies.Secret(pass), Secret: policies.Secret(secret)})
		return e
	}
	d := newTestDriver(t, policy(4*time.Second, policies.DeviceOptions{CaptureRunningConfig: true},
		keyEntry("kp-secret", "en-secret"), keyEntry("wrong-pass", "en-secret"), keyEntry("kp-secret", "bad-enable")), "")
	dev, err := discover(t, d, 0, "127.0.0.61")
	if err != nil {
		t.Fatal(err)
	}
	if dev.Name != "sw-core-01" || !strings.Contains(dev.Config, "hostname sw-core-01") {
		t.Fatalf("got %q, config %d bytes (running-config needs enable)", dev.Name, len(dev.Config))
	}
	if _, err := discover(t, d, 1, "127.0.0.61"); err == nil || !strings.Contains(err.Error(), "parse key_file "+kf) || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := discover(t, d, 2, "127.0.0.61"); err == nil || strings.Contains(err.Error(), "bad-enable") ||
		!strings.HasPrefix(err.Error(), "ssh iosxe port ") || !strings.Contains(err.Error(), "enable refused") {
		t.Fatalf("wrong enable secret: %v", err)
	}
}

// Rejected at New, before any dial: documentation addresses (RFC 5737).
func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		e    policies.DeviceScope
		want string
	}{
		{entry("198.51.100.1", "vyos", "pw", policies.DeviceArgs{}), `unknown driver "vyos"`},
		{entry("198.51.100.1", "", "pw", policies.DeviceArgs{Transport: "telnet"}), `transport "telnet"`},
		{entry("198.51.100.1", "", "pw", policies.DeviceArgs{HostKeyPolicy: "yolo"}), `host_key_policy "yolo"`},
		{entry("198.51.100.1", "", "", policies.DeviceArgs{}), "no credentials"},
	} {
		_, err := New(policy(0, policies.DeviceOptions{}, tc.e), drivers.Deps{StateDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "scope[0] 198.51.100.1: ") {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	s := sshDev(t, "127.0.0.71:0", sshtest.Device{Platform: "eos", Password: "pw"})
	reg := prometheus.NewRegistry()
	mk := func(name string) *Driver {
		p := policy(5*time.Second, policies.DeviceOptions{},
			entry("127.0.0.71", "eos", "pw", policies.DeviceArgs{Port: s.Port()}),
			entry("127.0.0.71", "eos", "bad", policies.DeviceArgs{Port: s.Port()}))
		p.Name = name
		// as the agent does: a registerer scoped with the policy label
		scoped := prometheus.WrapRegistererWith(prometheus.Labels{"policy": name}, reg)
		d, err := New(p, drivers.Deps{Metrics: scoped, StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return d.(*Driver)
	}
	a, b := mk("pa"), mk("pb") // two policies share the registry
	for _, d := range []*Driver{a, b} {
		discover(t, d, 0, "127.0.0.71")
		discover(t, d, 1, "127.0.0.71")
	}
	count := func() map[string]float64 {
		out := map[string]float64{}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != "orbd_device_discovery_sessions_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				var k []string
				for _, l := range m.GetLabel() {
					k = append(k, l.GetValue())
				}
				out[strings.Join(k, "/")] = m.GetCounter().GetValue()
			}
		}
		return out
	}
	got := count()
	for _, k := range []string{"pa/auth/ssh", "pa/ok/ssh", "pb/auth/ssh", "pb/ok/ssh"} {
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1 (all: %v)", k, got[k], got)
		}
	}
}
