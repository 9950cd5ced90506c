package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode"

	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/internal/peertest"
)

// The CLI tests run the real binary: flags, signals, exit codes and the
// files it writes are the contract an operator sees.
var orbdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orbd-bin-")
	if err != nil {
		panic(err)
	}
	orbdBin = filepath.Join(dir, "orbd")
	out, err := exec.Command("go", "build", "-o", orbdBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building orbd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func orbd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(orbdBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// snmpDevice starts one simulated switch and returns its port.
func snmpDevice(t *testing.T, opts ...snmptest.Option) int {
	t.Helper()
	rec, err := snmptest.DemoRecording("cisco-iosxe-c9300")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := snmptest.NewServer("127.0.0.1:0", rec, append([]snmptest.Option{snmptest.WithCommunity("s3cr3t-community")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Port()
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// rename like an editor does, so the watcher must follow the replacement
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func dryRunConfig(dir, listen string, policies string) string {
	return fmt.Sprintf(`orb:
  labels: {site: test}
  config_manager: {active: local}
  agent: {workers: 4, listen: %q, state_dir: %q, shutdown_grace: 5s}
  backends:
    common:
      diode:
        dry_run: true
        dry_run_output_dir: %q
        agent_name: e2e
        batch_interval: 200ms
    snmp_discovery: {}
  policies:
    snmp_discovery:
%s`, listen, dir, filepath.Join(dir, "out"), policies)
}

func snmpPolicy(name string, port int, schedule string) string {
	s := fmt.Sprintf(`      %s:
        config:
          timeout: 10
          snmp_timeout: 1
`, name)
	if schedule != "" {
		s += fmt.Sprintf("          schedule: %q\n", schedule)
	}
	return s + fmt.Sprintf(`        scope:
          authentication: {protocol_version: SNMPv2c, community: "${COMMUNITY}"}
          targets:
            - {host: 127.0.0.1, port: %d}
`, port)
}

func TestVersion(t *testing.T) {
	r := orbd(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "orbd ") {
		t.Fatalf("version: %+v", r)
	}
}

func TestValidateReportsEveryErrorWithPosition(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeConfig(t, bad, `orb:
  config_manager: {active: local}
  backends:
    common:
      diode: {dry_run: true, dry_run_output_dir: /tmp/x}
    snmp_discovery: {}
  policies:
    snmp_discovery:
      p1:
        config:
          schedule: "not a cron"
          timeout: 5
          snmp_timeout: 10
          bogus_key: 1
        scope:
          authentication: {protocol_version: SNMPv2c, community: c}
          targets:
            - host: 10.0.0.0/33
`)
	r := orbd(t, nil, "validate", "-c", bad)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{bad + ":11:", bad + ":12:", bad + ":14:", bad + ":18:", "bogus_key", "schedule", "10.0.0.0/33"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// Every shipped example must stay valid.
func TestValidateExamples(t *testing.T) {
	env := []string{"DIODE_CLIENT_ID=id", "DIODE_CLIENT_SECRET=sec", "SNMP_COMMUNITY=c", "SNMP_AUTH=authpass123", "SNMP_PRIV=privpass123",
		"DEVICE_PASSWORD=p", "ENABLE_SECRET=e", "GNMI_PASSWORD=p", "VC_PASSWORD=p", "DNAC_PASSWORD=p", "MIST_TOKEN=t"}
	files, _ := filepath.Glob("../../deploy/examples/*.yaml")
	if len(files) < 5 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if strings.HasSuffix(f, "device.yaml") {
				// ${file:/etc/orbd/junos.pass} must exist: point it at a temp file
				body, _ := os.ReadFile(f)
				pass := filepath.Join(t.TempDir(), "junos.pass")
				os.WriteFile(pass, []byte("pw\n"), 0o600)
				f2 := filepath.Join(t.TempDir(), "device.yaml")
				os.WriteFile(f2, bytes.ReplaceAll(body, []byte("/etc/orbd/junos.pass"), []byte(pass)), 0o600)
				f = f2
			}
			r := orbd(t, env, "validate", "-c", f)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestDiscoverSummaryAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := snmpDevice(t)
	silent := snmpDevice(t, snmptest.WithDrop())
	cfg := filepath.Join(dir, "agent.yaml")
	writeConfig(t, cfg, dryRunConfig(dir, "", snmpPolicy("good", good, "")+snmpPolicy("silent", silent, "")))
	env := []string{"COMMUNITY=s3cr3t-community"}

	r := orbd(t, env, "discover", "-c", cfg, "--policy", "good")
	if r.code != 0 {
		t.Fatalf("discover good: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !regexpMatch(`(?m)^good\s+snmp_discovery\s+1\s+1\s+1\s+\d+`, r.stdout) {
		t.Fatalf("summary row missing:\n%s", r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "*.json"))
	if len(files) == 0 {
		t.Fatal("no dry-run files")
	}
	n := 0
	for _, f := range files {
		ents, err := diode.LoadDryRunEntities(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n += len(ents)
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte("s3cr3t-community")) {
			t.Fatalf("%s contains the community", f)
		}
	}
	if n == 0 {
		t.Fatal("dry-run files hold no entities")
	}

	r = orbd(t, env, "discover", "-c", cfg)
	if r.code != 2 {
		t.Fatalf("discover with a silent target: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "silent") || !strings.Contains(r.stderr, "failed") {
		t.Fatalf("summary should name the failing policy:\n%s%s", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cr3t-community") {
		t.Fatal("community leaked to output")
	}
}

// The daemon: status API, live reload on file change, a bad reload keeps
// the old policies, SIGHUP, and SIGTERM exits 0.
func TestRunReloadAndShutdown(t *testing.T) {
	dir := t.TempDir()
	port := snmpDevice(t)
	listen := fmt.Sprintf("127.0.0.1:%d", peertest.FreeTCPPort(t))
	cfg := filepath.Join(dir, "agent.yaml")
	writeConfig(t, cfg, dryRunConfig(dir, listen, snmpPolicy("first", port, "@every 1h")))

	d := startDaemon(t, []string{"COMMUNITY=s3cr3t-community"}, "-c", cfg, "--log-format", "json")
	base := "http://" + listen

	waitFor(t, "readyz 200", func() bool { return httpStatus(base+"/readyz") == 200 })
	waitFor(t, "first run finished", func() bool {
		st := status(t, base)
		return strings.Contains(st, `"first"`) && strings.Contains(st, `"targets_answered":1`)
	})

	// add a policy by editing the file
	writeConfig(t, cfg, dryRunConfig(dir, listen, snmpPolicy("first", port, "@every 1h")+snmpPolicy("second", port, "@every 1h")))
	waitFor(t, "second policy after file change", func() bool { return strings.Contains(status(t, base), `"second"`) })

	// a broken file: old policies stay, status and metric say so
	writeConfig(t, cfg, "orb: [this is: not valid\n")
	waitFor(t, "reload failure reported", func() bool {
		return strings.Contains(metrics(t, base), "orbd_config_last_reload_successful 0")
	})
	if st := status(t, base); !strings.Contains(st, `"second"`) || !strings.Contains(st, `"first"`) {
		t.Fatalf("bad reload dropped policies:\n%s", st)
	}

	// fix it, removing "second"; SIGHUP also reloads
	writeConfig(t, cfg, dryRunConfig(dir, listen, snmpPolicy("first", port, "@every 1h")))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "second removed", func() bool {
		return !strings.Contains(status(t, base), `"second"`) && strings.Contains(metrics(t, base), "orbd_config_last_reload_successful 1")
	})

	d.stop(t)
	if strings.Contains(d.logs.String(), "s3cr3t-community") {
		t.Fatal("community leaked to logs")
	}
}

func TestRunRefusesInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	writeConfig(t, cfg, "orb:\n  nonsense: 1\n")
	r := orbd(t, nil, "run", "-c", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, cfg+":2:") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestBadFlags(t *testing.T) {
	r := orbd(t, nil, "run", "--log-format", "xml", "-c", "/nonexistent")
	if r.code == 0 || !strings.Contains(r.stderr, "log-format") {
		t.Fatalf("%+v", r)
	}
}

// --- helpers ---

// daemon is an `orbd run` process the test started; stop sends SIGTERM and
// requires exit 0.
type daemon struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

func startDaemon(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(orbdBin, append([]string{"run"}, args...)...), logs: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, d.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", d.logs.String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func status(t *testing.T, base string) string {
	s := get(t, base+"/api/v1/status")
	if s != "" && !json.Valid([]byte(s)) {
		t.Fatalf("status is not JSON: %s", s)
	}
	// compact so substring checks don't depend on indentation
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(s)) == nil {
		return buf.String()
	}
	return s
}

func metrics(t *testing.T, base string) string { return get(t, base+"/metrics") }

// The README's first command: the whole lab through the real agent, the
// gRPC sink to the in-process receiver, and dry-run files of the same
// requests.
func TestDemo(t *testing.T) {
	secrets := demoSecrets(t)
	out := filepath.Join(t.TempDir(), "dry")
	r := orbd(t, nil, "demo", "--out", out, "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{"demo_snmp", "demo_cli", "demo_gnmi", "demo_vcenter", "demo_catalyst", "demo_mist"} {
		if !regexpMatch(`(?m)^`+p+`\s+\S+\s+[1-9]\d*\s+[1-9]\d*\s+[1-9]\d*\s+\d+\s+\d+\s+[1-9]\d*\s+0\s`, r.stdout) {
			t.Errorf("no successful row for %s:\n%s", p, r.stdout)
		}
	}
	m := regexpFind(`Diode receiver \S+: (\d+) requests, (\d+) entities`, r.stdout)
	if m == nil {
		t.Fatalf("no receiver summary:\n%s", r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	n := 0
	for _, f := range files {
		ents, err := diode.LoadDryRunEntities(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ents)
		raw, _ := os.ReadFile(f)
		for _, sec := range secrets {
			if bytes.Contains(raw, []byte(sec)) {
				t.Errorf("dry-run file %s contains a demo credential", f)
			}
		}
	}
	for _, sec := range secrets {
		if strings.Contains(r.stdout+r.stderr, sec) {
			t.Errorf("demo output or debug logs contain the credential %q", sec)
		}
	}
	if fmt.Sprint(len(files)) != m[1] || fmt.Sprint(n) != m[2] {
		t.Fatalf("dry-run has %d files / %d entities; receiver got %s requests / %s entities", len(files), n, m[1], m[2])
	}
}

// demoSecrets starts each lab part once to read the credentials its policy
// carries, so the demo run can be checked for leaks of exactly those.
func demoSecrets(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s*(?:password|token|community|client_secret|auth_passphrase|priv_passphrase|secret):\s*"?([^"\s]+)"?\s*$`)
	secrets := []string{diodetest.DemoClientSecret}
	for _, part := range demoLab {
		body, stop, err := part.start(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", part.name, err)
		}
		stop()
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			// a short value ("demo") would match ordinary words; the
			// SNMP community leak check lives in TestDiscoverSummaryAndExitCodes
			if len(m[1]) >= 8 {
				secrets = append(secrets, m[1])
			}
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("found only %d demo credentials; the lab's policies changed shape", len(secrets))
	}
	return secrets
}

func grpcConfig(dir, target, policies string) string {
	return fmt.Sprintf(`orb:
  config_manager: {active: local}
  agent: {workers: 4, listen: "", state_dir: %q, shutdown_grace: 2s}
  backends:
    common:
      diode:
        target: %s
        client_id: e2e-client
        client_secret: e2e-client-secret
        agent_name: e2e
        batch_interval: 200ms
    snmp_discovery: {}
  policies:
    snmp_discovery:
%s`, dir, target, policies)
}

// The daemon delivering over gRPC: NetBox down during the run, the agent
// stopped with SIGTERM (the batch stays spooled), then a new process with
// nothing to discover yet (a cron far away) delivers what the first one
// spooled as soon as it starts.
func TestRunSpoolsThroughOutageAndRestart(t *testing.T) {
	recv, err := diodetest.New(diodetest.WithPlaintext(), diodetest.WithPrefix("/diode"),
		diodetest.WithCredentials("e2e-client", "e2e-client-secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	recv.Down()
	dir := t.TempDir()
	port := snmpDevice(t)
	cfg := filepath.Join(dir, "agent.yaml")
	writeConfig(t, cfg, grpcConfig(dir, recv.URL(), snmpPolicy("once", port, "")))

	env := []string{"COMMUNITY=s3cr3t-community"}
	d := startDaemon(t, env, "-c", cfg)
	waitFor(t, "the run to finish", func() bool { return strings.Contains(d.logs.String(), `msg="run finished"`) })
	d.stop(t)
	if n := len(recv.Entities()); n != 0 {
		t.Fatalf("receiver was down but got %d entities", n)
	}

	if err := recv.Up(); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfg, grpcConfig(dir, recv.URL(), snmpPolicy("later", port, "0 0 1 1 *")))
	d = startDaemon(t, env, "-c", cfg)
	waitFor(t, "spooled entities delivered after restart", func() bool { return len(recv.Entities()) > 0 })
	d.stop(t)
	if errs := recv.ValidationErrors(); len(errs) != 0 {
		t.Fatalf("receiver saw invalid requests: %v", errs)
	}
	devices := 0
	for _, e := range recv.Entities() {
		if e.GetDevice() != nil {
			devices++
		}
	}
	if devices != 1 {
		t.Fatalf("got %d device entities, want the 1 discovered before the outage", devices)
	}
	if strings.Contains(d.logs.String(), "e2e-client-secret") {
		t.Fatal("client secret in logs")
	}
}

func TestDoctorExitCodes(t *testing.T) {
	recv, err := diodetest.New(diodetest.WithPlaintext(), diodetest.WithPrefix("/diode"),
		diodetest.WithCredentials("e2e-client", "e2e-client-secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	writeConfig(t, cfg, grpcConfig(dir, recv.URLFor("localhost"), snmpPolicy("p", 161, "")))
	r := orbd(t, []string{"COMMUNITY=c"}, "doctor", "-c", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "PASS") || strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("doctor against a live receiver: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	closed := peertest.FreeTCPPort(t)
	writeConfig(t, cfg, grpcConfig(dir, fmt.Sprintf("grpc://localhost:%d/diode", closed), snmpPolicy("p", 161, "")))
	r = orbd(t, []string{"COMMUNITY=c"}, "doctor", "-c", cfg)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "fix:") {
		t.Fatalf("doctor against a closed port: exit %d, want 1 with a FAIL and its fix\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "e2e-client-secret") {
		t.Fatal("doctor printed the client secret")
	}
}
