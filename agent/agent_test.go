package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// A run slower than the schedule: ticks during it are skipped and counted,
// and no two runs of the policy are ever open at once.
func TestNoOverlap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	var started atomic.Int32
	h.f.set("slow", &fakePolicy{targets: hosts("127.0.0.1"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
		if started.Add(1) == 1 {
			<-release // only the first run is slow
		}
		return oneDevice(tg), nil
	}})
	h.f.set("fast", &fakePolicy{targets: hosts("127.0.0.2")})
	h.run(t)
	if err := h.a.Apply(context.Background(), config(4, pol("slow", "@every 1s", "1"), pol("fast", "@every 1s", "1"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two skipped ticks", func() bool { return h.policyStatus(t, "slow").Skipped >= 2 })
	if !h.policyStatus(t, "slow").Running {
		t.Error("slow policy not reported running")
	}
	close(release)
	waitFor(t, "slow run to finish", func() bool { return h.policyStatus(t, "slow").LastRun != nil })
	waitFor(t, "fast policy to run twice", func() bool { return h.d.closedRuns("fast") >= 2 })

	st := h.policyStatus(t, "slow")
	if got := testutil.ToFloat64(h.a.m.skipped.WithLabelValues("slow")); got < 2 || int(got) > st.Skipped+1 {
		t.Errorf("orbd_runs_skipped_total{slow} = %v, status says %d", got, st.Skipped)
	}
	if got := testutil.ToFloat64(h.a.m.skipped.WithLabelValues("fast")); got != 0 {
		t.Errorf("fast policy skipped %v ticks, want 0", got)
	}
	h.d.mu.Lock()
	overlaps := h.d.overlaps
	h.d.mu.Unlock()
	if overlaps != 0 {
		t.Errorf("%d overlapping runs", overlaps)
	}
	if st.NextRun == nil || st.Schedule != "@every 1s" {
		t.Errorf("status next_run=%v schedule=%q", st.NextRun, st.Schedule)
	}
}

// Fairness through the whole agent: policy A has 10,000 targets and holds
// every worker; policy B (3 targets) is added by a reload. B's last task
// is taken after at most N more A-tasks.
func TestFairnessAcrossPolicies(t *testing.T) {
	const workers = 4
	h := newHarness(t)
	gate := make(chan struct{})
	var blocked atomic.Int32
	many := make([]drivers.Target, 10000)
	for i := range many {
		many[i] = drivers.Target{Host: fmt.Sprintf("127.0.%d.%d", i/250, i%250+1)}
	}
	h.f.set("A", &fakePolicy{targets: many, discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
		if blocked.Load() < workers && blocked.Add(1) <= workers {
			<-gate
		}
		return nil, nil
	}})
	h.f.set("B", &fakePolicy{targets: hosts("127.1.0.1", "127.1.0.2", "127.1.0.3")})
	h.run(t)
	var mu sync.Mutex
	var order []string
	h.a.mu.Lock()
	pool := h.a.pool
	h.a.mu.Unlock()
	pool.mu.Lock()
	pool.trace = func(key string) { mu.Lock(); order = append(order, key); mu.Unlock() }
	pool.mu.Unlock()

	a := pol("A", "", "1")
	if err := h.a.Apply(context.Background(), config(workers, a)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to hold every worker", func() bool { return blocked.Load() == workers })
	if err := h.a.Apply(context.Background(), config(workers, a, pol("B", "", "1"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's tasks to be queued", func() bool { _, _, q := pool.Stats(); return q == 10000-workers+3 })
	mu.Lock()
	bQueuedAt := len(order)
	mu.Unlock()
	close(gate)
	waitFor(t, "B to finish", func() bool { return h.d.closedRuns("B") == 1 })

	mu.Lock()
	after := append([]string(nil), order[bQueuedAt:]...)
	mu.Unlock()
	lastB := -1
	for i, k := range after {
		if k == "B" {
			lastB = i
		}
	}
	aBefore := strings.Count(strings.Join(after[:lastB], ","), "A")
	if lastB < 0 || aBefore > workers {
		t.Fatalf("B's last task taken after %d A-tasks (dispatch %v); want <= %d", aBefore, after[:min(len(after), 12)], workers)
	}
}

// Reload diff: a unchanged keeps running, b changed restarts, c removed is
// cancelled and closed, d new starts. Cancellation is seen by the driver.
func TestApplyDiff(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	cancelled := map[string]int{}
	starts := map[string]int{}
	block := func(name string) *fakePolicy {
		return &fakePolicy{targets: hosts("127.0.0.1"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
			mu.Lock()
			starts[name]++
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			cancelled[name]++
			mu.Unlock()
			return nil, ctx.Err()
		}}
	}
	started := func(name string, n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return starts[name] == n }
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		h.f.set(n, block(n))
	}
	h.run(t)
	if err := h.a.Apply(context.Background(), config(8, pol("a", "", "1"), pol("b", "", "1"), pol("c", "", "1"))); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		waitFor(t, n+" to start", started(n, 1))
	}

	if err := h.a.Apply(context.Background(), config(8, pol("a", "", "1"), pol("b", "", "2"), pol("d", "", "1"))); err != nil {
		t.Fatal(err)
	}
	// Apply has returned: removed and changed policies are fully stopped.
	mu.Lock()
	gotCancelled := map[string]int{"a": cancelled["a"], "b": cancelled["b"], "c": cancelled["c"]}
	mu.Unlock()
	if want := map[string]int{"a": 0, "b": 1, "c": 1}; fmt.Sprint(gotCancelled) != fmt.Sprint(want) {
		t.Errorf("cancelled = %v, want %v", gotCancelled, want)
	}
	for name, want := range map[string][2]int{"a": {1, 0}, "b": {2, 1}, "c": {1, 1}, "d": {1, 0}} {
		if b, c := h.f.count(h.f.builds, name), h.f.count(h.f.closes, name); b != want[0] || c != want[1] {
			t.Errorf("policy %s: builds=%d closes=%d, want %d %d", name, b, c, want[0], want[1])
		}
	}
	waitFor(t, "b to start again", started("b", 2))
	waitFor(t, "d to start", started("d", 1))
	var names []string
	for _, p := range h.a.Status().Policies {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,d" {
		t.Errorf("status policies = %s, want a,b,d", got)
	}
	// c's series are gone, including the driver's own collector.
	if n := testutil.CollectAndCount(h.a.m.runs); n == 0 {
		t.Error("no orbd_runs_total series at all")
	}
	out, err := testutil.CollectAndFormat(h.reg, expfmt.TypeTextPlain, "orbd_runs_total", "orbd_targets_total", "orbd_fake_requests_total")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `policy="c"`) {
		t.Errorf("series of removed policy c remain:\n%s", out)
	}
	if !strings.Contains(string(out), `orbd_runs_total{backend="fake_discovery",policy="b",result="cancelled"} 1`) {
		t.Errorf("changed policy b's cancelled run not counted:\n%s", out)
	}
	if !strings.Contains(string(out), `orbd_fake_requests_total{policy="a"} 1`) {
		t.Errorf("driver metric of a not labelled by policy:\n%s", out)
	}
}

// An invalid config keeps the running set; the metric and status say so.
func TestBadReloadKeepsOldSet(t *testing.T) {
	h := newHarness(t)
	h.f.set("a", &fakePolicy{targets: hosts("127.0.0.1")})
	h.run(t)
	good := config(2, pol("a", "", "1"))
	if err := h.a.Reload(context.Background(), func() (*policies.Config, error) { return good, nil }); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(h.a.m.reloadOK); got != 1 {
		t.Fatalf("reload ok = %v after good load", got)
	}
	if ts := testutil.ToFloat64(h.a.m.reloadTime); ts <= 0 {
		t.Errorf("reload timestamp = %v", ts)
	}
	waitFor(t, "first run", func() bool { return h.d.closedRuns("a") == 1 })

	cases := []struct {
		name string
		load func() (*policies.Config, error)
		want string
	}{
		{"load error", func() (*policies.Config, error) {
			return nil, errors.New("agent.yaml:3:5: orb.policies.snmp_discovery.x.config.timeout: expected number")
		}, "reload: agent.yaml:3:5: orb.policies.snmp_discovery.x.config.timeout: expected number"},
		{"bad schedule", func() (*policies.Config, error) {
			return config(2, pol("a", "", "2"), pol("b", "every now and then", "1")), nil
		}, `policy fake_discovery/b: schedule "every now and then"`},
		{"unknown backend", func() (*policies.Config, error) {
			p := pol("z", "", "1")
			p.Backend = "gnmi_discovery"
			return config(2, pol("a", "", "2"), p), nil
		}, "policy gnmi_discovery/z: backend gnmi_discovery is not available in this build"},
		{"duplicate name", func() (*policies.Config, error) {
			p := pol("a", "", "1")
			p.Backend = "other"
			return config(2, pol("a", "", "2"), p), nil
		}, "policy other/a: name already used by fake_discovery/a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := h.a.Reload(context.Background(), tc.load)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Reload error = %v, want it to contain %q", err, tc.want)
			}
			if got := testutil.ToFloat64(h.a.m.reloadOK); got != 0 {
				t.Errorf("orbd_config_last_reload_successful = %v, want 0", got)
			}
			st := h.a.Status()
			if st.Reload.OK || !strings.Contains(st.Reload.Error, tc.want) {
				t.Errorf("status reload = %+v", st.Reload)
			}
			if len(st.Policies) != 1 || st.Policies[0].Name != "a" {
				t.Errorf("running set changed: %+v", st.Policies)
			}
			if b, c := h.f.count(h.f.builds, "a"), h.f.count(h.f.closes, "a"); b != 1 || c != 0 {
				t.Errorf("policy a rebuilt or closed: builds=%d closes=%d", b, c)
			}
		})
	}
	// A good file again clears the error.
	if err := h.a.Reload(context.Background(), func() (*policies.Config, error) { return good, nil }); err != nil {
		t.Fatal(err)
	}
	if st := h.a.Status(); !st.Reload.OK || st.Reload.Error != "" || st.Reload.LastSuccess == nil {
		t.Errorf("status after recovery = %+v", st.Reload)
	}
}

