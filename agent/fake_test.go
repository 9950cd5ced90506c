package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

const fakeBackend = "fake_discovery"

// fakePolicy is how the fake driver of one policy behaves.
type fakePolicy struct {
	targets    []drivers.Target
	targetsErr error
	// discover defaults to returning one device named after the target.
	discover func(ctx context.Context, t drivers.Target) (*drivers.Inventory, error)
	// probe, when set, makes the driver a drivers.Prober.
	probe  func(ctx context.Context, t drivers.Target) error
	newErr error
}

// fake is a backend whose behaviour tests set per policy name, and which
// records what the agent did with its drivers.
type fake struct {
	mu      sync.Mutex
	pol     map[string]*fakePolicy
	builds  map[string]int
	closes  map[string]int
	probed  []string
	metrics map[string]prometheus.Counter
}

func newFake() *fake {
	return &fake{pol: map[string]*fakePolicy{}, builds: map[string]int{}, closes: map[string]int{}, metrics: map[string]prometheus.Counter{}}
}

func (f *fake) set(name string, fp *fakePolicy) {
	f.mu.Lock()
	f.pol[name] = fp
	f.mu.Unlock()
}

func (f *fake) count(m map[string]int, name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return m[name]
}

func (f *fake) lookup(backend string) (drivers.Spec, bool) {
	if backend != fakeBackend {
		return drivers.Spec{}, false
	}
	return drivers.Spec{Backend: fakeBackend, New: f.new}, true
}

func (f *fake) new(p *policies.Policy, d drivers.Deps) (drivers.Driver, error) {
	f.mu.Lock()
	fp := f.pol[p.Name]
	f.builds[p.Name]++
	f.mu.Unlock()
	if fp == nil {
		fp = &fakePolicy{}
	}
	if fp.newErr != nil {
		return nil, fp.newErr
	}
	// Like a real driver: metrics through the injected registerer.
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_fake_requests_total", Help: "test"})
	if err := d.Metrics.Register(c); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.metrics[p.Name] = c
	f.mu.Unlock()
	drv := &fakeDriver{f: f, fp: fp, name: p.Name, reqs: c}
	if fp.probe != nil {
		return &fakeProber{drv}, nil
	}
	return drv, nil
}

type fakeDriver struct {
	f    *fake
	fp   *fakePolicy
	name string
	reqs prometheus.Counter
}

func (d *fakeDriver) Targets(ctx context.Context) ([]drivers.Target, error) {
	return d.fp.targets, d.fp.targetsErr
}

func (d *fakeDriver) Discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, error) {
	d.reqs.Inc()
	if d.fp.discover != nil {
		return d.fp.discover(ctx, t)
	}
	return oneDevice(t), nil
}

func (d *fakeDriver) Close() error {
	d.f.mu.Lock()
	d.f.closes[d.name]++
	d.f.mu.Unlock()
	return nil
}

type fakeProber struct{ *fakeDriver }

func (d *fakeProber) Probe(ctx context.Context, t drivers.Target) error {
	d.f.mu.Lock()
	d.f.probed = append(d.f.probed, t.Host)
	d.f.mu.Unlock()
	return d.fp.probe(ctx, t)
}

func oneDevice(t drivers.Target) *drivers.Inventory {
	return &drivers.Inventory{Devices: []drivers.Device{{
		Name: "dev-" + t.Host,
		Interfaces: []drivers.Interface{
			{Name: "eth0", Addresses: []drivers.Address{{Prefix: netip.MustParsePrefix("127.0.0.1/8")}}},
			{Name: "eth1"},
		},
	}}}
}

func hosts(hs ...string) []drivers.Target {
	out := make([]drivers.Target, len(hs))
	for i, h := range hs {
		out[i] = drivers.Target{Host: h}
	}
	return out
}

// recDelivery records what reached delivery and checks that runs of one
// policy never overlap (Begin..Close).
type recDelivery struct {
	mu       sync.Mutex
	active   map[string]int
	overlaps int
	added    map[string][]string // policy → target hosts
	closed   map[string]int      // policy → closed runs
	addErr   func(t drivers.Target) error
	closeErr error
	beginErr error
}

