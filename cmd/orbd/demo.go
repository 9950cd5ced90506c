package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbd/orbd/drivers/controller/controllertest"
	"github.com/orbd/orbd/drivers/gnmi/gnmitest"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
	"github.com/orbd/orbd/drivers/vcenter/vcentertest"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/ingest/diodetest"
)

// labPart starts one protocol's simulated devices and returns the body of
// the policy that discovers them.
type labPart struct {
	backend, name string
	start         func(ctx context.Context) (policyYAML string, stop func(), err error)
}

var demoLab = []labPart{
	{"snmp_discovery", "demo_snmp", snmptest.Demo},
	{"device_discovery", "demo_cli", sshtest.Demo},
	{"gnmi_discovery", "demo_gnmi", gnmitest.Demo},
	{"vcenter_discovery", "demo_vcenter", vcentertest.Demo},
	{"controller_discovery", "demo_catalyst", controllertest.DemoCatalyst},
	{"controller_discovery", "demo_mist", controllertest.DemoMist},
}

func demoCmd(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Discover a built-in simulated lab on loopback; deliver to a local Diode receiver and dry-run files",
		Long: `demo starts simulated devices on 127.0.0.x (SNMP agents, SSH CLIs, a gNMI
target, a vCenter simulator, Catalyst Center and Mist APIs) and an in-process
Diode receiver, runs one policy per protocol through the real agent,
pipeline and gRPC sink, writes every request as a Diode dry-run file too, and
prints what was discovered and what the receiver got. Nothing leaves loopback.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()

			tmp, err := os.MkdirTemp("", "orbd-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)

			target, receiverSummary, stopRecv, err := diodetest.Demo(ctx)
			if err != nil {
				return fmt.Errorf("demo Diode receiver: %w", err)
			}
			defer stopRecv()

			var b strings.Builder
			fmt.Fprintf(&b, "orb:\n  labels: {env: demo}\n  config_manager: {active: local}\n")
			fmt.Fprintf(&b, "  agent: {workers: 16, listen: \"\", state_dir: %q}\n", tmp)
			fmt.Fprintf(&b, "  backends:\n    common:\n      diode:\n")
			fmt.Fprintf(&b, "        target: %s\n        client_id: %s\n        client_secret: %s\n", target, diodetest.DemoClientID, diodetest.DemoClientSecret)
			fmt.Fprintf(&b, "        agent_name: demo-lab\n        spool_dir: %q\n        batch_interval: 500ms\n", filepath.Join(tmp, "spool"))
			seen := map[string]bool{}
			for _, p := range demoLab {
				if !seen[p.backend] {
					fmt.Fprintf(&b, "    %s: {}\n", p.backend)
					seen[p.backend] = true
				}
			}
			fmt.Fprintf(&b, "  policies:\n")
			byBackend := map[string][]string{}
			var order []string
			for _, p := range demoLab {
				body, stopPart, err := p.start(ctx)
				if err != nil {
					return fmt.Errorf("demo lab %s: %w", p.name, err)
				}
				defer stopPart()
				if byBackend[p.backend] == nil {
					order = append(order, p.backend)
				}
				byBackend[p.backend] = append(byBackend[p.backend], fmt.Sprintf("      %s:\n%s", p.name, indent(body, "        ")))
			}
			for _, be := range order {
				fmt.Fprintf(&b, "    %s:\n%s", be, strings.Join(byBackend[be], ""))
			}
			cfgPath := filepath.Join(tmp, "agent.yaml")
			if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
				return err
			}
			cfg, err := loadConfig([]string{cfgPath})
			if err != nil {
				return fmt.Errorf("demo config (a bug):\n%s\n%w", b.String(), err)
			}

			dry, err := ingest.NewDryRunSink(out, log.With("component", "dry-run"))
			if err != nil {
				return err
			}
			st, err := buildStack(ctx, cfg, log, dry)
			if err != nil {
				return err
			}

			fmt.Fprintf(g.stdout, "orbd demo: %d simulated policies on loopback, Diode receiver at %s\n\n", len(demoLab), target)
			abs, _ := filepath.Abs(out)
			st.after = func(w io.Writer) {
				fmt.Fprintln(w)
				receiverSummary(w)
				fmt.Fprintf(w, "\ndry-run files (Diode SDK format): %s\n", abs)
			}
			return runOnce(ctx, g.stdout, st, cfg, "")
		},
	}
	c.Flags().StringVar(&out, "out", "orbd-demo-output", "directory for the dry-run files")
	return c
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
