package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Delivery turns inventories into entities and sends them; ingest's
// Pipeline implements it (through a small adapter in cmd/).
type Delivery interface {
	Begin(ctx context.Context, p *policies.Policy, runID string) (RunSink, error)
}

// RunSink receives one run's inventories.
type RunSink interface {
	Add(ctx context.Context, t drivers.Target, inv *drivers.Inventory) (entities int, err error)
	Close(ctx context.Context) error // flush this run's partial batch
}

// TargetError is one target's failure in a run. Error is the driver's
// message (naming the failed step), after the agent's own wording such as
// "probe:" or "target timeout 5s:"; neither the policy nor the target is
// repeated in it, the result and Target name them.
type TargetError struct {
	Target string `json:"target"`
	Error  string `json:"error"`
}

// RunResult summarises one run of one policy.
type RunResult struct {
	Policy   string        `json:"policy"`
	Backend  string        `json:"backend"`
	RunID    string        `json:"run_id"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// TargetsTried counts targets a worker started on; TargetsAnswered
	// those whose Discover succeeded; TargetsFailed those with an error
	// (probe, discover or delivery; a target whose delivery failed is both
	// answered and failed). Swept addresses that did not answer the probe
	// are tried but neither answered nor failed. TargetsCancelled were
	// never started because the run was cancelled or timed out.
	TargetsTried     int `json:"targets_tried"`
	TargetsAnswered  int `json:"targets_answered"`
	TargetsFailed    int `json:"targets_failed"`
	TargetsCancelled int `json:"targets_cancelled"`
	Devices          int `json:"devices"`
	Interfaces       int `json:"interfaces"`
	Addresses        int `json:"addresses"`
	Entities         int `json:"entities"`
	// Errors lists failed targets, at most maxRunErrors of them;
	// ErrorsOmitted counts the rest.
	Errors        []TargetError `json:"errors,omitempty"`
	ErrorsOmitted int           `json:"errors_omitted,omitempty"`
	// Err is a whole-run failure, without the policy name: "driver: ..."
	// (New failed), "targets: ..." (Targets failed), delivery begin/close
	// error, run timeout, cancellation.
	Err string `json:"error,omitempty"`
}

// Failed reports whether anything in the run went wrong.
func (r *RunResult) Failed() bool { return r.Err != "" || r.TargetsFailed > 0 }

const (
	// maxRunErrors bounds the per-target errors kept in a result (a /16
	// sweep must not put 65,000 strings in the status JSON).
	maxRunErrors = 1000
	// flushTimeout bounds RunSink.Close, which runs even when the run was
	// cancelled so that what was discovered is not lost.
	flushTimeout = 30 * time.Second
)

var (
	errRunTimeout    = errors.New("run timeout")
	errTargetTimeout = errors.New("target timeout")
)

// tally accumulates a run's results from the workers.
type tally struct {
	a   *Agent
	p   *policies.Policy
	log *slog.Logger
	mu  sync.Mutex
	res *RunResult
}

type outcome struct {
	noAnswer bool
	answered bool
	inv      *drivers.Inventory
	entities int
	err      error
}

func (t *tally) add(tg drivers.Target, o outcome) {
	result := "ok"
	switch {
	case o.err != nil:
		result = "failed"
	case o.noAnswer:
		result = "no_answer"
	}
	t.a.m.targets.WithLabelValues(t.p.Name, result).Inc()
	if o.entities > 0 {
		t.a.m.entities.WithLabelValues(t.p.Name).Add(float64(o.entities))
	}
	if o.err != nil {
		t.log.Warn("target failed", "target", tg.String(), "err", o.err.Error())
	}
	d, i, ad := o.inv.Counts()
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.res
	r.TargetsTried++
	if o.answered {
		r.TargetsAnswered++
	}
	r.Devices += d
	r.Interfaces += i
	r.Addresses += ad
	r.Entities += o.entities
	if o.err != nil {
		r.TargetsFailed++
		if len(r.Errors) < maxRunErrors {
			r.Errors = append(r.Errors, TargetError{Target: tg.String(), Error: o.err.Error()})
		} else {
			r.ErrorsOmitted++
		}
	}
}

func (t *tally) cancelled() {
	t.a.m.targets.WithLabelValues(t.p.Name, "cancelled").Inc()
	t.mu.Lock()
	t.res.TargetsCancelled++
	t.mu.Unlock()
}

// execute performs one run of p: expand targets, one pool task per target,
// deliver, flush. It never panics because of a driver and always returns a
// result, which it also records in the metrics.
func (a *Agent) execute(ctx context.Context, pool *Pool, p *policies.Policy, drv drivers.Driver) (res RunResult) {
	res = RunResult{Policy: p.Name, Backend: p.Backend, RunID: uuid.NewString(), Start: a.now()}
	log := a.log.With("policy", p.Name, "backend", p.Backend, "run_id", res.RunID)
	mono := time.Now() // durations from the monotonic clock, whatever Now is
	parent := ctx
	if p.RunTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.RunTimeout, errRunTimeout)
		defer cancel()
	}
	log.Info("run started")
	defer func() {
		res.Duration = time.Since(mono)
		a.recordRun(p, &res, parent.Err() != nil)
		log.Info("run finished", "targets_tried", res.TargetsTried, "answered", res.TargetsAnswered,
			"failed", res.TargetsFailed, "cancelled", res.TargetsCancelled, "entities", res.Entities,
			"duration", res.Duration.Round(time.Millisecond).String(), "err", res.Err)
	}()

	targets, err := safeTargets(ctx, drv)
	if err != nil {
		res.Err = fmt.Sprintf("targets: %v", runErr(ctx, p, err))
		return res
	}
	a.mu.Lock()
	shard := a.shard
	a.mu.Unlock()
	targets = shardTargets(targets, shard)
	if len(targets) == 0 {
		return res
	}
	var sink RunSink = discardSink{}
	if a.delivery != nil {
		if sink, err = a.delivery.Begin(ctx, p, res.RunID); err != nil {
			res.Err = fmt.Sprintf("delivery: begin: %v", err)
			return res
		}
	}

	tl := &tally{a: a, p: p, log: log, res: &res}
	var wg sync.WaitGroup
	wg.Add(len(targets))
	for _, t := range targets {
		pool.Submit(ctx, p.Name,
			func(ctx context.Context) { defer wg.Done(); a.doTarget(ctx, p, drv, sink, t, tl, log) },
			func() { defer wg.Done(); tl.cancelled() })
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
		// Queued tasks are dropped now, in-flight ones see ctx's cancel.
		pool.Drop(p.Name)
		<-all
	}
	var errs []string
	if ctx.Err() != nil {
		errs = append(errs, runErr(ctx, p, ctx.Err()).Error())
	}
	// Flush even after a cancel: what was discovered is delivered.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := sink.Close(cctx); err != nil {
		errs = append(errs, fmt.Sprintf("delivery: close: %v", err))
	}
	tl.mu.Lock()
	res.Err = joinStrings(errs)
	tl.mu.Unlock()
	return res
}

// runErr names a run timeout or cancellation instead of a bare context error.
func runErr(ctx context.Context, p *policies.Policy, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), errRunTimeout):
		return fmt.Errorf("run timeout after %s", p.RunTimeout)
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return errors.New("run cancelled")
	}
	return err
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

func (a *Agent) recordRun(p *policies.Policy, res *RunResult, cancelled bool) {
	result := "ok"
	switch {
	case cancelled:
		result = "cancelled"
	case res.Err != "":
		result = "failed"
	case res.TargetsFailed > 0:
		result = "partial"
	}
	a.m.runs.WithLabelValues(p.Name, p.Backend, result).Inc()
	a.m.runDuration.WithLabelValues(p.Name, p.Backend).Observe(res.Duration.Seconds())
}

// doTarget runs on a pool worker: probe (swept targets), discover, deliver.
func (a *Agent) doTarget(ctx context.Context, p *policies.Policy, drv drivers.Driver, sink RunSink, t drivers.Target, tl *tally, log *slog.Logger) {
	if p.TargetTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.TargetTimeout, errTargetTimeout)
		defer cancel()
	}
	o := func() (o outcome) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("driver panicked", "target", t.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				o = outcome{answered: o.answered, inv: o.inv, err: fmt.Errorf("panic: %v", r)}
			}
		}()
		if pr, ok := drv.(drivers.Prober); ok && t.Swept {
			if err := pr.Probe(ctx, t); err != nil {
				if errors.Is(err, drivers.ErrNoAnswer) {
					return outcome{noAnswer: true}
				}
				return outcome{err: fmt.Errorf("probe: %w", targetErr(ctx, p, err))}
			}
		}
		inv, err := drv.Discover(ctx, t)
		if err != nil {
			return outcome{err: targetErr(ctx, p, err)}
		}
		o = outcome{answered: true, inv: inv}
		if inv == nil {
			return o // answered, nothing to report
		}
		n, err := sink.Add(ctx, t, inv)
		o.entities = n
		if err != nil {
			o.err = fmt.Errorf("deliver: %w", err)
		}
		return o
	}()
	tl.add(t, o)
}

// targetErr says when an error came from the agent's own deadlines.
func targetErr(ctx context.Context, p *policies.Policy, err error) error {
	switch cause := context.Cause(ctx); {
	case ctx.Err() == nil:
		return err
	case errors.Is(cause, errTargetTimeout):
		return fmt.Errorf("target timeout %s: %w", p.TargetTimeout, err)
	case errors.Is(cause, errRunTimeout):
		return fmt.Errorf("run timeout %s: %w", p.RunTimeout, err)
	}
	return err
}

func safeTargets(ctx context.Context, drv drivers.Driver) (ts []drivers.Target, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return drv.Targets(ctx)
}

type discardSink struct{}

func (discardSink) Add(context.Context, drivers.Target, *drivers.Inventory) (int, error) {
	return 0, nil
}
func (discardSink) Close(context.Context) error { return nil }

// shardTargets keeps the targets this agent owns when orb.agent.shard
// splits a fleet across agents: a stable hash of the target, so every
// agent with the same policies agrees on the split without talking.
func shardTargets(ts []drivers.Target, s policies.Shard) []drivers.Target {
	if s.Count <= 1 {
		return ts
	}
	kept := ts[:0:0]
	for _, t := range ts {
		h := fnv.New32a()
		h.Write([]byte(t.String()))
		if int(h.Sum32()%uint32(s.Count)) == s.Index {
			kept = append(kept, t)
		}
	}
	return kept
}
