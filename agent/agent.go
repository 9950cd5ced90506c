package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Options configure an Agent. Everything is optional except that a real
// deployment sets Delivery.
type Options struct {
	Logger *slog.Logger
	// Registry receives the agent's metrics and is served on /metrics.
	Registry *prometheus.Registry
	// Lookup finds a backend's driver Spec; default drivers.Lookup.
	Lookup   func(backend string) (drivers.Spec, bool)
	Delivery Delivery
	// DeliveryStatus, if set, is included in the status JSON.
	DeliveryStatus func() any
	Version        string
	// StateDir overrides orb.agent.state_dir for drivers.
	StateDir   string
	CloudProxy *url.URL
	Now        func() time.Time
}

const (
	defaultWorkers = 64
	defaultGrace   = 30 * time.Second
)

// Agent schedules policies and runs them through the worker pool.
type Agent struct {
	log            *slog.Logger
	reg            *prometheus.Registry
	lookup         func(string) (drivers.Spec, bool)
	delivery       Delivery
	deliveryStatus func() any
	version        string
	stateDir       string
	cloudProxy     *url.URL
	now            func() time.Time
	m              *metrics
	started        time.Time

	applyCh  chan applyReq
	stopping chan struct{} // closed when Run starts shutting down

	mu        sync.Mutex
	state     runState
	pending   *plan // applied before Run started
	pool      *Pool
	runners   map[string]*runner // by Policy.Key()
	files     []string
	cfgState  string // orb.agent.state_dir of the applied config
	shard     policies.Shard
	grace     time.Duration
	ready     bool
	reloadOK  bool
	reloadErr string
	reloadAt  time.Time
}

type runState int

const (
	stateIdle runState = iota
	stateRunning
	stateStopping
	stateStopped
)

type applyReq struct {
	plan *plan
	done chan error
}

// plan is a validated config: every backend known, every schedule parsed.
type plan struct {
	cfg   *policies.Config
	items []planItem
}

type planItem struct {
	p     *policies.Policy
	spec  drivers.Spec
	sched cron.Schedule // nil: run once at start
}

// runner is one started policy.
type runner struct {
	planItem
	drv      drivers.Driver
	reg      *trackingRegisterer
	buildErr string
	cancel   context.CancelFunc
	stop     chan struct{} // closed: stop scheduling, let the current run finish
	stopOnce sync.Once
	done     chan struct{} // closed when the policy's goroutines are gone

	mu      sync.Mutex
	running bool
	next    time.Time
	last    *RunResult
	skipped int
}

