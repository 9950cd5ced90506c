package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/internal/peertest"
)

// nonRoot is the image's USER.
const nonRoot = 65532

// buildOrbd builds the binary the way the Dockerfile's builder stage does.
func buildOrbd(t *testing.T, out, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/orbd")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/orbd: %v\n%s", err, b)
	}
}

// checkStatic fails unless path is a static Go binary built without cgo:
// FROM scratch has no dynamic loader and no libc.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not statically linked", path, p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux"} {
		if settings[k] != want {
			t.Errorf("%s built with %s=%q, want %q", path, k, settings[k], want)
		}
	}
	if bi.Path != "github.com/orbd/orbd/cmd/orbd" {
		t.Errorf("%s main package %q", path, bi.Path)
	}
}

// engine runs buildah and podman on a private vfs storage root, so a run
// neither sees nor leaves anything in the machine's container storage.
type engine struct {
	buildah, podman string
	storage         []string // --root/--runroot/--storage-driver, shared by both
	podmanFlags     []string
	env             []string
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	e := &engine{
		buildah: peertest.Require(t, "buildah", "buildah"),
		podman:  peertest.Require(t, "podman", "podman"),
	}
	peertest.Require(t, "runc", "runc")
	dir := t.TempDir()
	for _, d := range []string{"root", "runroot", "libpod", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// crun fails on this kind of machine's cgroups and the default ulimits
	// cannot be raised inside it: runc, no default ulimits.
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.storage = []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"), "--storage-driver", "vfs"}
	e.podmanFlags = append(slices.Clone(e.storage), "--tmpdir", filepath.Join(dir, "libpod"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file")
	e.env = append(os.Environ(), "CONTAINERS_CONF="+conf, "TMPDIR="+filepath.Join(dir, "tmp"))
	// Registered before any image or container exists, so it runs after
	// their removal and before the temp dir goes: nothing may stay mounted.
	t.Cleanup(func() {
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		if err == nil && bytes.Contains(mounts, []byte(dir)) {
			t.Errorf("mounts left under %s after cleanup:\n%s", dir, mounts)
		}
	})
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func (e *engine) exec(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = e.env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return r
}

func (e *engine) buildahRun(t *testing.T, args ...string) result {
	t.Helper()
	return e.exec(t, e.buildah, append(slices.Clone(e.storage), args...)...)
}

func (e *engine) podmanRun(t *testing.T, args ...string) result {
	t.Helper()
	return e.exec(t, e.podman, append(slices.Clone(e.podmanFlags), args...)...)
}

// must runs and fails the test on a non-zero exit.
func must(t *testing.T, r result, what string) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: %s", what, r)
	}
	return r.stdout
}

func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// prepareContext lays out the build context like the builder stage's
// output: the binary, the CA bundle, a rootfs tree whose entries keep
// their modes (/tmp 1777) and an empty dir for the state volume.
func prepareContext(t *testing.T, dir string) {
	t.Helper()
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("CA bundle for the image: %v (apt-get install ca-certificates)", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"rootfs/etc/orbd", "rootfs/var/lib", "rootfs/tmp", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "rootfs/tmp"), 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
}

// agentYAML is a dry-run config with one SNMP policy against a simulated
// switch on loopback (the container shares the host's network namespace).
func agentYAML(listen string, snmpPort int) string {
	return fmt.Sprintf(`orb:
  config_manager: {active: local}
  agent: {workers: 2, listen: %q, state_dir: /var/lib/orbd, shutdown_grace: 5s}
  backends:
    common:
      diode:
        dry_run: true
        dry_run_output_dir: /out/dry
        agent_name: imagetest
        batch_interval: 200ms
    snmp_discovery: {}
  policies:
    snmp_discovery:
      image:
        config: {timeout: 10, snmp_timeout: 1}
        scope:
          authentication: {protocol_version: SNMPv2c, community: imagetest}
          targets:
            - {host: 127.0.0.1, port: %d}
`, listen, snmpPort)
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	// 0644: the container reads it as uid 65532 through the bind mount.
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// outDir is a host dir mounted at /out, owned by uid.
func outDir(t *testing.T, uid int) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, uid, uid); err != nil {
		t.Fatal(err)
	}
	return d
}

// dryRunFiles returns the request files orbd wrote and checks each one is
// owned by the image's user and carries entities.
func dryRunFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "dry", "imagetest_*.json"))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != nonRoot {
			t.Errorf("%s owned by uid %d: the container did not run as %d", f, uid, nonRoot)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req struct {
			Entities []json.RawMessage `json:"entities"`
		}
		if err := json.Unmarshal(b, &req); err != nil || len(req.Entities) == 0 {
			t.Errorf("%s: %d entities, err %v", f, len(req.Entities), err)
		}
	}
	return files
}

