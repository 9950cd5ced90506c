package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbd/orbd/agent"
	"github.com/orbd/orbd/ingest/doctor"
	"github.com/orbd/orbd/policies"
)

func validateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check policy files; print every error with file:line:col",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := loadConfig(g.configPaths())
			if err != nil {
				fmt.Fprintln(g.stderr, err)
				return exitError{code: 1}
			}
			fmt.Fprintf(g.stdout, "ok: %d policies in %d files\n", len(cfg.Policies), len(cfg.Files))
			for _, p := range cfg.Policies {
				sched := p.Schedule
				if sched == "" {
					sched = "once at start"
				}
				fmt.Fprintf(g.stdout, "  %-22s %-24s %s\n", p.Backend, p.Name, sched)
			}
			return nil
		},
	}
}

// setup builds the logger and loads the -c files; an invalid file prints
// every error and ends the command with exit 1.
func (g *globals) setup() (*slog.Logger, *policies.Config, []string, error) {
	log, err := g.logger()
	if err != nil {
		return nil, nil, nil, err
	}
	paths := g.configPaths()
	cfg, err := loadConfig(paths)
	if err != nil {
		fmt.Fprintln(g.stderr, err)
		return nil, nil, nil, exitError{code: 1, msg: "invalid configuration; nothing started"}
	}
	return log, cfg, paths, nil
}

func runCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the agent: schedule policies, watch the files, serve the status API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, cfg, paths, err := g.setup()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			st, err := buildStack(ctx, cfg, log)
			if err != nil {
				return err
			}
			if err := st.agent.Apply(ctx, cfg); err != nil {
				return err
			}
			if err := serveAPI(ctx, cfg.Agent.Listen, st.agent.Handler(), log); err != nil {
				return err
			}
			// The sink and pipeline are built once: say so when a reload
			// changes what they were built from, rather than ignore it.
			reload := func(ctx context.Context) {
				st.agent.Reload(ctx, func() (*policies.Config, error) {
					next, err := loadConfig(paths)
					if err == nil && deliveryChanged(cfg, next) {
						log.Warn("orb.backends.common.diode or orb.labels changed: delivery settings apply at the next restart; policies are reloaded now")
					}
					return next, err
				})
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						log.Info("SIGHUP: reloading policies")
						reload(ctx)
					}
				}
			}()
			go func() {
				if err := agent.Watch(ctx, paths, reload); err != nil && ctx.Err() == nil {
					log.Warn("config watch stopped; SIGHUP still reloads", "err", err)
				}
			}()
			log.Info("orbd started", "version", version, "policies", len(cfg.Policies), "files", cfg.Files)
			runErr := st.agent.Run(ctx)

			// Flush delivery within the grace period, then exit 0.
			grace := cfg.Agent.ShutdownGrace.D()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
			defer cancel()
			if err := st.sink.Close(fctx); err != nil {
				log.Error("delivery not fully flushed; the spool keeps the rest for the next start", "err", err)
			}
			if runErr != nil && !errors.Is(runErr, context.Canceled) {
				return runErr
			}
			log.Info("orbd stopped")
			return nil
		},
	}
}

func discoverCmd(g *globals) *cobra.Command {
	var only string
	c := &cobra.Command{
		Use:   "discover",
		Short: "Run every policy (or one) once, deliver, print a summary; non-zero if a target failed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, cfg, _, err := g.setup()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			st, err := buildStack(ctx, cfg, log)
			if err != nil {
				return err
			}
			return runOnce(ctx, g.stdout, st, cfg, only)
		},
	}
	c.Flags().StringVar(&only, "policy", "", "run only this policy (name)")
	return c
}

// deliveryChanged reports whether a reload changed settings that only a
// restart applies (the Diode sink and the request metadata).
func deliveryChanged(old, next *policies.Config) bool {
	return !reflect.DeepEqual(old.Diode, next.Diode) || !maps.Equal(old.Labels, next.Labels)
}

// runOnce runs policies once through the stack's pipeline and sink,
// flushes delivery, prints the summary, and fails (exit 2) when any target
// or run failed.
func runOnce(ctx context.Context, w io.Writer, st *stack, cfg *policies.Config, only string) error {
	results, runErr := st.agent.RunOnce(ctx, cfg, only)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Agent.ShutdownGrace.D())
	defer cancel()
	closeErr := st.sink.Close(fctx)
	failed := printSummary(w, results)
	if st.after != nil {
		st.after(w)
	}
	switch {
	case runErr != nil:
		return runErr
	case closeErr != nil:
		return fmt.Errorf("delivery: %w", closeErr)
	case failed > 0:
		return exitError{code: 2, msg: fmt.Sprintf("%d target(s) or run(s) failed", failed)}
	}
	return nil
}

func doctorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Test DNS, TCP/proxy, TLS, token and gRPC to the Diode target",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, cfg, _, err := g.setup()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			if !doctor.Run(ctx, cfg.Diode, g.stdout, doctor.Options{Logger: log}) {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

// printSummary writes one row per policy run, then each error once: the
// run's as "  policy: err", each target's as "  policy  target: err"
// (drivers leave policy and target out of their messages).
func printSummary(w io.Writer, results []agent.RunResult) (failed int) {
	sort.Slice(results, func(i, j int) bool { return results[i].Policy < results[j].Policy })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tBACKEND\tTARGETS\tANSWERED\tDEVICES\tINTERFACES\tADDRESSES\tENTITIES\tERRORS\tDURATION")
	for _, r := range results {
		errs := r.TargetsFailed
		if r.Err != "" {
			errs++
		}
		failed += errs
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Policy, r.Backend, r.TargetsTried, r.TargetsAnswered,
			r.Devices, r.Interfaces, r.Addresses, r.Entities, errs, r.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Policy, r.Err)
		}
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s  %s: %s\n", r.Policy, e.Target, e.Error)
		}
		if r.ErrorsOmitted > 0 {
			fmt.Fprintf(w, "  %s  … and %d more target errors (see the log)\n", r.Policy, r.ErrorsOmitted)
		}
	}
	return failed
}