// New builds an Agent. Nothing runs until Run.
func New(opts Options) *Agent {
	a := &Agent{
		log:            opts.Logger,
		reg:            opts.Registry,
		lookup:         opts.Lookup,
		delivery:       opts.Delivery,
		deliveryStatus: opts.DeliveryStatus,
		version:        opts.Version,
		stateDir:       opts.StateDir,
		cloudProxy:     opts.CloudProxy,
		now:            opts.Now,
		applyCh:        make(chan applyReq),
		stopping:       make(chan struct{}),
		runners:        map[string]*runner{},
		grace:          defaultGrace,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
	}
	if a.lookup == nil {
		a.lookup = drivers.Lookup
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.m = newMetrics(a.reg)
	a.started = a.now()
	return a
}

func workers(cfg *policies.Config) int {
	if cfg == nil || cfg.Agent.Workers <= 0 {
		return defaultWorkers
	}
	return cfg.Agent.Workers
}

// makePlan checks what can be checked without starting anything, so that a
// bad config changes nothing.
func (a *Agent) makePlan(cfg *policies.Config) (*plan, error) {
	if cfg == nil {
		return nil, errors.New("agent: no config")
	}
	pl := &plan{cfg: cfg}
	var errs []error
	names := map[string]string{}
	for _, p := range cfg.Policies {
		if p == nil {
			continue
		}
		// Metric labels and pool queues are keyed by name, as orb-agent
		// keys policies by name.
		if other, dup := names[p.Name]; dup {
			errs = append(errs, fmt.Errorf("policy %s: name already used by %s; policy names must be unique across backends", p.Key(), other))
			continue
		}
		names[p.Name] = p.Key()
		it := planItem{p: p}
		spec, ok := a.lookup(p.Backend)
		if !ok || spec.New == nil {
			errs = append(errs, fmt.Errorf("policy %s: backend %s is not available in this build", p.Key(), p.Backend))
			continue
		}
		it.spec = spec
		if p.Schedule != "" {
			s, err := cron.ParseStandard(p.Schedule)
			if err != nil {
				errs = append(errs, fmt.Errorf("policy %s: schedule %q: %w", p.Key(), p.Schedule, err))
				continue
			}
			it.sched = s
		}
		pl.items = append(pl.items, it)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pl, nil
}

// Apply makes cfg the running set: new policies start, removed ones are
// cancelled and waited for, changed ones (Fingerprint differs) are
// cancelled, waited for and started again; unchanged ones keep running
// undisturbed. A config that fails validation changes nothing. Called
// before Run, the config is kept and applied when Run starts. A policy
// whose driver cannot be built is reported (error, status) while the
// others are applied.
func (a *Agent) Apply(ctx context.Context, cfg *policies.Config) error {
	pl, err := a.makePlan(cfg)
	if err != nil {
		a.noteReload(err)
		return err
	}
	a.mu.Lock()
	switch a.state {
	case stateIdle:
		a.pending = pl
		a.mu.Unlock()
		return nil
	case stateStopping, stateStopped:
		a.mu.Unlock()
		return errors.New("agent: shutting down; config not applied")
	}
	a.mu.Unlock()
	req := applyReq{plan: pl, done: make(chan error, 1)}
	select {
	case a.applyCh <- req:
	case <-a.stopping:
		return errors.New("agent: shutting down; config not applied")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the loop finishes the apply regardless
	}
}

func (a *Agent) noteReload(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.reloadOK, a.reloadErr = false, err.Error()
		a.m.reloadOK.Set(0)
		return
	}
	a.reloadOK, a.reloadErr, a.reloadAt = true, "", a.now()
	a.m.reloadOK.Set(1)
	a.m.reloadTime.Set(float64(a.reloadAt.UnixNano()) / 1e9)
}

// Run runs the applied policies until ctx is done, then stops scheduling,
// lets in-flight runs finish within orb.agent.shutdown_grace (cancelling
// them after it), flushes their deliveries, closes the drivers and returns.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.state != stateIdle {
		a.mu.Unlock()
		return errors.New("agent: Run called more than once")
	}
	a.state = stateRunning
	pending := a.pending
	a.pending = nil
	var n int
	if pending != nil {
		n = workers(pending.cfg)
	} else {
		n = defaultWorkers
	}
	a.pool = NewPool(a.log, n, a.m.poolBusy, a.m.poolQueued)
	a.mu.Unlock()
	a.log.Info("agent started", "workers", n)

	// Policies live on a context that ctx's end does not cancel directly:
	// shutdown first stops scheduling and gives in-flight runs the grace.
	base, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	if pending != nil {
		if err := a.reconcile(base, pending); err != nil {
			a.log.Error("config applied with errors", "err", err.Error())
		}
	}
	for {
		select {
		case req := <-a.applyCh:
			req.done <- a.reconcile(base, req.plan)
		case <-ctx.Done():
			a.shutdown()
			return nil
		}
	}
}

// reconcile runs on Run's goroutine only.
func (a *Agent) reconcile(base context.Context, pl *plan) error {
	want := map[string]planItem{}
	for _, it := range pl.items {
		want[it.p.Key()] = it
	}
	a.mu.Lock()
	pool := a.pool
	var stop []*runner
	var removed []*runner
	for key, r := range a.runners {
		it, ok := want[key]
		switch {
		case !ok:
			removed = append(removed, r)
			stop = append(stop, r)
		case it.p.Fingerprint != r.p.Fingerprint || r.buildErr != "":
			// Failed builds are retried on every apply: the cause may
			// have been outside the config (a file, a key).
			stop = append(stop, r)
		}
	}
	a.mu.Unlock()

	pool.Resize(workers(pl.cfg))
	for _, r := range stop {
		r.cancel()
	}
	for _, r := range stop {
		a.waitStopped(r)
		a.closeRunner(r)
	}
	a.mu.Lock()
	for _, r := range stop {
		delete(a.runners, r.p.Key())
	}
	a.mu.Unlock()
	for _, r := range removed {
		a.m.forget(r.p.Name)
		pool.Forget(r.p.Name)
		a.log.Info("policy removed", "policy", r.p.Name, "backend", r.p.Backend)
	}
	a.mu.Lock()
	a.cfgState = pl.cfg.Agent.StateDir
	a.mu.Unlock()

	var errs []error
	for _, it := range pl.items {
		key := it.p.Key()
		a.mu.Lock()
		_, running := a.runners[key]
		a.mu.Unlock()
		if running {
			continue
		}
		r := a.startRunner(base, pool, it)
		if r.buildErr != "" {
			errs = append(errs, errors.New(r.buildErr))
		}
		a.mu.Lock()
		a.runners[key] = r
		a.mu.Unlock()
	}

	a.mu.Lock()
	a.files = append([]string(nil), pl.cfg.Files...)
	a.shard = pl.cfg.Agent.Shard
	if g := pl.cfg.Agent.ShutdownGrace.D(); g > 0 {
		a.grace = g
	} else {
		a.grace = defaultGrace
	}
	a.ready = true
	a.mu.Unlock()
	err := errors.Join(errs...)
	a.noteReload(err)
	return err
}

