package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/orbd/orbd/policies"
)

// Reload loads a new config and applies it. If load or Apply fails, the
// running policies stay as they are, the error is logged and shown in the
// status API, and orbd_config_last_reload_successful drops to 0.
func (a *Agent) Reload(ctx context.Context, load func() (*policies.Config, error)) error {
	cfg, err := load()
	if err != nil {
		err = fmt.Errorf("reload: %w", err)
		a.noteReload(err)
		a.log.Error("config reload failed; keeping the running policies", "err", err.Error())
		return err
	}
	if err := a.Apply(ctx, cfg); err != nil {
		a.log.Error("config reload applied with errors", "err", err.Error())
		return err
	}
	a.log.Info("config reloaded", "policies", len(cfg.Policies))
	return nil
}

// debounce collapses the burst of events one save produces (editors write,
// chmod and rename; kubelet swaps several symlinks).
const debounce = 250 * time.Millisecond

// Watch calls reload, debounced, whenever one of paths changes, until ctx
// is done. It watches each path and its parent directory, so that an
// editor's write-to-temp-and-rename and a Kubernetes ConfigMap's ..data
// symlink swap are both seen. A path may be a directory of *.yaml files.
func Watch(ctx context.Context, paths []string, reload func(ctx context.Context)) error {
	return watch(ctx, paths, reload, nil)
}

// watch is Watch with a hook called once every watch is in place (tests).
func watch(ctx context.Context, paths []string, reload func(ctx context.Context), ready func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	files := map[string]bool{} // cleaned config files
	dirs := map[string]bool{}  // config directories (all *.yaml inside count)
	parents := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watch config %s: %w", p, err)
		}
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			dirs[abs] = true
		} else {
			files[abs] = true
		}
		parents[filepath.Dir(abs)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watch config dir %s: %w", d, err)
		}
	}
	for d := range parents {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watch config dir %s: %w", d, err)
		}
	}
	for f := range files {
		// The file itself too: a write through a symlink whose target is
		// elsewhere is invisible in the parent dir. Missing is fine: the
		// parent dir watch sees it appear.
		_ = w.Add(f)
	}
	relevant := func(name string) bool {
		if files[name] || dirs[filepath.Dir(name)] && isYAML(name) {
			return true
		}
		// ConfigMap volumes: agent.yaml -> ..data/agent.yaml, and the
		// update is a rename of ..data_tmp onto ..data.
		return parents[filepath.Dir(name)] && strings.HasPrefix(filepath.Base(name), "..")
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	if ready != nil {
		ready()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch config: watcher closed")
			}
			if !relevant(ev.Name) {
				continue
			}
			if files[ev.Name] && ev.Has(fsnotify.Create) {
				_ = w.Add(ev.Name) // re-arm the file watch after a replace
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch config: watcher closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(debounce) // events were lost: reload to be sure
				continue
			}
			return fmt.Errorf("watch config: %w", err)
		case <-timer.C:
			reload(ctx)
		}
	}
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}
