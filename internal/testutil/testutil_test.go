package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/orbd/orbd/policies"
)

// recorder is a testing.TB that records failures instead of failing t;
// Fatal* stops the calling goroutine as the real one does.
type recorder struct {
	*testing.T
	errs   []string
	fatals []string
}

func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatal(a ...any)            { r.fatals = append(r.fatals, fmt.Sprint(a...)); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(f, a...))
	runtime.Goexit()
}

// run calls fn with a recorder on its own goroutine so Fatal can end it.
func run(t *testing.T, fn func(tb testing.TB)) *recorder {
	r := &recorder{T: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
	return r
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, got string
		errs, fatal     string // substrings expected; "" means none
	}{
		{"equal", path, "a\nb\nc\n", "", ""},
		{"second line differs", path, "a\nB\nc\n", "line 2:\n want: b\n  got: B", ""},
		{"got is longer", path, "a\nb\nc\nd\n", "line 4:\n want: \n  got: d", ""},
		{"missing file", filepath.Join(dir, "none"), "a\n", "", "go test -update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, func(tb testing.TB) { Golden(tb, tc.path, []byte(tc.got)) })
			check(t, "Errorf", r.errs, tc.errs)
			check(t, "Fatalf", r.fatals, tc.fatal)
		})
	}
}

func check(t *testing.T, what string, got []string, want string) {
	t.Helper()
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("%s called: %q", what, got)
	case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
		t.Errorf("%s = %q; want one containing %q", what, got, want)
	}
}

func TestGoldenUpdate(t *testing.T) {
	old := *update
	*update = true
	t.Cleanup(func() { *update = old })
	path := filepath.Join(t.TempDir(), "new", "dir", "v.json")
	GoldenJSON(t, path, map[string]int{"b": 2, "a": 1})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\": 1,\n  \"b\": 2\n}\n"; string(b) != want {
		t.Fatalf("wrote %q; want %q", b, want)
	}
	if !Update() {
		t.Fatal("Update() = false under -update")
	}
}

func TestLoadPolicy(t *testing.T) {
	body := "scope:\n  authentication: {protocol_version: SNMPv2c, community: public}\n  targets: [{host: 127.0.0.1}]\n"
	p := LoadPolicy(t, policies.BackendSNMP, "lab", body)
	if p.Name != "lab" || p.SNMP == nil || len(p.SNMP.Scope.Targets) != 1 {
		t.Fatalf("loaded %+v", p)
	}

	r := run(t, func(tb testing.TB) { LoadPolicy(tb, policies.BackendSNMP, "lab", "scope: {targets: []}\n") })
	if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "snmp_discovery/lab") || !strings.Contains(r.fatals[0], "        scope: {targets: []}") {
		t.Fatalf("fatals %q; want one naming the policy and showing the YAML", r.fatals)
	}
}