// build makes the policy's driver; its metrics carry the policy label. Its
// error reads "driver: ..." without the policy, which callers name once:
// as a log attribute, a result's Policy, or a "policy P:" prefix in Apply's
// error and the status.
func (a *Agent) build(it planItem) (drv drivers.Driver, reg *trackingRegisterer, err error) {
	reg = newTrackingRegisterer(a.reg, it.p.Name)
	stateDir := a.stateDir
	if stateDir == "" {
		a.mu.Lock()
		stateDir = a.cfgState
		a.mu.Unlock()
	}
	deps := drivers.Deps{
		Logger:     a.log.With("policy", it.p.Name, "backend", it.p.Backend),
		Metrics:    reg,
		StateDir:   stateDir,
		CloudProxy: a.cloudProxy,
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if err != nil {
			reg.unregisterAll()
			drv, reg = nil, nil
			err = fmt.Errorf("driver: %w", err)
		}
	}()
	drv, err = it.spec.New(it.p, deps)
	if err == nil && drv == nil {
		err = errors.New("backend returned no driver")
	}
	return drv, reg, err
}

// stuckWarnEvery is how often waiting for a cancelled policy that does not
// unwind (a driver ignoring ctx) is logged.
const stuckWarnEvery = 10 * time.Second

// waitStopped waits for a cancelled or stopping policy's goroutines. A
// driver that ignores its ctx would block here: say so in the log rather
// than abandon goroutines that still use the driver.
func (a *Agent) waitStopped(r *runner) {
	t := time.NewTicker(stuckWarnEvery)
	defer t.Stop()
	for waited := time.Duration(0); ; {
		select {
		case <-r.done:
			return
		case <-t.C:
			waited += stuckWarnEvery
			a.log.Warn("still waiting for policy to stop; its driver may be ignoring cancellation",
				"policy", r.p.Name, "backend", r.p.Backend, "waited", waited.String())
		}
	}
}

func (a *Agent) closeRunner(r *runner) {
	if r.drv == nil {
		return
	}
	a.closeDriver(r.p, r.drv, r.reg)
}

func (a *Agent) closeDriver(p *policies.Policy, drv drivers.Driver, reg *trackingRegisterer) {
	if c, ok := drv.(drivers.Closer); ok {
		if err := c.Close(); err != nil {
			a.log.Warn("closing driver", "policy", p.Name, "backend", p.Backend, "err", err.Error())
		}
	}
	reg.unregisterAll()
}

func (a *Agent) startRunner(base context.Context, pool *Pool, it planItem) *runner {
	r := &runner{planItem: it, stop: make(chan struct{}), done: make(chan struct{})}
	drv, reg, err := a.build(it)
	if err != nil {
		a.log.Error("policy not started", "policy", it.p.Name, "backend", it.p.Backend, "err", err.Error())
		r.buildErr = fmt.Sprintf("policy %s: %v", it.p.Key(), err)
		r.cancel = func() {}
		close(r.done)
		return r
	}
	r.drv, r.reg = drv, reg
	ctx, cancel := context.WithCancel(base)
	r.cancel = cancel
	// Status shows the first run or tick at once, before loop gets going.
	if r.sched != nil {
		r.next = r.sched.Next(a.now())
	}
	if _, every := r.sched.(cron.ConstantDelaySchedule); r.sched == nil || every {
		r.running = true
	}
	a.log.Info("policy started", "policy", it.p.Name, "backend", it.p.Backend, "schedule", it.p.Schedule)
	go a.loop(ctx, pool, r)
	return r
}

