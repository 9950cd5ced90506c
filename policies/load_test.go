package policies

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// sampleEnv holds the secrets the valid samples reference. They are distinct
// and long enough to be found if they ever leak into output.
var sampleEnv = map[string]string{
	"DIODE_CLIENT_ID":     "orbd-client",
	"DIODE_CLIENT_SECRET": "diode-secret-0xA1",
	"SNMP_COMMUNITY":      "community-secret-0xB2",
	"SNMP_AUTH":           "auth-secret-0xC3",
	"SNMP_PRIV":           "priv-secret-0xD4",
	"PASS":                "password-secret-0xE5",
	"ENABLE":              "enable-secret-0xF6",
	"KEY_PASS":            "keypass-secret-0x17",
	"MIST_TOKEN":          "mist-secret-0x28",
	"PROXY_PASS":          "proxy-secret-0x39",
}

func loadOK(t *testing.T, paths []string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Load(paths, LoadOptions{Getenv: mapEnv(env)})
	if err != nil {
		t.Fatalf("Load(%v):\n%v", paths, err)
	}
	return cfg
}

func policy(t *testing.T, cfg *Config, key string) *Policy {
	t.Helper()
	for _, p := range cfg.Policies {
		if p.Key() == key {
			return p
		}
	}
	t.Fatalf("policy %s not loaded", key)
	return nil
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestValidSamples(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, cfg *Config)
	}{
		{"valid-snmp.yaml", func(t *testing.T, cfg *Config) {
			p := policy(t, cfg, "snmp_discovery/campus")
			s := p.SNMP
			eq(t, "schedule", p.Schedule, "@every 15m")
			eq(t, "run timeout", p.RunTimeout, 120*time.Second)
			eq(t, "target timeout", p.TargetTimeout, time.Duration(0))
			eq(t, "snmp_timeout", s.Config.SNMPTimeout, Seconds(5))
			eq(t, "probe timeout", s.Config.SNMPProbeTimeout, Seconds(1))
			eq(t, "retries", s.Config.Retries, 0)
			eq(t, "lookup dir", s.Config.LookupExtensionsDir, "/etc/orbd/snmp-extensions")
			eq(t, "emit_prefixes", *s.Config.Options.EmitPrefixes, false)
			eq(t, "discover_vrfs", s.Config.Options.DiscoverVRFs, true)
			eq(t, "max_repetitions", s.Config.Options.MaxRepetitions, 25)
			eq(t, "defaults", p.Defaults.Site+"/"+p.Defaults.Role, "ams1/access")
			eq(t, "policy auth", *s.Scope.Authentication, SNMPAuth{ProtocolVersion: "SNMPv2c", Community: "community-secret-0xB2"})
			if len(s.Scope.Targets) != 4 {
				t.Fatalf("targets = %d, want 4", len(s.Scope.Targets))
			}
			hosts := []string{}
			for _, tg := range s.Scope.Targets {
				hosts = append(hosts, fmt.Sprintf("%s:%d", tg.Host, tg.Port))
			}
			eq(t, "hosts", hosts, []string{"10.0.0.0/24:161", "10.0.0.1-20:161", "10.0.1.1:161", "2001:db8::1:1161"})
			eq(t, "v3 auth", *s.Scope.Targets[2].Authentication, SNMPAuth{
				ProtocolVersion: "SNMPv3", SecurityLevel: "authPriv", Username: "orbd",
				AuthProtocol: "SHA", AuthPassphrase: "auth-secret-0xC3", PrivProtocol: "AES", PrivPassphrase: "priv-secret-0xD4",
			})
			eq(t, "override", s.Scope.Targets[2].OverrideDefaults.Role, "core")
			eq(t, "merged defaults", p.Defaults.Merge(s.Scope.Targets[2].OverrideDefaults).Role, "core")
			eq(t, "v1 auth", s.Scope.Targets[3].Authentication.ProtocolVersion, "SNMPv1")
			eq(t, "source", p.Source, Pos{File: "testdata/valid-snmp.yaml", Line: 9, Column: 7})
		}},
		{"valid-device.yaml", func(t *testing.T, cfg *Config) {
			p := policy(t, cfg, "device_discovery/edge")
			d := p.Device
			eq(t, "target timeout", p.TargetTimeout, 60*time.Second)
			eq(t, "run timeout", p.RunTimeout, time.Duration(0))
			eq(t, "port_scan_ports", d.Config.Options.PortScanPorts, []int{22, 830})
			eq(t, "port_scan_timeout", d.Config.Options.PortScanTimeout, Seconds(0.5))
			eq(t, "scope", len(d.Scope), 2)
			eq(t, "first", d.Scope[0], DeviceScope{
				Hostname: "10.0.0.5", Driver: "ios", Username: "admin", Password: "password-secret-0xE5",
				OptionalArgs:     DeviceArgs{Secret: "enable-secret-0xF6", HostKeyPolicy: "accept-new"},
				OverrideDefaults: &Defaults{Role: "edge"}, NetboxID: 42,
			})
			eq(t, "second args", d.Scope[1].OptionalArgs, DeviceArgs{
				Port: 830, Transport: "netconf", KeyFile: "/etc/orbd/id_ed25519", KeyPassphrase: "keypass-secret-0x17",
				HostKeyPolicy: "strict", KnownHosts: "/etc/orbd/known_hosts",
			})
		}},
		{"valid-gnmi.yaml", func(t *testing.T, cfg *Config) {
			p := policy(t, cfg, "gnmi_discovery/fabric")
			g := p.GNMI
			eq(t, "target timeout", p.TargetTimeout, 45*time.Second)
			eq(t, "ports", []int{g.Scope.Targets[0].Port, g.Scope.Targets[1].Port}, []int{9339, 57400})
			eq(t, "tls", g.Scope.Targets[1].TLS, GNMITLS{SkipVerify: true, Cert: "/etc/orbd/c.pem", Key: "/etc/orbd/c.key"})
			eq(t, "netbox_id", g.Scope.Targets[1].NetboxID, 9)
		}},
		{"valid-vcenter.yaml", func(t *testing.T, cfg *Config) {
			p := policy(t, cfg, "vcenter_discovery/vc1")
			eq(t, "run timeout", p.RunTimeout, 300*time.Second)
			eq(t, "scope", p.VCenter.Scope, VCenterScope{
				URL: "https://vc.example.com/sdk", Username: "administrator@vsphere.local", Password: "password-secret-0xE5",
				CAFile: "/etc/orbd/vc-ca.pem", Datacenters: []string{"DC1", "DC2"},
			})
			eq(t, "tags", p.Defaults.Tags, []string{"vmware", "prod"})
			eq(t, "templates", p.VCenter.Config.Options.IncludeTemplates, true)
			eq(t, "lab insecure", policy(t, cfg, "vcenter_discovery/lab").VCenter.Scope.Insecure, true)
		}},
		{"valid-controller.yaml", func(t *testing.T, cfg *Config) {
			d := policy(t, cfg, "controller_discovery/dnac")
			eq(t, "dnac schedule", d.Schedule, "@daily")
			eq(t, "dnac timeout", d.RunTimeout, 600*time.Second)
			m := policy(t, cfg, "controller_discovery/mist")
			eq(t, "mist", m.Controller.Scope, ControllerScope{
				Kind: "mist", URL: "https://api.mist.com", Token: "mist-secret-0x28",
				OrgID: "5a1b2c3d-0000-4000-8000-000000000001", Proxy: "http://user:proxy-secret-0x39@proxy.example.com:3128",
			})
			eq(t, "mist timeout", m.RunTimeout, 300*time.Second)
		}},
		{"valid-full.yaml", func(t *testing.T, cfg *Config) {
			eq(t, "labels", cfg.Labels, map[string]string{"region": "eu", "pop": "ams1"})
			eq(t, "diode", cfg.Diode, DiodeConfig{
				Target: "grpcs://acme.cloud.netboxapp.com/diode", ClientID: "orbd-client", ClientSecret: "diode-secret-0xA1",
				AgentName: "ams1-agent", DryRunOutputDir: "/var/lib/orbd/dry-run", Proxy: "http://proxy.example.com:8080",
				CAFile: "/etc/orbd/ca.pem", SpoolDir: "/var/lib/orbd/spool", SpoolMaxBytes: 1 << 30, BatchInterval: Duration(2 * time.Second),
			})
			eq(t, "backends", len(cfg.Backends), 5)
			var keys []string
			for _, p := range cfg.Policies {
				keys = append(keys, p.Key())
			}
			eq(t, "policies (sorted)", keys, []string{
				"controller_discovery/dnac", "controller_discovery/mist", "device_discovery/edge",
				"gnmi_discovery/spine", "snmp_discovery/core", "vcenter_discovery/vc1",
			})
			eq(t, "snmp run timeout", policy(t, cfg, "snmp_discovery/core").RunTimeout, 300*time.Second)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			cfg := loadOK(t, []string{"testdata/" + tc.file}, sampleEnv)
			tc.check(t, cfg)
			for _, p := range cfg.Policies {
				if len(p.Fingerprint) != 64 {
					t.Errorf("%s: fingerprint %q is not sha256 hex", p.Key(), p.Fingerprint)
				}
			}
		})
	}
}

