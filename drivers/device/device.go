// Package device is the device_discovery backend: it expands the scope
// (hosts, CIDRs, ranges), port-scans swept addresses without credentials,
// chooses SSH CLI or NETCONF per scope entry from its `driver:` (or
// detects the platform), applies the host key policy and hands the
// session to drivers/ssh or drivers/netconf.
package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/netconf"
	"github.com/orbd/orbd/drivers/ssh"
	"github.com/orbd/orbd/policies"
)

func init() {
	drivers.Register(drivers.Spec{Backend: policies.BackendDevice, New: New})
}

// DefaultPortScanTimeout is orb-agent's port_scan_timeout default (0.5 s);
// port_scan_ports defaults to 22 and 830.
const DefaultPortScanTimeout = 500 * time.Millisecond

// Transports.
const (
	TransportSSH     = "ssh"
	TransportNETCONF = "netconf"
)

// driverInfo is what a `driver:` name means.
type driverInfo struct {
	platform  string // CLI platform; "" = detect over SSH
	transport string // default transport; "" = detect
	// sshIfNoNetconf: NETCONF by default, SSH CLI when 830 is closed (junos).
	sshIfNoNetconf bool
}

var driverNames = map[string]driverInfo{
	"":              {},
	"ios":           {platform: ssh.PlatformIOSXE, transport: TransportSSH},
	"iosxe":         {platform: ssh.PlatformIOSXE, transport: TransportSSH},
	"nxos":          {platform: ssh.PlatformNXOS, transport: TransportSSH},
	"nxos_ssh":      {platform: ssh.PlatformNXOS, transport: TransportSSH},
	"eos":           {platform: ssh.PlatformEOS, transport: TransportSSH},
	"iosxr":         {platform: ssh.PlatformIOSXR, transport: TransportSSH},
	"junos":         {platform: ssh.PlatformJunos, transport: TransportNETCONF, sshIfNoNetconf: true},
	"iosxr_netconf": {platform: ssh.PlatformIOSXR, transport: TransportNETCONF},
	"netconf":       {transport: TransportNETCONF},
}

// Driver is one device_discovery policy.
type Driver struct {
	pol         *policies.Policy
	scope       []policies.DeviceScope
	opts        policies.DeviceOptions
	log         *slog.Logger
	stateDir    string
	ports       []int
	scanTimeout time.Duration
	// well-known ports, fields so that tests can point them at free ports
	sshPort, netconfPort int
	m                    *metrics
}

