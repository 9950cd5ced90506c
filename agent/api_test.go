package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHTTPAPI(t *testing.T) {
	h := newHarness(t)
	h.a.deliveryStatus = func() any { return map[string]any{"spool_bytes": 42} }
	srv := h.a.Handler()

	if code, _ := get(t, srv, "/healthz"); code != 200 {
		t.Errorf("healthz before Run = %d", code)
	}
	if code, _ := get(t, srv, "/readyz"); code != 503 {
		t.Errorf("readyz before Run = %d, want 503", code)
	}
	stop := h.run(t)
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "no config applied yet") {
		t.Errorf("readyz before first config = %d %q", code, body)
	}

	release := make(chan struct{})
	h.f.set("core", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
		if tg.Host == "127.0.0.2" {
			return nil, context.DeadlineExceeded
		}
		return oneDevice(tg), nil
	}})
	h.f.set("hold", &fakePolicy{targets: hosts("127.0.0.3"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return oneDevice(tg), nil
	}})
	core := pol("core", "", "1")
	// Scope with a credential: it must not reach the status JSON.
	core.SNMP = &policies.SNMPPolicy{Scope: policies.SNMPScope{Authentication: &policies.SNMPAuth{ProtocolVersion: "SNMPv2c", Community: "s3cr3t-community"}}}
	cfg := config(5, core, pol("hold", "@hourly", "1"))
	cfg.Agent.ShutdownGrace = policies.Duration(time.Minute)
	if err := h.a.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv, "/readyz"); code != 200 {
		t.Errorf("readyz after Apply = %d, want 200", code)
	}
	waitFor(t, "core run", func() bool { return h.policyStatus(t, "core").LastRun != nil })

	code, body := get(t, srv, "/api/v1/status")
	if code != 200 {
		t.Fatalf("status = %d", code)
	}
	if strings.Contains(body, "s3cr3t") {
		t.Errorf("status leaks a secret:\n%s", body)
	}
	var st struct {
		Version       string   `json:"version"`
		StartTime     string   `json:"start_time"`
		UptimeSeconds *float64 `json:"uptime_seconds"`
		Ready         bool     `json:"ready"`
		ConfigFiles   []string `json:"config_files"`
		Reload        struct {
			OK          bool    `json:"ok"`
			LastSuccess *string `json:"last_success"`
		} `json:"reload"`
		Pool struct {
			Workers int  `json:"workers"`
			Busy    *int `json:"busy"`
			Queued  *int `json:"queued"`
		} `json:"pool"`
		Policies []struct {
			Name     string     `json:"name"`
			Backend  string     `json:"backend"`
			Schedule string     `json:"schedule"`
			NextRun  *string    `json:"next_run"`
			Running  bool       `json:"running"`
			Skipped  *int       `json:"skipped_runs"`
			LastRun  *RunResult `json:"last_run"`
		} `json:"policies"`
		Delivery map[string]int `json:"delivery"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if st.Version != "v-test" || st.StartTime == "" || st.UptimeSeconds == nil || !st.Ready ||
		strings.Join(st.ConfigFiles, ",") != "/etc/orbd/agent.yaml" || !st.Reload.OK || st.Reload.LastSuccess == nil ||
		st.Pool.Workers != 5 || st.Pool.Busy == nil || st.Pool.Queued == nil || st.Delivery["spool_bytes"] != 42 {
		t.Errorf("status header fields wrong:\n%s", body)
	}
	if len(st.Policies) != 2 {
		t.Fatalf("policies:\n%s", body)
	}
	c, hd := st.Policies[0], st.Policies[1]
	if c.Name != "core" || c.Backend != fakeBackend || c.Schedule != "" || c.NextRun != nil || c.Running || c.Skipped == nil {
		t.Errorf("core status wrong:\n%s", body)
	}
	if lr := c.LastRun; lr == nil || lr.TargetsTried != 2 || lr.TargetsFailed != 1 || lr.Entities != 4 ||
		len(lr.Errors) != 1 || lr.Errors[0].Target != "127.0.0.2" || lr.Duration <= 0 {
		t.Errorf("core last_run wrong:\n%s", body)
	}
	if hd.Name != "hold" || hd.Schedule != "@hourly" || hd.NextRun == nil || hd.Running || hd.LastRun != nil {
		t.Errorf("hold status wrong:\n%s", body)
	}

	_, metrics := get(t, srv, "/metrics")
	for _, want := range []string{
		`orbd_runs_total{backend="fake_discovery",policy="core",result="partial"} 1`,
		`orbd_run_duration_seconds_count{backend="fake_discovery",policy="core"} 1`,
		`orbd_targets_total{policy="core",result="ok"} 1`,
		`orbd_targets_total{policy="core",result="failed"} 1`,
		`orbd_entities_emitted_total{policy="core"} 4`,
		`orbd_pool_busy_workers 0`,
		`orbd_config_last_reload_successful 1`,
		`orbd_config_last_reload_success_timestamp_seconds `,
		`orbd_fake_requests_total{policy="core"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Removing core deletes its series.
	if err := h.a.Apply(context.Background(), config(5, pol("hold", "@hourly", "1"))); err != nil {
		t.Fatal(err)
	}
	_, metrics = get(t, srv, "/metrics")
	if strings.Contains(metrics, `policy="core"`) {
		t.Errorf("series of removed policy remain:\n%s", metrics)
	}

	// Shutting down: not ready while in-flight work drains.
	if err := h.a.Apply(context.Background(), func() *policies.Config {
		c := config(5, pol("hold", "", "2"))
		c.Agent.ShutdownGrace = policies.Duration(time.Minute)
		return c
	}()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hold to run", func() bool { return h.policyStatus(t, "hold").Running })
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	waitFor(t, "shutdown to begin", func() bool {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		return h.a.state == stateStopping
	})
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz during shutdown = %d %q", code, body)
	}
	if code, _ := get(t, srv, "/healthz"); code != 200 {
		t.Errorf("healthz during shutdown = %d", code)
	}
	close(release)
	<-stopped
}