// TestGoldenFull pins the whole decoded Config of the full sample; run with
// -update after an intended change and review the diff.
func TestGoldenFull(t *testing.T) {
	cfg := loadOK(t, []string{"testdata/valid-full.yaml"}, sampleEnv)
	got, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := "testdata/valid-full.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decoded config differs from %s (go test -update to accept):\n%s", golden, got)
	}
}

func TestDefaults(t *testing.T) {
	cfg := loadOK(t, []string{"testdata/valid-minimal.yaml"}, nil)
	eq(t, "agent", cfg.Agent, AgentConfig{
		Workers: 64, Listen: "127.0.0.1:8080", Shard: Shard{Index: 0, Count: 1},
		StateDir: "/var/lib/orbd", ShutdownGrace: Duration(30 * time.Second),
	})
	eq(t, "diode", cfg.Diode, DiodeConfig{
		AgentName: "orbd", DryRun: true, DryRunOutputDir: ".", SpoolDir: "/var/lib/orbd/spool",
		SpoolMaxBytes: 1 << 30, BatchInterval: Duration(2 * time.Second),
	})
	p := policy(t, cfg, "snmp_discovery/lab")
	tr := true
	eq(t, "snmp config", p.SNMP.Config, SNMPConfig{
		Timeout: 120, SNMPTimeout: 5, SNMPProbeTimeout: 1,
		Options: SNMPOptions{EmitPrefixes: &tr, MaxRepetitions: 25},
	})
	eq(t, "port", p.SNMP.Scope.Targets[0].Port, 161)
	eq(t, "schedule", p.Schedule, "")

	// Explicit values win over defaults, and listen: "" disables the API.
	dir := t.TempDir()
	f := writeFile(t, dir, "a.yaml", `orb:
  agent: {listen: "", workers: 2, state_dir: /srv/orbd, shutdown_grace: 5s}
  backends:
    common:
      diode: {target: "grpc://127.0.0.1:8081", spool_max_bytes: 4096, batch_interval: 100ms}
    snmp_discovery: {}
  policies:
    snmp_discovery:
      lab:
        scope:
          authentication: {protocol_version: SNMPv2c, community: public}
          targets: [{host: 127.0.0.1}]
`)
	cfg = loadOK(t, []string{f}, nil)
	eq(t, "agent", cfg.Agent, AgentConfig{Workers: 2, Listen: "", Shard: Shard{Count: 1}, StateDir: "/srv/orbd", ShutdownGrace: Duration(5 * time.Second)})
	eq(t, "spool dir follows state_dir", cfg.Diode.SpoolDir, "/srv/orbd/spool")
	eq(t, "spool max", cfg.Diode.SpoolMaxBytes, int64(4096))
	eq(t, "batch interval", cfg.Diode.BatchInterval.D(), 100*time.Millisecond)
	eq(t, "dry run dir stays empty", cfg.Diode.DryRunOutputDir, "")
}

