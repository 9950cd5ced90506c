package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every subcommand shares.
type globals struct {
	configs   []string
	logFormat string
	logLevel  string
	stdout    io.Writer
	stderr    io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "orbd",
		Short:         "Network discovery agent for NetBox (Diode)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `orbd runs discovery policies (SNMP, SSH/NETCONF, gNMI, vCenter, controllers)
from an orb-agent compatible agent.yaml and delivers what it finds to NetBox
through Diode.

  orbd demo                      simulated lab → local Diode receiver + dry-run files
  orbd run -c agent.yaml         the daemon
  orbd validate -c agent.yaml    check a policy file, print every error
  orbd discover -c agent.yaml    run every policy once and print a summary
  orbd doctor -c agent.yaml      test the path to NetBox Cloud`,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")

	configFlag := func(c *cobra.Command) {
		c.Flags().StringArrayVarP(&g.configs, "config", "c", nil,
			"policy file or directory of *.yaml (repeatable; later files win per policy) (default /etc/orbd/agent.yaml)")
	}
	for _, c := range []*cobra.Command{runCmd(g), validateCmd(g), discoverCmd(g), doctorCmd(g)} {
		configFlag(c)
		root.AddCommand(c)
	}
	root.AddCommand(demoCmd(g), versionCmd(g))
	return root
}

func (g *globals) configPaths() []string {
	if len(g.configs) == 0 {
		return []string{"/etc/orbd/agent.yaml"}
	}
	return g.configs
}

func (g *globals) logger() (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(g.logLevel) {
	case "debug":
		lvl = slog.LevelDebug
	case "info", "":
		lvl = slog.LevelInfo
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(g.logFormat) {
	case "text", "":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
	}
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(g.stdout, "orbd %s\n", version)
			return nil
		},
	}
}