// loop schedules one policy. Its runs never overlap: a tick during a run
// is skipped and counted.
func (a *Agent) loop(ctx context.Context, pool *Pool, r *runner) {
	defer close(r.done)
	defer r.cancel()
	results := make(chan RunResult, 1)
	inFlight := false
	start := func() {
		inFlight = true
		r.mu.Lock()
		r.running = true
		r.mu.Unlock()
		go func() { results <- a.execute(ctx, pool, r.p, r.drv) }()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var tick <-chan time.Time
	arm := func() {
		now := a.now()
		next := r.sched.Next(now)
		r.mu.Lock()
		r.next = next
		r.mu.Unlock()
		timer.Reset(next.Sub(now))
		tick = timer.C
	}
	// No schedule: one run at start. "@every D": a run at start, then every
	// D (an operator expects data now, not after the first interval). A
	// cron expression: wait for its first tick.
	switch r.sched.(type) {
	case nil:
		start()
	case cron.ConstantDelaySchedule:
		start()
		arm()
	default:
		arm()
	}
	stop := r.stop
	for {
		select {
		case <-tick:
			if inFlight {
				r.mu.Lock()
				r.skipped++
				r.mu.Unlock()
				a.m.skipped.WithLabelValues(r.p.Name).Inc()
				a.log.Warn("scheduled run skipped: previous run still going", "policy", r.p.Name, "backend", r.p.Backend)
			} else {
				start()
			}
			arm()
		case res := <-results:
			inFlight = false
			r.mu.Lock()
			r.running = false
			r.last = &res
			r.mu.Unlock()
		case <-stop:
			stop, tick = nil, nil
			timer.Stop()
			r.mu.Lock()
			r.next = time.Time{}
			r.mu.Unlock()
		case <-ctx.Done():
			if inFlight {
				res := <-results // execute unwinds on ctx's cancel
				r.mu.Lock()
				r.running, r.last = false, &res
				r.mu.Unlock()
			}
			return
		}
		if stop == nil && !inFlight {
			return
		}
	}
}

// shutdown: stop scheduling, give in-flight runs the grace, then cancel.
func (a *Agent) shutdown() {
	a.mu.Lock()
	a.state = stateStopping
	close(a.stopping)
	grace := a.grace
	rs := make([]*runner, 0, len(a.runners))
	for _, r := range a.runners {
		rs = append(rs, r)
	}
	pool := a.pool
	a.mu.Unlock()
	a.log.Info("shutting down: waiting for in-flight runs", "grace", grace.String(), "policies", len(rs))
	for _, r := range rs {
		r.stopOnce.Do(func() { close(r.stop) })
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	expired := timer.C
	for _, r := range rs {
		if expired != nil {
			select {
			case <-r.done:
				continue
			case <-expired:
				expired = nil
				a.log.Warn("shutdown grace expired: cancelling in-flight runs", "grace", grace.String())
				for _, r := range rs {
					r.cancel()
				}
			}
		}
		a.waitStopped(r)
	}
	for _, r := range rs {
		a.closeRunner(r)
	}
	pool.Close()
	a.mu.Lock()
	a.state = stateStopped
	a.mu.Unlock()
	a.log.Info("agent stopped")
}

// RunOnce runs each policy of cfg (or only the one named only, by name or
// backend/name) exactly once, concurrently through a pool of
// orb.agent.workers, and returns the results in config order. It is
// independent of Run (orbd discover).
func (a *Agent) RunOnce(ctx context.Context, cfg *policies.Config, only string) ([]RunResult, error) {
	pl, err := a.makePlan(cfg)
	if err != nil {
		return nil, err
	}
	items := pl.items
	if only != "" {
		items = nil
		var names []string
		for _, it := range pl.items {
			names = append(names, it.p.Name)
			if it.p.Name == only || it.p.Key() == only {
				items = append(items, it)
			}
		}
		if len(items) == 0 {
			sort.Strings(names)
			return nil, fmt.Errorf("policy %q not found in config (policies: %s)", only, strings.Join(names, ", "))
		}
	}
	a.mu.Lock()
	a.cfgState = cfg.Agent.StateDir
	a.shard = cfg.Agent.Shard
	a.mu.Unlock()
	pool := NewPool(a.log, workers(cfg), a.m.poolBusy, a.m.poolQueued)
	defer pool.Close()
	results := make([]RunResult, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			drv, reg, err := a.build(it)
			if err != nil {
				a.log.Error("policy not run", "policy", it.p.Name, "backend", it.p.Backend, "err", err.Error())
				results[i] = RunResult{Policy: it.p.Name, Backend: it.p.Backend, Start: a.now(), Err: err.Error()}
				a.recordRun(it.p, &results[i], false)
				return
			}
			defer a.closeDriver(it.p, drv, reg)
			results[i] = a.execute(ctx, pool, it.p, drv)
		}()
	}
	wg.Wait()
	for _, it := range items {
		pool.Forget(it.p.Name)
	}
	return results, nil
}
