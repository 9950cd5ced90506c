package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	AgentName string            // producer name prefix; "" → "orbd"
	Version   string            // orbd build version
	Labels    map[string]string // orb.labels, sent as request metadata
	Now       func() time.Time  // entity timestamps; nil → time.Now
	Logger    *slog.Logger      // nil → discard
	Metrics   prometheus.Registerer
	// FlushInterval bounds how long a partial batch waits: it is sent
	// after this even mid-run. 0 = only when full and on Close.
	FlushInterval time.Duration
}

// Pipeline turns inventories into requests for one Sink. It is shared by
// every policy; each policy run gets its own Run (and its own batches,
// since request metadata names the policy and run).
type Pipeline struct {
	sink     Sink
	cfg      PipelineConfig
	log      *slog.Logger
	entities *prometheus.CounterVec
	rejected *prometheus.CounterVec
	requests *prometheus.CounterVec
	patterns patternCache
}

// NewPipeline builds a pipeline delivering to sink.
func NewPipeline(sink Sink, cfg PipelineConfig) *Pipeline {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{sink: sink, cfg: cfg, log: log.With("component", "ingest")}
	p.entities = register(cfg.Metrics, log, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_ingest_entities_total",
		Help: "Entities in requests the sink accepted, by backend.",
	}, []string{"backend"}))
	p.rejected = register(cfg.Metrics, log, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_ingest_entities_rejected_total",
		Help: "Entities dropped before sending because they fail Diode's rules or exceed the request size, by backend.",
	}, []string{"backend"}))
	p.requests = register(cfg.Metrics, log, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_ingest_requests_total",
		Help: "Ingest requests by result: ok (sink accepted), error (sink failed), invalid (failed validation, not sent).",
	}, []string{"result"}))
	return p
}

// register adds c to reg, reusing an identical collector already there
// (several pipelines in one process, or tests sharing a registry).
func register(reg prometheus.Registerer, log *slog.Logger, c *prometheus.CounterVec) *prometheus.CounterVec {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		log.Warn("ingest metric not registered", "err", err)
	}
	return c
}

// Run batches one policy run's entities across all of its targets.
// Add is safe for concurrent use; Close flushes what is left.
type Run struct {
	p            *Pipeline
	pol          *policies.Policy
	runID        string
	emitPrefixes bool
	dropVLANs    bool // snmp_discovery create_unknown_vlans: false
	log          *slog.Logger

	mu       sync.Mutex
	b        *Batcher
	closed   bool
	inflight sync.WaitGroup // Adds between their closed check and their sends

	kick chan struct{} // a partial batch started: arm the flush timer
	stop chan struct{}
	done chan struct{}
}