// New validates the policy's scope and builds the driver.
func New(p *policies.Policy, deps drivers.Deps) (drivers.Driver, error) {
	if p.Device == nil {
		return nil, errors.New("not a device_discovery policy")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{pol: p, scope: p.Device.Scope, opts: p.Device.Config.Options,
		log: log.With("policy", p.Name), stateDir: deps.StateDir,
		ports: p.Device.Config.Options.PortScanPorts, scanTimeout: p.Device.Config.Options.PortScanTimeout.Duration(),
		sshPort: 22, netconfPort: 830}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	d.m = m
	if len(d.ports) == 0 {
		d.ports = []int{22, 830}
	}
	if d.scanTimeout <= 0 {
		d.scanTimeout = DefaultPortScanTimeout
	}
	for i, e := range d.scope {
		if _, ok := driverNames[e.Driver]; !ok {
			return nil, fmt.Errorf("scope[%d] %s: unknown driver %q (ios iosxe nxos nxos_ssh eos junos iosxr iosxr_netconf netconf)", i, e.Hostname, e.Driver)
		}
		switch e.OptionalArgs.Transport {
		case "", TransportSSH, TransportNETCONF:
		default:
			return nil, fmt.Errorf("scope[%d] %s: optional_args.transport %q: want ssh or netconf", i, e.Hostname, e.OptionalArgs.Transport)
		}
		if !ssh.ValidHostKeyPolicy(e.OptionalArgs.HostKeyPolicy) {
			return nil, fmt.Errorf("scope[%d] %s: optional_args.host_key_policy %q: want strict, accept-new or insecure", i, e.Hostname, e.OptionalArgs.HostKeyPolicy)
		}
		if e.OptionalArgs.HostKeyPolicy != ssh.HostKeyInsecure && e.OptionalArgs.KnownHosts == "" && d.stateDir == "" {
			return nil, fmt.Errorf("scope[%d] %s: host_key_policy %s needs optional_args.known_hosts or the agent state_dir", i, e.Hostname, hostKeyPolicy(e))
		}
		if e.Password == "" && e.OptionalArgs.KeyFile == "" {
			return nil, fmt.Errorf("scope[%d] %s: no credentials (password or optional_args.key_file)", i, e.Hostname)
		}
		if e.OptionalArgs.Port < 0 || e.OptionalArgs.Port > 65535 {
			return nil, fmt.Errorf("scope[%d] %s: optional_args.port %d out of range", i, e.Hostname, e.OptionalArgs.Port)
		}
	}
	return d, nil
}

func hostKeyPolicy(e policies.DeviceScope) string {
	if e.OptionalArgs.HostKeyPolicy == "" {
		return ssh.HostKeyAcceptNew
	}
	return e.OptionalArgs.HostKeyPolicy
}

// Targets expands every scope entry. It also warns, every run, about
// entries that skip host key checks.
func (d *Driver) Targets(ctx context.Context) ([]drivers.Target, error) {
	var out []drivers.Target
	for i, e := range d.scope {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e.OptionalArgs.HostKeyPolicy == ssh.HostKeyInsecure {
			d.log.Warn("host key checking disabled (host_key_policy: insecure): connections can be intercepted", "scope", i, "hostname", e.Hostname)
		}
		addrs, swept, isName, err := drivers.ExpandHosts(e.Hostname)
		if err != nil {
			return nil, fmt.Errorf("scope[%d]: %w", i, err)
		}
		t := drivers.Target{Port: e.OptionalArgs.Port, Entry: i, Overrides: e.OverrideDefaults, NetboxID: e.NetboxID}
		if isName {
			t.Host = e.Hostname
			out = append(out, t)
			continue
		}
		for _, a := range addrs {
			t.Host, t.Swept = a.String(), swept
			out = append(out, t)
		}
	}
	return out, nil
}

// Probe connects to the scan ports (and the entry's port) without
// credentials; nothing open is drivers.ErrNoAnswer.
func (d *Driver) Probe(ctx context.Context, t drivers.Target) error {
	ports := append([]int(nil), d.ports...)
	if t.Port != 0 && !contains(ports, t.Port) {
		ports = append(ports, t.Port)
	}
	if len(d.openPorts(ctx, t.Host, ports)) == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ports %v closed: %w", ports, drivers.ErrNoAnswer)
	}
	return nil
}

