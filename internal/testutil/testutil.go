// Package testutil holds the test helpers several packages share: golden
// files with one -update flag, loading a demo policy body through the real
// policies loader, and the stable JSON rendering of Diode entities.
//
// It is a normal package so it builds without _test files, but only tests
// import it. It must not import ingest or drivers: ingest's in-package tests
// use it, and Go refuses such an import cycle.
package testutil

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/orbd/orbd/policies"
)

// update is registered once here; a test binary that also defined its own
// -update would panic at start, so importers must not.
var update = flag.Bool("update", false, "rewrite golden files")

// Update reports whether the test run was started with -update.
func Update() bool { return *update }

// Golden compares got with the file at path. Under -update it writes got
// there instead (creating the directory). A mismatch fails the test without
// stopping it and reports the first differing line.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it after review):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// GoldenJSON is Golden for v rendered by json.MarshalIndent with a final newline.
func GoldenJSON(t testing.TB, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Golden(t, path, append(got, '\n'))
}

// firstDiff names the first line (1-based) where want and got differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want: %s\n  got: %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}

// EntitiesJSON renders entities as one indented protojson IngestRequest with
// proto field names. protojson's own whitespace is deliberately unstable, so
// it is re-indented to keep golden files byte-stable.
func EntitiesJSON(t testing.TB, ents []*diodepb.Entity) []byte {
	t.Helper()
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&diodepb.IngestRequest{Entities: ents})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// LoadPolicy composes one policy body (the mapping with config: and scope:,
// as a driver's Demo returns it) into a minimal dry-run agent.yaml, the way
// `orbd demo` does, and loads it with the real policies.Load. The
// environment is empty so the host cannot change the result. It fails the
// test, showing the YAML, unless exactly one policy of backend loads.
func LoadPolicy(t testing.TB, backend, name, body string) *policies.Policy {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "orb:\n  backends:\n    common:\n      diode: {dry_run: true, dry_run_output_dir: %s}\n    %s: {}\n  policies:\n    %s:\n      %s:\n",
		t.TempDir(), backend, backend, name)
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString("        " + line + "\n")
	}
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := policies.Load([]string{path}, policies.LoadOptions{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("policy %s/%s does not load: %v\n%s", backend, name, err, b.String())
	}
	if len(cfg.Policies) != 1 || cfg.Policies[0].Backend != backend {
		t.Fatalf("loaded %d policies; want one %s\n%s", len(cfg.Policies), backend, b.String())
	}
	return cfg.Policies[0]
}