// A driver that fails to build is reported while the others run.
func TestDriverBuildError(t *testing.T) {
	h := newHarness(t)
	h.f.set("broken", &fakePolicy{newErr: errors.New("lookup_extensions_dir: no such directory")})
	h.f.set("ok", &fakePolicy{targets: hosts("127.0.0.1")})
	h.run(t)
	err := h.a.Apply(context.Background(), config(2, pol("broken", "", "1"), pol("ok", "", "1")))
	want := "policy fake_discovery/broken: driver: lookup_extensions_dir: no such directory"
	if err == nil || err.Error() != want {
		t.Fatalf("Apply error = %v, want %q", err, want)
	}
	waitFor(t, "ok policy run", func() bool { return h.d.closedRuns("ok") == 1 })
	if ps := h.policyStatus(t, "broken"); ps.Error != want {
		t.Errorf("status error = %q", ps.Error)
	}
	// Retried on the next apply even with the same fingerprint.
	h.f.set("broken", &fakePolicy{targets: hosts("127.0.0.9")})
	if err := h.a.Apply(context.Background(), config(2, pol("broken", "", "1"), pol("ok", "", "1"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fixed policy run", func() bool { return h.d.closedRuns("broken") == 1 })
	// The log names the policy as an attribute, not again in the message.
	if recs := h.logs.find("policy not started", "policy", "broken"); len(recs) != 1 ||
		recs[0]["err"] != "driver: lookup_extensions_dir: no such directory" || recs[0]["backend"] != fakeBackend {
		t.Errorf("policy not started logs = %v", recs)
	}

	// orbd discover: the result names the policy, its Err only the step.
	h.f.set("broken", &fakePolicy{newErr: errors.New("lookup_extensions_dir: no such directory")})
	res, err := h.a.RunOnce(context.Background(), config(2, pol("broken", "", "1")), "")
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Policy != "broken" || r.Err != "driver: lookup_extensions_dir: no such directory" || !r.Failed() {
		t.Errorf("RunOnce result = %+v", r)
	}
}

func TestRunOnceTargetErrorsAndPanic(t *testing.T) {
	h := newHarness(t)
	h.f.set("p", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"),
		discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
			switch tg.Host {
			case "127.0.0.2":
				return nil, errors.New("walk ifTable: request timeout")
			case "127.0.0.3":
				panic("index out of range")
			}
			return oneDevice(tg), nil
		}})
	h.d.addErr = func(tg drivers.Target) error {
		if tg.Host == "127.0.0.5" {
			return errors.New("batch rejected")
		}
		return nil
	}
	res, err := h.a.RunOnce(context.Background(), config(2, pol("p", "", "1")), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	r := res[0]
	if r.TargetsTried != 5 || r.TargetsAnswered != 3 || r.TargetsFailed != 3 || r.Devices != 3 || r.Interfaces != 6 || r.Addresses != 3 || r.Entities != 8 || r.Err != "" {
		t.Errorf("result = %+v", r)
	}
	if r.RunID == "" || r.Policy != "p" || r.Backend != fakeBackend || r.Duration <= 0 {
		t.Errorf("identity fields: %+v", r)
	}
	got := errorsText(r.Errors)
	for _, want := range []string{
		"[127.0.0.2: walk ifTable: request timeout]",
		"[127.0.0.3: panic: index out of range]",
		"[127.0.0.5: deliver: batch rejected]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %s lack %s", got, want)
		}
	}
	if got := strings.Join(sorted(h.d.targets("p")), ","); got != "127.0.0.1,127.0.0.4" {
		t.Errorf("delivered %s", got)
	}
	// Policy and target are log attributes; err is the result's text.
	if recs := h.logs.find("target failed", "target", "127.0.0.2"); len(recs) != 1 ||
		recs[0]["policy"] != "p" || recs[0]["run_id"] != r.RunID || recs[0]["err"] != "walk ifTable: request timeout" {
		t.Errorf("target failed logs = %v", recs)
	}
	if h.d.closedRuns("p") != 1 || h.f.count(h.f.closes, "p") != 1 {
		t.Error("sink or driver not closed")
	}
	if got := testutil.ToFloat64(h.a.m.targets.WithLabelValues("p", "failed")); got != 3 {
		t.Errorf("orbd_targets_total{failed} = %v", got)
	}
	if got := testutil.ToFloat64(h.a.m.runs.WithLabelValues("p", fakeBackend, "partial")); got != 1 {
		t.Errorf("orbd_runs_total{partial} = %v", got)
	}
	if got := testutil.ToFloat64(h.a.m.entities.WithLabelValues("p")); got != 8 {
		t.Errorf("orbd_entities_emitted_total = %v", got)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRunOnceSelection(t *testing.T) {
	h := newHarness(t)
	cfg := config(2, pol("one", "", "1"), pol("two", "@hourly", "1"))
	for _, tc := range []struct {
		only, want, err string
	}{
		{"", "one,two", ""},
		{"two", "two", ""},
		{"fake_discovery/one", "one", ""},
		{"three", "", `policy "three" not found in config (policies: one, two)`},
	} {
		res, err := h.a.RunOnce(context.Background(), cfg, tc.only)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("only=%q: err = %v, want %q", tc.only, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range res {
			names = append(names, r.Policy)
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("only=%q: ran %s, want %s", tc.only, got, tc.want)
		}
	}
	// Targets() failing is a whole-run error.
	h.f.set("bad", &fakePolicy{targetsErr: errors.New("scope entry 0: bad range 127.0.0.9-3")})
	res, err := h.a.RunOnce(context.Background(), config(2, pol("bad", "", "1")), "")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != "targets: scope entry 0: bad range 127.0.0.9-3" || !res[0].Failed() {
		t.Errorf("Err = %q", res[0].Err)
	}
}

// Swept targets are probed first: no answer is not a failure, other probe
// errors are, credentials (Discover) only reach addresses that answered.
func TestProbe(t *testing.T) {
	h := newHarness(t)
	var discovered sync.Map
	h.f.set("sweep", &fakePolicy{
		targets: []drivers.Target{
			{Host: "127.0.0.1", Swept: true},
			{Host: "127.0.0.2", Swept: true},
			{Host: "127.0.0.3", Swept: true},
			{Host: "127.0.0.4"},
		},
		probe: func(ctx context.Context, tg drivers.Target) error {
			switch tg.Host {
			case "127.0.0.1":
				return fmt.Errorf("get sysObjectID: %w", drivers.ErrNoAnswer)
			case "127.0.0.2":
				return errors.New("malformed response")
			}
			return nil
		},
		discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
			discovered.Store(tg.Host, true)
			return oneDevice(tg), nil
		},
	})
	res, err := h.a.RunOnce(context.Background(), config(2, pol("sweep", "", "1")), "sweep")
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.TargetsTried != 4 || r.TargetsAnswered != 2 || r.TargetsFailed != 1 {
		t.Errorf("result = %+v", r)
	}
	if got := errorsText(r.Errors); got != "[127.0.0.2: probe: malformed response] " {
		t.Errorf("errors = %s", got)
	}
	for host, want := range map[string]bool{"127.0.0.1": false, "127.0.0.2": false, "127.0.0.3": true, "127.0.0.4": true} {
		if _, got := discovered.Load(host); got != want {
			t.Errorf("Discover(%s) called = %v, want %v", host, got, want)
		}
	}
	h.f.mu.Lock()
	probed := strings.Join(sorted(h.f.probed), ",")
	h.f.mu.Unlock()
	if probed != "127.0.0.1,127.0.0.2,127.0.0.3" {
		t.Errorf("probed %s; the non-swept target must not be probed", probed)
	}
	for result, want := range map[string]float64{"ok": 2, "failed": 1, "no_answer": 1} {
		if got := testutil.ToFloat64(h.a.m.targets.WithLabelValues("sweep", result)); got != want {
			t.Errorf("orbd_targets_total{result=%s} = %v, want %v", result, got, want)
		}
	}
}

func TestTimeouts(t *testing.T) {
	h := newHarness(t)
	waitCtx := func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
		if tg.Host == "127.0.0.9" {
			return oneDevice(tg), nil
		}
		<-ctx.Done()
		return nil, fmt.Errorf("get: %w", ctx.Err())
	}

	// TargetTimeout: the slow target fails with a named timeout, the run goes on.
	h.f.set("tt", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.9"), discover: waitCtx})
	p := pol("tt", "", "1")
	p.TargetTimeout = 50 * time.Millisecond
	res, err := h.a.RunOnce(context.Background(), config(1, p), "")
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.TargetsFailed != 1 || r.TargetsAnswered != 1 || r.Err != "" ||
		errorsText(r.Errors) != "[127.0.0.1: target timeout 50ms: get: context deadline exceeded] " {
		t.Errorf("target timeout result = %+v %s", r, errorsText(r.Errors))
	}

	// RunTimeout: with one worker the in-flight target is cut short and the
	// queued ones are cancelled, never started.
	h.f.set("rt", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2", "127.0.0.3"), discover: waitCtx})
	p = pol("rt", "", "1")
	p.RunTimeout = 100 * time.Millisecond
	res, err = h.a.RunOnce(context.Background(), config(1, p), "")
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.TargetsTried != 1 || r.TargetsFailed != 1 || r.TargetsCancelled != 2 || r.Err != "run timeout after 100ms" {
		t.Errorf("run timeout result = %+v %s", r, errorsText(r.Errors))
	}
	if !strings.Contains(errorsText(r.Errors), "[127.0.0.1: run timeout 100ms: get: context deadline exceeded]") {
		t.Errorf("errors = %s", errorsText(r.Errors))
	}
	if h.d.closedRuns("rt") != 1 {
		t.Error("timed-out run's sink not flushed")
	}
	if got := testutil.ToFloat64(h.a.m.targets.WithLabelValues("rt", "cancelled")); got != 2 {
		t.Errorf("orbd_targets_total{cancelled} = %v", got)
	}
	if got := testutil.ToFloat64(h.a.m.runs.WithLabelValues("rt", fakeBackend, "failed")); got != 1 {
		t.Errorf("orbd_runs_total{rt,failed} = %v", got)
	}
}

// Shutdown waits for in-flight runs within the grace, then cancels them;
// sinks are flushed either way, and Run returns with nothing left behind.
func TestShutdownGrace(t *testing.T) {
	t.Run("finishes within grace", func(t *testing.T) {
		h := newHarness(t)
		release, inside := make(chan struct{}), make(chan struct{})
		h.f.set("p", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
			if tg.Host == "127.0.0.1" {
				close(inside)
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return oneDevice(tg), nil
		}})
		stop := h.run(t)
		cfg := config(1, pol("p", "", "1")) // the 2nd target waits in the queue
		cfg.Agent.ShutdownGrace = policies.Duration(time.Minute)
		if err := h.a.Apply(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		<-inside
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		waitFor(t, "shutdown to begin", func() bool {
			h.a.mu.Lock()
			defer h.a.mu.Unlock()
			return h.a.state == stateStopping
		})
		select {
		case <-stopped:
			t.Fatal("Run returned while a run was in flight within the grace")
		default:
		}
		close(release)
		<-stopped
		last := h.policyStatus(t, "p").LastRun
		if last == nil || last.TargetsAnswered != 2 || last.Err != "" {
			t.Fatalf("last run = %+v", last)
		}
		if h.d.closedRuns("p") != 1 || h.f.count(h.f.closes, "p") != 1 {
			t.Error("sink or driver not closed at shutdown")
		}
	})
	t.Run("grace expires", func(t *testing.T) {
		h := newHarness(t)
		inside := make(chan struct{})
		var sawCancel atomic.Bool
		h.f.set("p", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
			close(inside)
			<-ctx.Done()
			sawCancel.Store(true)
			return nil, ctx.Err()
		}})
		stop := h.run(t)
		cfg := config(1, pol("p", "", "1"))
		cfg.Agent.ShutdownGrace = policies.Duration(50 * time.Millisecond)
		if err := h.a.Apply(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		<-inside
		stop()
		if !sawCancel.Load() {
			t.Error("in-flight target did not see cancel")
		}
		last := h.policyStatus(t, "p").LastRun
		if last == nil || last.Err != "run cancelled" || last.TargetsCancelled != 1 || last.TargetsFailed != 1 {
			t.Fatalf("last run = %+v", last)
		}
		if h.d.closedRuns("p") != 1 {
			t.Error("sink not flushed after the grace expired")
		}
		if err := h.a.Apply(context.Background(), cfg); err == nil {
			t.Error("Apply after shutdown succeeded")
		}
	})
}

// Apply before Run is kept and applied when Run starts.
func TestApplyBeforeRun(t *testing.T) {
	h := newHarness(t)
	h.f.set("p", &fakePolicy{targets: hosts("127.0.0.1")})
	if err := h.a.Apply(context.Background(), config(3, pol("p", "", "1"))); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	waitFor(t, "run", func() bool { return h.d.closedRuns("p") == 1 })
	if st := h.a.Status(); st.Pool.Workers != 3 || !st.Ready {
		t.Errorf("pool=%+v ready=%v", st.Pool, st.Ready)
	}
	// orb.agent.workers changes apply live, without restarting policies.
	if err := h.a.Apply(context.Background(), config(7, pol("p", "", "1"))); err != nil {
		t.Fatal(err)
	}
	if st := h.a.Status(); st.Pool.Workers != 7 || h.f.count(h.f.builds, "p") != 1 {
		t.Errorf("after resize: pool=%+v builds=%d", st.Pool, h.f.count(h.f.builds, "p"))
	}
	if err := h.a.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

// "" and @every run at once; a cron expression waits for its first tick.
func TestScheduleStart(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"once", "every", "cron"} {
		h.f.set(n, &fakePolicy{targets: hosts("127.0.0.1")})
	}
	h.run(t)
	if err := h.a.Apply(context.Background(), config(2, pol("once", "", "1"), pol("every", "@every 1h", "1"), pol("cron", "0 0 1 1 *", "1"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "once and every to run", func() bool {
		return h.policyStatus(t, "once").LastRun != nil && h.policyStatus(t, "every").LastRun != nil
	})
	if c := h.policyStatus(t, "cron"); c.LastRun != nil || c.Running || c.NextRun == nil || c.NextRun.Month() != time.January {
		t.Errorf("cron policy status = %+v", c)
	}
	if e := h.policyStatus(t, "every"); e.NextRun == nil {
		t.Error("@every policy has no next run")
	}
	if o := h.policyStatus(t, "once"); o.NextRun != nil {
		t.Error("run-once policy has a next run")
	}
}

func TestDeliveryErrors(t *testing.T) {
	for _, tc := range []struct {
		name              string
		begin, close      error
		wantErr           string
		wantTried, wantOK int
	}{
		{"begin fails", errors.New("spool full"), nil, "delivery: begin: spool full", 0, 0},
		{"close fails", nil, errors.New("write dry-run file: disk full"), "delivery: close: write dry-run file: disk full", 2, 2},
		{"nil inventory is not delivered", nil, nil, "", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.d.beginErr, h.d.closeErr = tc.begin, tc.close
			h.f.set("p", &fakePolicy{targets: hosts("127.0.0.1", "127.0.0.2"), discover: func(ctx context.Context, tg drivers.Target) (*drivers.Inventory, error) {
				if tg.Host == "127.0.0.2" {
					return nil, nil // answered, found nothing
				}
				return oneDevice(tg), nil
			}})
			res, err := h.a.RunOnce(context.Background(), config(2, pol("p", "", "1")), "")
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			if r.Err != tc.wantErr || r.TargetsTried != tc.wantTried || r.TargetsAnswered != tc.wantOK || r.TargetsFailed != 0 {
				t.Errorf("result = %+v", r)
			}
			want := "ok"
			if tc.wantErr != "" {
				want = "failed"
			}
			if got := testutil.ToFloat64(h.a.m.runs.WithLabelValues("p", fakeBackend, want)); got != 1 {
				t.Errorf("orbd_runs_total{result=%s} = %v", want, got)
			}
		})
	}
}