func newRecDelivery() *recDelivery {
	return &recDelivery{active: map[string]int{}, added: map[string][]string{}, closed: map[string]int{}}
}

func (d *recDelivery) Begin(ctx context.Context, p *policies.Policy, runID string) (RunSink, error) {
	if d.beginErr != nil {
		return nil, d.beginErr
	}
	if runID == "" {
		return nil, errors.New("empty run id")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active[p.Name]++
	if d.active[p.Name] > 1 {
		d.overlaps++
	}
	return &recSink{d: d, policy: p.Name}, nil
}

func (d *recDelivery) targets(policy string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.added[policy]...)
}

func (d *recDelivery) closedRuns(policy string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed[policy]
}

type recSink struct {
	d      *recDelivery
	policy string
}

func (s *recSink) Add(ctx context.Context, t drivers.Target, inv *drivers.Inventory) (int, error) {
	if s.d.addErr != nil {
		if err := s.d.addErr(t); err != nil {
			return 0, err
		}
	}
	if inv == nil {
		return 0, errors.New("nil inventory handed to delivery")
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.added[s.policy] = append(s.d.added[s.policy], t.Host)
	d, i, a := inv.Counts()
	return d + i + a, nil // one entity per device, interface, address
}

func (s *recSink) Close(ctx context.Context) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.active[s.policy]--
	s.d.closed[s.policy]++
	return s.d.closeErr
}

func pol(name, schedule, fingerprint string) *policies.Policy {
	return &policies.Policy{Backend: fakeBackend, Name: name, Schedule: schedule, Fingerprint: fingerprint}
}

func config(workers int, ps ...*policies.Policy) *policies.Config {
	// A short grace: tests whose runs block until cancelled end quickly.
	return &policies.Config{Files: []string{"/etc/orbd/agent.yaml"}, Policies: ps,
		Agent: policies.AgentConfig{Workers: workers, ShutdownGrace: policies.Duration(100 * time.Millisecond)}}
}

type harness struct {
	a    *Agent
	f    *fake
	d    *recDelivery
	reg  *prometheus.Registry
	logs *logRec
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{f: newFake(), d: newRecDelivery(), reg: prometheus.NewRegistry(), logs: &logRec{recs: &logRecords{}}}
	h.a = New(Options{Logger: slog.New(h.logs), Registry: h.reg, Lookup: h.f.lookup, Delivery: h.d, Version: "v-test"})
	return h
}

// logRec is a slog.Handler keeping each record's message and attributes
// (including those added by With) as strings.
type logRec struct {
	attrs []slog.Attr // from WithAttrs
	recs  *logRecords
}

type logRecords struct {
	mu   sync.Mutex
	list []map[string]string
}

func (l *logRec) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRec) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	for _, a := range l.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	l.store().mu.Lock()
	l.store().list = append(l.store().list, m)
	l.store().mu.Unlock()
	return nil
}

func (l *logRec) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRec{attrs: append(append([]slog.Attr(nil), l.attrs...), as...), recs: l.store()}
}

func (l *logRec) WithGroup(string) slog.Handler { return l }

func (l *logRec) store() *logRecords { return l.recs }

// find returns the records with message msg and attribute key=val.
func (l *logRec) find(msg, key, val string) []map[string]string {
	st := l.store()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []map[string]string
	for _, m := range st.list {
		if m["msg"] == msg && m[key] == val {
			out = append(out, m)
		}
	}
	return out
}

// run starts Run in the background; the returned stop cancels it and
// waits for Run to return (also registered as a cleanup).
func (h *harness) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.a.Run(ctx) }()
	waitFor(t, "Run to start", func() bool {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		return h.a.state == stateRunning
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (h *harness) policyStatus(t *testing.T, name string) PolicyStatus {
	t.Helper()
	for _, p := range h.a.Status().Policies {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("policy %s not in status", name)
	return PolicyStatus{}
}

// waitFor polls cond (for state reached through other goroutines); the
// 10s bound only turns a hang into a failure, it asserts no timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errorsText(errs []TargetError) string {
	s := ""
	for _, e := range errs {
		s += fmt.Sprintf("[%s: %s] ", e.Target, e.Error)
	}
	return s
}
