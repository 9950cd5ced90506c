package agent

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the JSON of GET /api/v1/status. It carries no policy scope or
// credentials: only names, schedules and run summaries.
type Status struct {
	Version       string         `json:"version"`
	StartTime     time.Time      `json:"start_time"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Ready         bool           `json:"ready"`
	ConfigFiles   []string       `json:"config_files"`
	Reload        ReloadStatus   `json:"reload"`
	Pool          PoolStatus     `json:"pool"`
	Policies      []PolicyStatus `json:"policies"`
	Delivery      any            `json:"delivery,omitempty"`
}

type ReloadStatus struct {
	OK          bool       `json:"ok"`
	Error       string     `json:"error,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
}

type PoolStatus struct {
	Workers int `json:"workers"`
	Busy    int `json:"busy"`
	Queued  int `json:"queued"`
}

type PolicyStatus struct {
	Name     string     `json:"name"`
	Backend  string     `json:"backend"`
	Schedule string     `json:"schedule"` // "" = once at start
	NextRun  *time.Time `json:"next_run,omitempty"`
	Running  bool       `json:"running"`
	Skipped  int        `json:"skipped_runs"`
	Error    string     `json:"error,omitempty"` // the policy could not start
	LastRun  *RunResult `json:"last_run,omitempty"`
}

// Status returns what /api/v1/status serves.
func (a *Agent) Status() Status {
	a.mu.Lock()
	st := Status{
		Version:     a.version,
		StartTime:   a.started,
		Ready:       a.ready && a.state == stateRunning,
		ConfigFiles: append([]string(nil), a.files...),
		Reload:      ReloadStatus{OK: a.reloadOK, Error: a.reloadErr},
	}
	if !a.reloadAt.IsZero() {
		t := a.reloadAt
		st.Reload.LastSuccess = &t
	}
	pool := a.pool
	rs := make([]*runner, 0, len(a.runners))
	for _, r := range a.runners {
		rs = append(rs, r)
	}
	a.mu.Unlock()

	st.UptimeSeconds = a.now().Sub(st.StartTime).Seconds()
	if pool != nil {
		st.Pool.Workers, st.Pool.Busy, st.Pool.Queued = pool.Stats()
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].p.Key() < rs[j].p.Key() })
	st.Policies = make([]PolicyStatus, 0, len(rs))
	for _, r := range rs {
		ps := PolicyStatus{Name: r.p.Name, Backend: r.p.Backend, Schedule: r.p.Schedule, Error: r.buildErr}
		r.mu.Lock()
		ps.Running, ps.Skipped = r.running, r.skipped
		if !r.next.IsZero() {
			n := r.next
			ps.NextRun = &n
		}
		if r.last != nil {
			last := *r.last
			last.Errors = append([]TargetError(nil), r.last.Errors...)
			ps.LastRun = &last
		}
		r.mu.Unlock()
		st.Policies = append(st.Policies, ps)
	}
	if a.deliveryStatus != nil {
		st.Delivery = a.deliveryStatus()
	}
	return st
}

// Handler serves /api/v1/status, /metrics, /healthz and /readyz.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		ready, state := a.ready, a.state
		a.mu.Unlock()
		switch {
		case state == stateStopping || state == stateStopped:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case !ready:
			http.Error(w, "no config applied yet", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ready\n"))
		}
	})
	return mux
}
