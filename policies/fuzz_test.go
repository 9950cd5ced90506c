package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through Load: bad input must come back as
// Errors, never a panic, and success must return a config.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("orb: &a {labels: *a}\n"))
	f.Add([]byte("orb:\n  agent: &x\n    <<: *x\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load([]string{p}, LoadOptions{Getenv: noEnv, ReadFile: func(string) ([]byte, error) { return []byte("x"), nil }})
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && (cfg != nil || strings.TrimSpace(err.Error()) == "") {
			t.Fatalf("config %v with error %q", cfg != nil, err)
		}
	})
}
