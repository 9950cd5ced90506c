package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orbd/orbd/agent"
	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/ingest/grpcsink"
	"github.com/orbd/orbd/policies"

	// Every backend registers itself from init().
	_ "github.com/orbd/orbd/drivers/controller"
	_ "github.com/orbd/orbd/drivers/device"
	_ "github.com/orbd/orbd/drivers/gnmi"
	_ "github.com/orbd/orbd/drivers/snmp"
	_ "github.com/orbd/orbd/drivers/vcenter"
)

// loadConfig reads the -c files; drivers not compiled in are reported
// as "not available yet" by the loader.
func loadConfig(paths []string) (*policies.Config, error) {
	return policies.Load(paths, policies.LoadOptions{
		Available: func(b string) bool { _, ok := drivers.Lookup(b); return ok },
	})
}

// stack is everything one process runs: sink, pipeline, agent, API.
type stack struct {
	sink  ingest.Sink
	agent *agent.Agent
	after func(io.Writer) // optional: printed after a one-shot summary
}

// buildSink picks the dry-run writer or the Diode gRPC client (spooled).
// The gRPC sender starts at once, so requests a previous process left in
// the spool are delivered even before the first run produces anything; it
// lives until the sink's Close, not until ctx's cancel, so a SIGTERM still
// drains within the grace period.
func buildSink(ctx context.Context, cfg *policies.Config, log *slog.Logger, reg prometheus.Registerer) (ingest.Sink, func() any, error) {
	d := cfg.Diode
	if d.DryRun {
		s, err := ingest.NewDryRunSink(d.DryRunOutputDir, log.With("component", "dry-run"))
		if err != nil {
			return nil, nil, fmt.Errorf("dry-run output %s: %w", d.DryRunOutputDir, err)
		}
		return s, func() any { return map[string]any{"mode": "dry-run", "dir": d.DryRunOutputDir} }, nil
	}
	s, err := grpcsink.New(d, grpcsink.Options{Logger: log.With("component", "diode"), Registry: reg, Version: version})
	if err != nil {
		return nil, nil, fmt.Errorf("diode %s: %w", d.Target, err)
	}
	s.Start(context.WithoutCancel(ctx))
	return s, func() any { return s.Status() }, nil
}

// cloudProxy is the proxy for cloud APIs (Mist): the Diode proxy when set.
func cloudProxy(cfg *policies.Config) *url.URL {
	if !cfg.Diode.Proxy.IsSet() {
		return nil
	}
	u, err := url.Parse(cfg.Diode.Proxy.Reveal())
	if err != nil {
		return nil // the loader already validated it
	}
	return u
}

// buildStack wires one process: metrics registry, sink (plus any extra
// sinks that see the same requests, e.g. the demo's dry-run copy),
// pipeline and agent.
func buildStack(ctx context.Context, cfg *policies.Config, log *slog.Logger, extra ...ingest.Sink) (*stack, error) {
	reg := newRegistry()
	sink, statusFn, err := buildSink(ctx, cfg, log, reg)
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		sink = teeSink(append([]ingest.Sink{sink}, extra...))
	}
	pipe := ingest.NewPipeline(sink, ingest.PipelineConfig{
		AgentName:     cfg.Diode.AgentName,
		Version:       version,
		Labels:        cfg.Labels,
		Logger:        log.With("component", "ingest"),
		Metrics:       reg,
		FlushInterval: cfg.Diode.BatchInterval.D(),
	})
	a := agent.New(agent.Options{
		Logger:         log.With("component", "agent"),
		Registry:       reg,
		Delivery:       pipelineDelivery{pipe},
		DeliveryStatus: statusFn,
		Version:        version,
		CloudProxy:     cloudProxy(cfg),
	})
	return &stack{sink: sink, agent: a}, nil
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// pipelineDelivery adapts ingest's concrete types to the agent's small
// consumer-side interfaces.
type pipelineDelivery struct{ p *ingest.Pipeline }

func (d pipelineDelivery) Begin(ctx context.Context, p *policies.Policy, runID string) (agent.RunSink, error) {
	r, err := d.p.Begin(ctx, p, runID)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// serveAPI runs the status/metrics server until ctx ends; "" disables it.
func serveAPI(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return fmt.Errorf("status API on %s: %w", addr, err)
	}
	log.Info("status API listening", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status API stopped", "err", err)
		}
	}()
	return nil
}

// teeSink hands every request to each sink in turn (the demo keeps a
// dry-run copy of what it sends to the receiver).
type teeSink []ingest.Sink

func (t teeSink) Send(ctx context.Context, req *diodepb.IngestRequest) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Send(ctx, req))
	}
	return errors.Join(errs...)
}

func (t teeSink) Close(ctx context.Context) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Close(ctx))
	}
	return errors.Join(errs...)
}
