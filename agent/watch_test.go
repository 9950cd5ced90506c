package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startWatch runs watch on paths and returns a channel that receives one
// value per reload.
func startWatch(t *testing.T, paths ...string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reloads := make(chan struct{}, 16)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- watch(ctx, paths, func(context.Context) { reloads <- struct{}{} }, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch returned %v", err)
		}
	})
	return reloads
}

func expectReload(t *testing.T, reloads <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-reloads:
	case <-time.After(10 * time.Second): // a hang bound, not a timing assertion
		t.Fatalf("no reload after %s", what)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatchFileWriteAndRenameReplace(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	write(t, cfg, "orb: {}\n")
	reloads := startWatch(t, cfg)

	write(t, cfg, "orb: {agent: {workers: 2}}\n")
	expectReload(t, reloads, "in-place write")

	// Editors and config management: write a temp file, rename it over.
	tmp := filepath.Join(dir, ".agent.yaml.swp")
	write(t, tmp, "orb: {agent: {workers: 3}}\n")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	expectReload(t, reloads, "rename-replace")

	// The file watch is re-armed: a later in-place write is still seen.
	write(t, cfg, "orb: {agent: {workers: 4}}\n")
	expectReload(t, reloads, "write after rename-replace")
}

// Kubernetes ConfigMap volumes: agent.yaml -> ..data/agent.yaml and an
// update atomically renames a new ..data symlink into place.
func TestWatchConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	mk := func(version, body string) {
		d := filepath.Join(dir, version)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(d, "agent.yaml"), body)
	}
	mk("..2026_12_04_v1", "orb: {}\n")
	if err := os.Symlink("..2026_12_04_v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/agent.yaml", filepath.Join(dir, "agent.yaml")); err != nil {
		t.Fatal(err)
	}
	reloads := startWatch(t, filepath.Join(dir, "agent.yaml"))

	mk("..2026_12_04_v2", "orb: {agent: {workers: 2}}\n")
	if err := os.Symlink("..2026_12_04_v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	expectReload(t, reloads, "..data symlink swap")
}

func TestWatchDirectoryOfYAML(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "orb: {}\n")
	reloads := startWatch(t, dir)
	write(t, filepath.Join(dir, "b.yml"), "orb: {}\n")
	expectReload(t, reloads, "new file in config dir")
}