func TestDiodeEnvFallbacks(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.yaml", `orb:
  backends:
    common:
      diode: {target: "grpcs://diode.example.com"}
    snmp_discovery: {}
`)
	tests := []struct {
		name string
		env  map[string]string
		want DiodeConfig
	}{
		{"unset", nil, DiodeConfig{}},
		{"all", map[string]string{"DIODE_CLIENT_ID": "id1", "DIODE_CLIENT_SECRET": "sec1", "DIODE_CERT_FILE": "/ca.pem", "DIODE_SKIP_TLS_VERIFY": "true"},
			DiodeConfig{ClientID: "id1", ClientSecret: "sec1", CAFile: "/ca.pem", SkipTLSVerify: true}},
		{"skip verify 1", map[string]string{"DIODE_SKIP_TLS_VERIFY": "1"}, DiodeConfig{SkipTLSVerify: true}},
		{"skip verify no", map[string]string{"DIODE_SKIP_TLS_VERIFY": "no"}, DiodeConfig{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := loadOK(t, []string{f}, tc.env).Diode
			got := DiodeConfig{ClientID: d.ClientID, ClientSecret: d.ClientSecret, CAFile: d.CAFile, SkipTLSVerify: d.SkipTLSVerify}
			eq(t, "diode", got, tc.want)
		})
	}
	// A value in the file wins over the environment.
	g := writeFile(t, dir, "b.yaml", `orb:
  backends:
    common:
      diode: {target: "grpcs://diode.example.com", client_id: from-file}
`)
	eq(t, "client_id", loadOK(t, []string{g}, map[string]string{"DIODE_CLIENT_ID": "from-env"}).Diode.ClientID, "from-file")
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// snmpDoc is a one-policy file whose community is the given YAML scalar.
func snmpDoc(community, extra string) string {
	return `orb:
  backends:
    common:
      diode: {dry_run: true}
    snmp_discovery: {}
  policies:
    snmp_discovery:
      lab:
        scope:
          authentication:
            protocol_version: SNMPv2c
            community: ` + community + `
          targets:
            - host: 127.0.0.1
` + extra
}

func TestExpansion(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "community.txt", "from-file\n\n")
	env := map[string]string{
		"COMM":   "from-env",
		"PORT":   "1161",
		"COLON":  "a: b",
		"NEWL":   "line1\n- host: 10.9.9.9\nline3",
		"HOSTIP": "127.0.0.2",
		"EMPTY":  "",
	}
	tests := []struct {
		name      string
		community string
		extra     string
		want      string // community after expansion; "" when wantErr
		wantErr   string // exact message suffix after "file:"
		port      int
	}{
		{name: "env", community: "${COMM}", want: "from-env", port: 161},
		{name: "env inside text", community: `"x-${COMM}-y"`, want: "x-from-env-y", port: 161},
		{name: "absolute file", community: `"${file:` + filepath.Join(dir, "community.txt") + `}"`, want: "from-file", port: 161},
		{name: "relative file", community: `"${file:community.txt}"`, want: "from-file", port: 161},
		{name: "escape", community: `"pa$$${COMM}$$"`, want: "pa$from-env$", port: 161},
		{name: "lone dollar kept", community: `"pa$word"`, want: "pa$word", port: 161},
		{name: "colon stays a scalar", community: "${COLON}", want: "a: b", port: 161},
		{name: "newline stays a scalar", community: "${NEWL}", want: "line1\n- host: 10.9.9.9\nline3", port: 161},
		{name: "port from env", community: "c", extra: "              port: ${PORT}\n", want: "c", port: 1161},
		{name: "quoted port from env", community: "c", extra: "              port: \"${PORT}\"\n", want: "c", port: 1161},
		{name: "empty variable is set", community: `"${EMPTY}x"`, want: "x", port: 161},
		{name: "missing env", community: "${NOPE}",
			wantErr: "12:24: orb.policies.snmp_discovery.lab.scope.authentication.community: environment variable NOPE is not set"},
		{name: "missing file", community: `"${file:nope.txt}"`,
			wantErr: "12:24: orb.policies.snmp_discovery.lab.scope.authentication.community: cannot read file \"" + filepath.Join(dir, "nope.txt") + "\": no such file or directory"},
		{name: "bad name", community: `"${A-B}"`,
			wantErr: "12:24: orb.policies.snmp_discovery.lab.scope.authentication.community: invalid variable name \"A-B\" in ${...} (write $$ for a literal $)"},
		{name: "non-numeric port from env", community: "c", extra: "              port: ${COMM}\n",
			wantErr: "15:21: orb.policies.snmp_discovery.lab.scope.targets[0].port: expected an integer, got a value that is not one (after ${} expansion)"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, dir, fmt.Sprintf("c%d.yaml", i), snmpDoc(tc.community, tc.extra))
			cfg, err := Load([]string{f}, LoadOptions{Getenv: mapEnv(env)})
			if tc.wantErr != "" {
				if err == nil || err.Error() != f+":"+tc.wantErr {
					t.Fatalf("err = %v\nwant %s:%s", err, f, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := policy(t, cfg, "snmp_discovery/lab").SNMP.Scope
			eq(t, "community", s.Authentication.Community.Reveal(), tc.want)
			eq(t, "targets", len(s.Targets), 1) // expansion never adds structure
			eq(t, "host", s.Targets[0].Host, "127.0.0.1")
			eq(t, "port", s.Targets[0].Port, tc.port)
		})
	}
}

func TestReadFileOption(t *testing.T) {
	var asked []string
	f := writeFile(t, t.TempDir(), "a.yaml", snmpDoc(`"${file:/run/secrets/community}"`, ""))
	cfg, err := Load([]string{f}, LoadOptions{Getenv: noEnv, ReadFile: func(p string) ([]byte, error) {
		asked = append(asked, p)
		return []byte("injected\n"), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "asked", asked, []string{"/run/secrets/community"})
	eq(t, "community", policy(t, cfg, "snmp_discovery/lab").SNMP.Scope.Authentication.Community.Reveal(), "injected")
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "10-base.yaml", `orb:
  labels: {region: eu, pop: ams1}
  agent: {workers: 8, state_dir: /srv/orbd}
  backends:
    common:
      diode: {target: "grpcs://diode.example.com", agent_name: base}
    snmp_discovery: {}
  policies:
    snmp_discovery:
      core:
        scope:
          authentication: {protocol_version: SNMPv2c, community: old}
          targets: [{host: 10.0.0.1}]
      edge:
        scope:
          authentication: {protocol_version: SNMPv2c, community: edge}
          targets: [{host: 10.0.0.2}]
`)
	b := writeFile(t, dir, "20-site.yaml", `orb:
  labels: {pop: ams2, rack: r1}
  agent: {listen: "127.0.0.1:9090"}
  backends:
    common:
      diode: {agent_name: site}
    vcenter_discovery: {}
  policies:
    snmp_discovery:
      core:
        config: {schedule: "@hourly"}
        scope:
          authentication: {protocol_version: SNMPv2c, community: new}
          targets: [{host: 10.0.0.9}]
    vcenter_discovery:
      vc:
        scope: {url: "https://vc.example.com/sdk", username: u, password: p}
`)
	writeFile(t, dir, "notes.txt", "not yaml: [")
	check := func(t *testing.T, cfg *Config) {
		eq(t, "labels merged key by key", cfg.Labels, map[string]string{"region": "eu", "pop": "ams2", "rack": "r1"})
		eq(t, "workers kept", cfg.Agent.Workers, 8)
		eq(t, "state_dir kept", cfg.Agent.StateDir, "/srv/orbd")
		eq(t, "listen from later", cfg.Agent.Listen, "127.0.0.1:9090")
		eq(t, "diode target kept", cfg.Diode.Target, "grpcs://diode.example.com")
		eq(t, "agent_name from later", cfg.Diode.AgentName, "site")
		eq(t, "backends union", cfg.Backends, map[string]bool{"snmp_discovery": true, "vcenter_discovery": true})
		core := policy(t, cfg, "snmp_discovery/core")
		eq(t, "later policy wins whole", core.SNMP.Scope.Targets[0].Host, "10.0.0.9")
		eq(t, "later policy schedule", core.Schedule, "@hourly")
		eq(t, "later policy source", core.Source.File, b)
		eq(t, "earlier policy kept", policy(t, cfg, "snmp_discovery/edge").Source.File, a)
		eq(t, "count", len(cfg.Policies), 3)
	}
	t.Run("files", func(t *testing.T) {
		cfg := loadOK(t, []string{a, b}, nil)
		check(t, cfg)
		eq(t, "files", cfg.Files, []string{a, b})
	})
	t.Run("directory", func(t *testing.T) {
		cfg := loadOK(t, []string{dir}, nil)
		check(t, cfg)
		eq(t, "files (sorted, yaml only)", cfg.Files, []string{a, b})
	})
	t.Run("order matters", func(t *testing.T) {
		cfg := loadOK(t, []string{b, a}, nil)
		eq(t, "core from a", policy(t, cfg, "snmp_discovery/core").SNMP.Scope.Targets[0].Host, "10.0.0.1")
		eq(t, "pop from a", cfg.Labels["pop"], "ams1")
	})
	t.Run("errors of every file", func(t *testing.T) {
		c := writeFile(t, t.TempDir(), "bad.yaml", "orb:\n  agent: {workers: 0}\n  labels: [x]\n")
		_, err := Load([]string{a, c, "testdata/invalid-cron.yaml"}, LoadOptions{Getenv: noEnv})
		want := strings.Join([]string{
			c + ":2:20: orb.agent.workers: must be at least 1 (got 0)",
			c + ":3:11: orb.labels: expected a mapping of strings, got a list",
			"testdata/invalid-cron.yaml:10:21: orb.policies.snmp_discovery.core.config.schedule: bad schedule: expected exactly 5 fields, found 4: [*/15 * * *]",
		}, "\n")
		if err == nil || err.Error() != want {
			t.Errorf("err =\n%v\nwant\n%s", err, want)
		}
	})
}

func TestPathErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"none", nil, "no config files given"},
		{"missing file", []string{"testdata/does-not-exist.yaml"}, "testdata/does-not-exist.yaml: cannot read config: no such file or directory"},
		{"empty directory", []string{empty}, empty + ": directory has no *.yaml or *.yml files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.paths, LoadOptions{Getenv: noEnv})
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestManyErrors(t *testing.T) {
	_, err := Load([]string{"testdata/invalid-many.yaml"}, LoadOptions{Getenv: mapEnv(map[string]string{"SNMP_AUTH": "authpass1"})})
	f := "testdata/invalid-many.yaml:"
	want := []string{
		f + `4:14: orb.agent.workers: expected an integer, got "many"`,
		f + `5:5: orb.agent.listen_addr: unknown key "listen_addr"; allowed: listen, shard, shutdown_grace, state_dir, workers`,
		f + `16:21: orb.policies.snmp_discovery.core.config.schedule: bad schedule: expected exactly 5 fields, found 3: [every 5 minutes]`,
		f + `19:11: orb.policies.snmp_discovery.core.config.timeout: duplicate key "timeout" (first at line 17)`,
		f + `21:11: orb.policies.snmp_discovery.core.scope.authentication: SNMPv3 needs a username`,
		f + `27:30: orb.policies.snmp_discovery.core.scope.authentication.priv_passphrase: environment variable SNMP_PRIV is not set`,
		f + `30:21: orb.policies.snmp_discovery.core.scope.targets[1].host: bad range "10.0.1.1-0": end before start or mixed families`,
		f + `31:21: orb.policies.snmp_discovery.core.scope.targets[1].port: port must be between 1 and 65535 (got 65536)`,
		f + `36:21: orb.policies.device_discovery.edge.scope[0].driver: must be one of ios, iosxe, nxos, nxos_ssh, eos, junos, iosxr, iosxr_netconf, netconf (got "IOS")`,
		f + `38:23: orb.policies.device_discovery.edge.scope[0].password: environment variable DEVICE_PASSWORD is not set`,
		f + `40:7: orb.policies.gnmi_discovery.spine: backend gnmi_discovery is not enabled: add "gnmi_discovery: {}" under orb.backends (orb-agent requires it)`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.Split(err.Error(), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAvailable(t *testing.T) {
	only := func(b string) bool { return b == BackendSNMP }
	_, err := Load([]string{"testdata/valid-full.yaml"}, LoadOptions{Getenv: mapEnv(sampleEnv), Available: only})
	f := "testdata/valid-full.yaml:"
	want := strings.Join([]string{
		f + "70:7: orb.policies.device_discovery.edge: backend device_discovery is not available yet in this build",
		f + "89:7: orb.policies.gnmi_discovery.spine: backend gnmi_discovery is not available yet in this build",
		f + "104:7: orb.policies.vcenter_discovery.vc1: backend vcenter_discovery is not available yet in this build",
		f + "117:7: orb.policies.controller_discovery.dnac: backend controller_discovery is not available yet in this build",
		f + "124:7: orb.policies.controller_discovery.mist: backend controller_discovery is not available yet in this build",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	// Enabling a backend without policies for it is fine even if unavailable.
	if _, err := Load([]string{"testdata/valid-snmp.yaml"}, LoadOptions{Getenv: mapEnv(sampleEnv), Available: only}); err != nil {
		t.Error(err)
	}
}

// TestSecretsNeverLeak checks the two ways config reaches humans: the JSON of
// a Config (status API) and error text (logs, orbd validate).
func TestSecretsNeverLeak(t *testing.T) {
	cfg := loadOK(t, []string{"testdata/valid-full.yaml", "testdata/valid-snmp.yaml", "testdata/valid-device.yaml",
		"testdata/valid-gnmi.yaml", "testdata/valid-vcenter.yaml", "testdata/valid-controller.yaml"}, sampleEnv)
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range sampleEnv {
		if k != "DIODE_CLIENT_ID" && bytes.Contains(out, []byte(v)) {
			t.Errorf("json.Marshal(cfg) contains the value of %s", k)
		}
	}
	for _, p := range cfg.Policies {
		text := fmt.Sprintf("%v %+v %#v", p, p, p)
		for k, v := range sampleEnv {
			if k != "DIODE_CLIENT_ID" && strings.Contains(text, v) && !strings.Contains(text, "Reveal") {
				// %v of structs prints Secret through String(): redacted.
				t.Errorf("fmt of policy %s contains the value of %s", p.Key(), k)
			}
		}
	}

	// Errors about secret values describe them without quoting them.
	secret := "hunter2-secret-value"
	dir := t.TempDir()
	f := writeFile(t, dir, "leak.yaml", `orb:
  backends:
    common:
      diode: {dry_run: true, proxy: "ftp://user:`+secret+`@proxy"}
    snmp_discovery: {}
    gnmi_discovery: {}
  policies:
    snmp_discovery:
      lab:
        scope:
          authentication: {protocol_version: SNMPv3, username: u, security_level: authNoPriv, auth_protocol: MD5, auth_passphrase: "${SHORT}"}
          targets:
            - host: 127.0.0.1
              port: ${SECRET}
    gnmi_discovery:
      g:
        scope:
          targets:
            - {host: 10.0.0.0/30, password: "${SECRET}", tls: {insecure: true}}
`)
	_, err = Load([]string{f}, LoadOptions{Getenv: mapEnv(map[string]string{"SECRET": secret, "SHORT": "hunt"})})
	if err == nil {
		t.Fatal("expected errors")
	}
	var es Errors
	if !errorsAs(err, &es) || len(es) != 4 {
		t.Fatalf("want 4 errors, got:\n%v", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunt\"") {
		t.Errorf("error text leaks a secret:\n%v", err)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	load := func(doc string, env map[string]string) *Policy {
		t.Helper()
		f := writeFile(t, dir, "fp.yaml", doc)
		return policy(t, loadOK(t, []string{f}, env), "snmp_discovery/lab")
	}
	base := load(snmpDoc("${C}", ""), map[string]string{"C": "one"})
	same := load(snmpDoc("${C}", ""), map[string]string{"C": "one"})
	rotated := load(snmpDoc("${C}", ""), map[string]string{"C": "two"})
	moved := load("# a comment moves everything down\n"+snmpDoc("one", ""), nil)
	changed := load(snmpDoc("one", "              port: 1161\n"), nil)
	defaulted := load(snmpDoc("one", "              port: 161\n"), nil)

	eq(t, "same content", same.Fingerprint, base.Fingerprint)
	eq(t, "literal vs env, same value", moved.Fingerprint, base.Fingerprint)
	eq(t, "explicit default", defaulted.Fingerprint, base.Fingerprint)
	if rotated.Fingerprint == base.Fingerprint {
		t.Error("a rotated secret must change the fingerprint")
	}
	if changed.Fingerprint == base.Fingerprint {
		t.Error("a changed port must change the fingerprint")
	}
	if strings.Contains(base.Fingerprint, "one") {
		t.Error("fingerprint contains the secret")
	}
}

func TestAnchorsAndNulls(t *testing.T) {
	f := writeFile(t, t.TempDir(), "a.yaml", `orb:
  labels: {a: "1", b: ~}
  backends:
    common:
      diode: {dry_run: true}
    snmp_discovery:
  policies:
    snmp_discovery:
      lab:
        config:
          schedule:
          defaults: &d {site: ams1, tags: [x]}
        scope:
          authentication: &v3
            protocol_version: SNMPv3
            security_level: authPriv
            username: orbd
            auth_protocol: SHA
            auth_passphrase: authpass1
            priv_protocol: AES
            priv_passphrase: privpass1
          targets:
            - host: 127.0.0.1
              authentication:
                <<: *v3
                username: other
              override_defaults: *d
            - host: 127.0.0.2
              description: |
                not a key of targets
`)
	_, err := Load([]string{f}, LoadOptions{Getenv: noEnv})
	want := f + `:29:15: orb.policies.snmp_discovery.lab.scope.targets[1].description: key "description" does not belong here; it goes under orb.policies.snmp_discovery.lab.config.defaults or orb.policies.snmp_discovery.lab.scope.targets[].override_defaults`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	body, _ := os.ReadFile(f)
	f = writeFile(t, filepath.Dir(f), "a.yaml", strings.Replace(string(body), "              description: |\n                not a key of targets\n", "", 1))
	cfg := loadOK(t, []string{f}, nil)
	eq(t, "labels", cfg.Labels, map[string]string{"a": "1", "b": ""})
	eq(t, "null backend enables", cfg.Backends[BackendSNMP], true)
	p := policy(t, cfg, "snmp_discovery/lab")
	eq(t, "null schedule", p.Schedule, "")
	tg := p.SNMP.Scope.Targets[0]
	eq(t, "merge key keeps base", tg.Authentication.PrivProtocol, "AES")
	eq(t, "merge key override", tg.Authentication.Username, "other")
	eq(t, "alias", *tg.OverrideDefaults, Defaults{Site: "ams1", Tags: []string{"x"}})
}

func TestParseHostSpec(t *testing.T) {
	tests := []struct {
		in      string
		kind    HostKind
		swept   bool
		wantErr string
	}{
		{in: "10.0.0.1", kind: HostIP},
		{in: "2001:db8::1", kind: HostIP},
		{in: "10.0.0.0/24", kind: HostCIDR, swept: true},
		{in: "10.0.0.7/24", kind: HostCIDR, swept: true},
		{in: "2001:db8::/112", kind: HostCIDR, swept: true},
		{in: "10.0.0.1-20", kind: HostRange, swept: true},
		{in: "10.0.0.1-10.0.1.20", kind: HostRange, swept: true},
		{in: "router1.example.net", kind: HostName},
		{in: "localhost", kind: HostName},
		{in: "", wantErr: "empty host"},
		{in: "10.0.0.0/15", wantErr: `CIDR "10.0.0.0/15" has more than 65536 addresses; split it`},
		{in: "10.0.0.0/16", kind: HostCIDR, swept: true},
		{in: "10.0.0.0/40", wantErr: `bad CIDR "10.0.0.0/40": prefix length out of range`},
		{in: "10.0.0.5-1", wantErr: `bad range "10.0.0.5-1": end before start or mixed families`},
		{in: "10.0.0.5-256", wantErr: `bad range "10.0.0.5-256": end must be an address or a last octet 0-255`},
		{in: "10.0.0.1-::1", wantErr: `bad range "10.0.0.1-::1": end before start or mixed families`},
		{in: "10.0.0.0-10.1.0.0", wantErr: `range "10.0.0.0-10.1.0.0" has more than 65536 addresses`},
		{in: "10.0.0.256", wantErr: `"10.0.0.256" is not an IP address, CIDR, range or host name`},
		{in: "bad_host!", wantErr: `"bad_host!" is not an IP address, CIDR, range or host name`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			h, err := ParseHostSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "kind", h.Kind, tc.kind)
			eq(t, "swept", h.Swept(), tc.swept)
		})
	}
}

func errorsAs(err error, es *Errors) bool {
	e, ok := err.(Errors)
	*es = e
	return ok
}

// TestAliasBomb: aliases multiply a small file; decoding must stay bounded.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x: &p {match: a, type: b}\nl: &l [")
	for i := range 520 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*p")
	}
	b.WriteString("]\nt: &t {host: 127.0.0.1, override_defaults: {interface_patterns: *l}}\n")
	b.WriteString(`orb:
  backends:
    common:
      diode: {dry_run: true}
    snmp_discovery: {}
  policies:
    snmp_discovery:
      lab:
        scope:
          authentication: {protocol_version: SNMPv2c, community: c}
          targets: [`)
	for i := range 520 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*t")
	}
	b.WriteString("]\n")
	f := writeFile(t, t.TempDir(), "bomb.yaml", b.String())
	_, err := Load([]string{f}, LoadOptions{Getenv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "file expands to more than 250000 values (through aliases?)") {
		t.Fatalf("err = %.300v", err)
	}
}
