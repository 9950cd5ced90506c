package agent

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	runs        *prometheus.CounterVec   // policy, backend, result
	runDuration *prometheus.HistogramVec // policy, backend
	targets     *prometheus.CounterVec   // policy, result
	entities    *prometheus.CounterVec   // policy
	skipped     *prometheus.CounterVec   // policy
	poolBusy    prometheus.Gauge
	poolQueued  *prometheus.GaugeVec // policy
	reloadOK    prometheus.Gauge
	reloadTime  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbd_runs_total", Help: "Policy runs finished, by result (ok, partial: some targets failed, failed, cancelled).",
		}, []string{"policy", "backend", "result"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orbd_run_duration_seconds", Help: "Duration of policy runs.",
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"policy", "backend"}),
		targets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbd_targets_total", Help: "Targets handled, by result (ok, failed, no_answer, cancelled).",
		}, []string{"policy", "result"}),
		entities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbd_entities_emitted_total", Help: "Diode entities handed to delivery.",
		}, []string{"policy"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbd_runs_skipped_total", Help: "Scheduled ticks skipped because the policy's previous run was still going.",
		}, []string{"policy"}),
		poolBusy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orbd_pool_busy_workers", Help: "Workers of the global pool running a task.",
		}),
		poolQueued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orbd_pool_queued_tasks", Help: "Tasks waiting for a worker, per policy.",
		}, []string{"policy"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orbd_config_last_reload_successful", Help: "1 if the last config load and apply succeeded, else 0.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orbd_config_last_reload_success_timestamp_seconds", Help: "Unix time of the last successful config apply.",
		}),
	}
	reg.MustRegister(m.runs, m.runDuration, m.targets, m.entities, m.skipped,
		m.poolBusy, m.poolQueued, m.reloadOK, m.reloadTime)
	return m
}

// forget deletes every series of a removed policy.
func (m *metrics) forget(policy string) {
	l := prometheus.Labels{"policy": policy}
	m.runs.DeletePartialMatch(l)
	m.runDuration.DeletePartialMatch(l)
	m.targets.DeletePartialMatch(l)
	m.entities.DeletePartialMatch(l)
	m.skipped.DeletePartialMatch(l)
	m.poolQueued.DeletePartialMatch(l)
}

// trackingRegisterer is the Registerer a driver gets: every collector is
// labelled with its policy (so two policies of one backend do not clash)
// and remembered, so stopping the policy unregisters all of them.
type trackingRegisterer struct {
	inner prometheus.Registerer
	mu    sync.Mutex
	cs    []prometheus.Collector
}

func newTrackingRegisterer(reg prometheus.Registerer, policy string) *trackingRegisterer {
	return &trackingRegisterer{inner: prometheus.WrapRegistererWith(prometheus.Labels{"policy": policy}, reg)}
}

func (r *trackingRegisterer) Register(c prometheus.Collector) error {
	if err := r.inner.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

func (r *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *trackingRegisterer) Unregister(c prometheus.Collector) bool {
	r.mu.Lock()
	for i, x := range r.cs {
		if x == c {
			r.cs = append(r.cs[:i], r.cs[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	return r.inner.Unregister(c)
}

func (r *trackingRegisterer) unregisterAll() {
	r.mu.Lock()
	cs := r.cs
	r.cs = nil
	r.mu.Unlock()
	for _, c := range cs {
		r.inner.Unregister(c)
	}
}