func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a container image; run without -short")
	}
	ctxDir := t.TempDir()
	version := uniqueName(t, "0.0.0-imagetest-")
	bin := filepath.Join(ctxDir, "orbd")
	buildOrbd(t, bin, version)
	checkStatic(t, bin)

	peertest.RequireRoot(t, "buildah and podman on vfs storage with runc")
	e := newEngine(t)
	prepareContext(t, ctxDir)

	img := "localhost/" + uniqueName(t, "orbd-imagetest-") + ":test"
	t.Cleanup(func() {
		if r := e.buildahRun(t, "rmi", "-f", img); r.code != 0 {
			t.Errorf("buildah rmi: %s", r)
		}
	})
	must(t, e.buildahRun(t, "bud", "--layers=false", "-f", "testdata/Containerfile", "-t", img, ctxDir), "buildah bud")

	t.Run("size", func(t *testing.T) {
		human := strings.TrimSpace(must(t, e.buildahRun(t, "images", "--format", "{{.Size}}", img), "buildah images"))
		out := strings.TrimSpace(must(t, e.podmanRun(t, "image", "inspect", "--format", "{{.Size}}", img), "podman image inspect"))
		size, err := strconv.ParseInt(out, 10, 64)
		if err != nil {
			t.Fatalf("image size %q: %v", out, err)
		}
		t.Logf("image %s: %s (%d bytes)", img, human, size)
		if size >= 60e6 {
			t.Errorf("image is %d bytes, want < 60 MB", size)
		}
	})

	t.Run("layout", func(t *testing.T) {
		ctr := strings.TrimSpace(must(t, e.buildahRun(t, "from", img), "buildah from"))
		t.Cleanup(func() { e.buildahRun(t, "rm", ctr) })
		root := strings.TrimSpace(must(t, e.buildahRun(t, "mount", ctr), "buildah mount"))
		t.Cleanup(func() { e.buildahRun(t, "umount", ctr) })

		type entry struct {
			mode fs.FileMode
			uid  uint32
		}
		want := map[string]entry{
			"/etc":                               {fs.ModeDir | 0o755, 0},
			"/etc/orbd":                          {fs.ModeDir | 0o755, 0},
			"/etc/ssl":                           {fs.ModeDir | 0o755, 0},
			"/etc/ssl/certs":                     {fs.ModeDir | 0o755, 0},
			"/etc/ssl/certs/ca-certificates.crt": {0o644, 0},
			"/tmp":                               {fs.ModeDir | fs.ModeSticky | 0o777, 0},
			"/usr":                               {fs.ModeDir | 0o755, 0},
			"/usr/local":                         {fs.ModeDir | 0o755, 0},
			"/usr/local/bin":                     {fs.ModeDir | 0o755, 0},
			"/usr/local/bin/orbd":                {0o755, 0},
			"/var":                               {fs.ModeDir | 0o755, 0},
			"/var/lib":                           {fs.ModeDir | 0o755, 0},
			"/var/lib/orbd":                      {fs.ModeDir | 0o755, nonRoot},
		}
		got := map[string]entry{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			got[strings.TrimPrefix(p, root)] = entry{info.Mode(), info.Sys().(*syscall.Stat_t).Uid}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for p, w := range want {
			if g, ok := got[p]; !ok {
				t.Errorf("%s missing from the image", p)
			} else if g != w {
				t.Errorf("%s: mode %v uid %d, want mode %v uid %d", p, g.mode, g.uid, w.mode, w.uid)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("unexpected %s in the image", p)
			}
		}
		ca, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
		if err != nil || !x509.NewCertPool().AppendCertsFromPEM(ca) {
			t.Errorf("CA bundle in the image holds no certificates (err %v)", err)
		}
		inImage, err := os.ReadFile(filepath.Join(root, "usr/local/bin/orbd"))
		built, err2 := os.ReadFile(bin)
		if err != nil || err2 != nil || !bytes.Equal(inImage, built) {
			t.Errorf("/usr/local/bin/orbd is not the binary just built (%v, %v)", err, err2)
		}
	})

	t.Run("config", func(t *testing.T) {
		out := must(t, e.podmanRun(t, "image", "inspect", "--format", "{{json .Config}}", img), "podman image inspect")
		var cfg struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			Volumes      map[string]struct{}
			ExposedPorts map[string]struct{}
		}
		if err := json.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if cfg.User != "65532:65532" ||
			!slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/orbd"}) ||
			!slices.Equal(cfg.Cmd, []string{"run", "-c", "/etc/orbd/agent.yaml", "--log-format", "json"}) ||
			len(cfg.Volumes) != 1 || !hasKey(cfg.Volumes, "/var/lib/orbd") ||
			!hasKey(cfg.ExposedPorts, "8080/tcp") {
			t.Errorf("image config %s", out)
		}
	})

	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return e.podmanRun(t, append([]string{"run", "--rm", "--network", "host"}, args...)...)
	}

	t.Run("version", func(t *testing.T) {
		out := must(t, run(t, img, "version"), "orbd version")
		if out != "orbd "+version+"\n" {
			t.Errorf("orbd version printed %q, want %q", out, "orbd "+version)
		}
	})

	t.Run("validate", func(t *testing.T) {
		dir := t.TempDir()
		good := writeFile(t, filepath.Join(dir, "good.yaml"), agentYAML("", 161))
		out := must(t, run(t, "-v", good+":/etc/orbd/agent.yaml:ro", img, "validate", "-c", "/etc/orbd/agent.yaml"), "orbd validate")
		if !strings.Contains(out, "ok: 1 policies") {
			t.Errorf("validate printed %q", out)
		}
		// The same command must fail on a broken file, naming the position.
		bad := writeFile(t, filepath.Join(dir, "bad.yaml"), strings.Replace(agentYAML("", 161), "snmp_timeout: 1", "snmp_timeout: 1, bogus_key: 1", 1))
		r := run(t, "-v", bad+":/etc/orbd/agent.yaml:ro", img, "validate", "-c", "/etc/orbd/agent.yaml")
		if r.code != 1 || !strings.Contains(r.stderr, "/etc/orbd/agent.yaml:") || !strings.Contains(r.stderr, "bogus_key") {
			t.Errorf("validate of a bad file: %s", r)
		}
	})

	t.Run("discover runs as 65532", func(t *testing.T) {
		port := snmpSwitch(t)
		cfg := writeFile(t, filepath.Join(t.TempDir(), "agent.yaml"), agentYAML("", port))
		out := outDir(t, nonRoot)
		r := run(t, "-v", cfg+":/etc/orbd/agent.yaml:ro", "-v", out+":/out", img, "discover", "-c", "/etc/orbd/agent.yaml")
		if r.code != 0 {
			t.Fatalf("orbd discover: %s", r)
		}
		if files := dryRunFiles(t, out); len(files) == 0 {
			t.Errorf("no dry-run files in %s: %s", out, r)
		}
	})

	t.Run("non-root cannot write a root-owned dir", func(t *testing.T) {
		// Root in the container would write here; uid 65532 must not.
		cfg := writeFile(t, filepath.Join(t.TempDir(), "agent.yaml"), agentYAML("", snmpSwitch(t)))
		out := outDir(t, 0)
		r := run(t, "-v", cfg+":/etc/orbd/agent.yaml:ro", "-v", out+":/out", img, "discover", "-c", "/etc/orbd/agent.yaml")
		if r.code == 0 || !strings.Contains(r.stderr, "/out/dry") || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("discover into a root-owned 0755 dir: want permission denied on /out/dry, got %s", r)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("the container wrote %d entries into the root-owned dir", len(entries))
		}
	})

	t.Run("default command serves and stops on SIGTERM", func(t *testing.T) {
		port := snmpSwitch(t)
		api := peertest.FreeTCPPort(t)
		cfg := writeFile(t, filepath.Join(t.TempDir(), "agent.yaml"), agentYAML(fmt.Sprintf("127.0.0.1:%d", api), port))
		out := outDir(t, nonRoot)
		name := uniqueName(t, "orbd-imagetest-")
		t.Cleanup(func() { e.podmanRun(t, "rm", "-f", "-v", name) })
		// No arguments: ENTRYPOINT + CMD, i.e. orbd run -c /etc/orbd/agent.yaml --log-format json.
		must(t, e.podmanRun(t, "run", "-d", "--name", name, "--network", "host",
			"-v", cfg+":/etc/orbd/agent.yaml:ro", "-v", out+":/out", img), "podman run -d")

		deadline := time.Now().Add(60 * time.Second)
		client := &http.Client{Timeout: 2 * time.Second}
		for {
			ready := false
			if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", api)); err == nil {
				ready = resp.StatusCode == http.StatusOK
				resp.Body.Close()
			}
			if ready && len(dryRunFiles(t, out)) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no /readyz 200 and dry-run file within 60s; logs:\n%s", e.podmanRun(t, "logs", name))
			}
			time.Sleep(200 * time.Millisecond)
		}

		must(t, e.podmanRun(t, "stop", "-t", "20", name), "podman stop")
		code := strings.TrimSpace(must(t, e.podmanRun(t, "inspect", "--format", "{{.State.ExitCode}}", name), "podman inspect"))
		logs := e.podmanRun(t, "logs", name)
		if code != "0" {
			t.Errorf("exit code %s after SIGTERM, want 0 (PID 1 must handle SIGTERM); logs:\n%s", code, logs)
		}
		stopped := false
		for _, line := range strings.Split(strings.TrimSpace(logs.stdout+logs.stderr), "\n") {
			var rec struct{ Msg string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("log line is not JSON (--log-format json from CMD): %q", line)
				continue
			}
			stopped = stopped || rec.Msg == "orbd stopped"
		}
		if !stopped {
			t.Errorf("no \"orbd stopped\" log record:\n%s", logs)
		}
	})
}

func hasKey(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}

// snmpSwitch starts a simulated switch on loopback and returns its port.
func snmpSwitch(t *testing.T) int {
	t.Helper()
	rec, err := snmptest.DemoRecording("cisco-iosxe-c9300")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := snmptest.NewServer("127.0.0.1:0", rec, snmptest.WithCommunity("imagetest"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Port()
}