// Begin starts a run of pol. With a FlushInterval, a partial batch is
// sent at most that long after it started, until Close or ctx ends.
func (p *Pipeline) Begin(ctx context.Context, pol *policies.Policy, runID string) (*Run, error) {
	if pol == nil {
		return nil, errors.New("ingest: begin: policy is nil")
	}
	if err := checkPatterns(pol.Defaults.InterfacePatterns, &p.patterns); err != nil {
		return nil, err
	}
	b, err := NewBatcher(RequestInfo{
		AgentName: p.cfg.AgentName, Backend: pol.Backend, Version: p.cfg.Version,
		Policy: pol.Name, RunID: runID, Labels: p.cfg.Labels,
	})
	if err != nil {
		return nil, err
	}
	emit, drop := true, false
	if pol.SNMP != nil {
		if pol.SNMP.Config.Options.EmitPrefixes != nil {
			emit = *pol.SNMP.Config.Options.EmitPrefixes
		}
		drop = !pol.SNMP.Config.Options.CreateUnknownVLANs
	}
	r := &Run{
		p: p, pol: pol, runID: runID, emitPrefixes: emit, dropVLANs: drop, b: b,
		log:  p.log.With("policy", pol.Key(), "run_id", runID),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if p.cfg.FlushInterval > 0 {
		go r.flushLoop(ctx, p.cfg.FlushInterval)
	} else {
		close(r.done)
	}
	return r, nil
}

// Add maps one target's inventory and queues its entities. It returns how
// many entities were queued; the error says what was dropped (entities
// failing Diode's rules) or failed to send — the agent, which knows the
// unit, prefixes policy and target. Requests filled by this call are sent
// before it returns.
func (r *Run) Add(ctx context.Context, t drivers.Target, inv *drivers.Inventory) (int, error) {
	d := r.pol.Defaults.Merge(t.Overrides)
	if t.Overrides != nil && t.Overrides.InterfacePatterns != nil {
		if err := checkPatterns(d.InterfacePatterns, &r.p.patterns); err != nil {
			return 0, fmt.Errorf("override_defaults: %w", err)
		}
	}
	// Diode rejects a timestamp that is not strictly in the past; on a
	// coarse clock "now" can still equal the validator's now.
	now := r.p.cfg.Now()
	if wall := time.Now(); !now.Before(wall) {
		now = wall.Add(-time.Millisecond)
	}
	m := newMapper(d, MapOptions{Now: now, EmitPrefixes: r.emitPrefixes, NetboxID: t.NetboxID, DropUnknownVLANs: r.dropVLANs},
		compilePatterns(d.InterfacePatterns, &r.p.patterns))
	ents := m.run(inv)
	if m.droppedVLANs > 0 {
		r.log.LogAttrs(ctx, slog.LevelDebug, "unnamed VLANs not created (options.create_unknown_vlans is false)",
			slog.String("target", t.String()), slog.Int("vlans", m.droppedVLANs))
	}

	// Validate one by one so a bad entity costs only itself, not the
	// whole request it would have shared with other targets.
	var errs []error
	good := ents[:0]
	for _, e := range ents {
		if err := e.Validate(); err != nil {
			kind, name := describe(e)
			errs = append(errs, fmt.Errorf("%s %q dropped: %w", kind, name, err))
			continue
		}
		good = append(good, e)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, errors.New("ingest: run already closed")
	}
	r.inflight.Add(1)
	defer r.inflight.Done()
	var full []*diodepb.IngestRequest
	queued := 0
	wasEmpty := r.b.Len() == 0
	for _, e := range good {
		req, err := r.b.Add(e)
		if req != nil {
			full = append(full, req)
		}
		switch {
		case err == nil:
			queued++
		case req == nil && errors.Is(err, errOversize):
			errs = append(errs, err)
		default: // a completed request failed validation: its entities are lost
			r.p.requests.WithLabelValues("invalid").Inc()
			errs = append(errs, err)
			queued++
		}
	}
	if wasEmpty && r.b.Len() > 0 {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()

	if n := len(ents) - queued; n > 0 {
		r.p.rejected.WithLabelValues(r.pol.Backend).Add(float64(n))
	}
	for _, req := range full {
		if err := r.send(ctx, req); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return queued, joinCapped(errs, 5)
	}
	return queued, nil
}

// joinCapped joins the first n errors and counts the rest, so one broken
// device cannot produce a thousand-line error.
func joinCapped(errs []error, n int) error {
	if len(errs) <= n {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:n:n], fmt.Errorf("… and %d more", len(errs)-n))...)
}

// Close flushes the partial batch; further Adds fail. Safe to call twice.
func (r *Run) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.inflight.Wait()

	r.mu.Lock()
	req, err := r.b.Flush()
	r.mu.Unlock()
	if err != nil {
		r.p.requests.WithLabelValues("invalid").Inc()
		return err
	}
	if req == nil {
		return nil
	}
	if err := r.send(ctx, req); err != nil {
		return err
	}
	return nil
}

// flushLoop sends a partial batch interval after it started. ctx is the
// run's context, passed here rather than kept in the Run.
func (r *Run) flushLoop(ctx context.Context, interval time.Duration) {
	defer close(r.done)
	timer := time.NewTimer(interval)
	timer.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		timer.Reset(interval)
		select {
		case <-r.stop:
			timer.Stop()
			return
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		r.mu.Lock()
		req, err := r.b.Flush()
		r.mu.Unlock()
		if err != nil {
			r.p.requests.WithLabelValues("invalid").Inc()
			r.log.Error("partial batch invalid, not sent", "err", err)
			continue
		}
		if req != nil {
			if err := r.send(ctx, req); err != nil {
				r.log.Error("partial batch not delivered", "err", err)
			}
		}
	}
}

func (r *Run) send(ctx context.Context, req *diodepb.IngestRequest) error {
	if err := r.p.sink.Send(ctx, req); err != nil {
		r.p.requests.WithLabelValues("error").Inc()
		return fmt.Errorf("send request %s (%d entities): %w", req.Id, len(req.Entities), err)
	}
	r.p.requests.WithLabelValues("ok").Inc()
	r.p.entities.WithLabelValues(r.pol.Backend).Add(float64(len(req.Entities)))
	r.log.Debug("request delivered", "request_id", req.Id, "entities", len(req.Entities))
	return nil
}