// openPorts tries the ports in parallel, each bounded by port_scan_timeout.
func (d *Driver) openPorts(ctx context.Context, host string, ports []int) []int {
	ctx, cancel := context.WithTimeout(ctx, d.scanTimeout)
	defer cancel()
	open := make([]bool, len(ports))
	var wg sync.WaitGroup
	for k, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dl net.Dialer
			c, err := dl.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err == nil {
				c.Close()
				open[k] = true
			}
		}()
	}
	wg.Wait()
	var out []int
	for k, p := range ports {
		if open[k] {
			out = append(out, p)
		}
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// plan is the transport chosen for one target.
type plan struct {
	transport string // ssh | netconf
	platform  string // CLI platform, "" = detect
	port      int
}

// choose applies the selection rules: optional_args.transport forces;
// else the driver's default, with junos falling back to SSH when 830 is
// closed; without a driver, NETCONF if 830 answers, else SSH detection.
// optional_args.port is the port of the transport the entry ends up on
// when it is forced or implied by the driver; detection uses 830 and 22
// (or the port for SSH).
func (d *Driver) choose(ctx context.Context, t drivers.Target, e policies.DeviceScope) plan {
	info := driverNames[e.Driver]
	port := e.OptionalArgs.Port
	or := func(def int) int {
		if port != 0 {
			return port
		}
		return def
	}
	switch e.OptionalArgs.Transport {
	case TransportSSH:
		return plan{transport: TransportSSH, platform: info.platform, port: or(d.sshPort)}
	case TransportNETCONF:
		return plan{transport: TransportNETCONF, port: or(d.netconfPort)}
	}
	switch {
	case info.transport == TransportSSH:
		return plan{transport: TransportSSH, platform: info.platform, port: or(d.sshPort)}
	case info.sshIfNoNetconf:
		if nc := or(d.netconfPort); len(d.openPorts(ctx, t.Host, []int{nc})) == 1 {
			return plan{transport: TransportNETCONF, port: nc}
		}
		return plan{transport: TransportSSH, platform: info.platform, port: d.sshPort}
	case info.transport == TransportNETCONF:
		return plan{transport: TransportNETCONF, port: or(d.netconfPort)}
	}
	if len(d.openPorts(ctx, t.Host, []int{d.netconfPort})) == 1 {
		return plan{transport: TransportNETCONF, port: d.netconfPort}
	}
	return plan{transport: TransportSSH, port: or(d.sshPort)}
}

// knownHosts is the entry's known_hosts file: optional_args.known_hosts
// or <state_dir>/known_hosts.
func (d *Driver) knownHosts(e policies.DeviceScope) string {
	if e.OptionalArgs.KnownHosts != "" {
		return e.OptionalArgs.KnownHosts
	}
	if d.stateDir == "" {
		return ""
	}
	return filepath.Join(d.stateDir, "known_hosts")
}

// Discover logs in to one target over the chosen transport.
func (d *Driver) Discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, error) {
	if t.Entry < 0 || t.Entry >= len(d.scope) {
		return nil, fmt.Errorf("no scope entry %d", t.Entry)
	}
	if d.pol.TargetTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.pol.TargetTimeout)
		defer cancel()
	}
	e := d.scope[t.Entry]
	pl := d.choose(ctx, t, e)
	conn := ssh.Conn{
		Host: t.Host, Port: pl.port, Username: e.Username, Password: e.Password,
		KeyFile: e.OptionalArgs.KeyFile, KeyPassphrase: e.OptionalArgs.KeyPassphrase,
		HostKeyCallback: ssh.HostKeys{Policy: e.OptionalArgs.HostKeyPolicy, File: d.knownHosts(e)}.Callback(),
	}
	var (
		dev *drivers.Device
		err error
	)
	what := pl.transport
	start := time.Now()
	if pl.transport == TransportNETCONF {
		dev, err = netconf.Discover(ctx, netconf.Params{Conn: conn, CaptureConfig: d.opts.CaptureRunningConfig})
	} else {
		if pl.platform != "" {
			what += " " + pl.platform
		}
		dev, err = ssh.Discover(ctx, ssh.Params{Conn: conn, Platform: pl.platform, Secret: e.OptionalArgs.Secret,
			CaptureConfig: d.opts.CaptureRunningConfig, Logger: d.log})
	}
	d.m.duration.WithLabelValues(pl.transport).Observe(time.Since(start).Seconds())
	d.m.sessions.WithLabelValues(pl.transport, result(err)).Inc()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && d.pol.TargetTimeout > 0 {
			return nil, fmt.Errorf("%s port %d: timed out after %s: %w", what, pl.port, d.pol.TargetTimeout, err)
		}
		return nil, fmt.Errorf("%s port %d: %w", what, pl.port, err)
	}
	d.log.Debug("discovered", "target", t.Host, "transport", what, "device", dev.Name, "interfaces", len(dev.Interfaces))
	return &drivers.Inventory{Devices: []drivers.Device{*dev}}, nil
}

// result classifies a session outcome for the sessions metric.
func result(err error) string {
	var hk *ssh.HostKeyError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ssh.ErrAuth):
		return "auth"
	case errors.As(err, &hk):
		return "host_key"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
