package sshtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/orbd/orbd/drivers/netconf/netconftest"
)

// Demo credentials (demo-only, printed in the policy on purpose).
const (
	DemoUser     = "admin"
	DemoPassword = "orbd-demo"
	DemoSecret   = "orbd-enable"
)

// demoDevices are the lab: one device per platform, each on its own
// loopback address.
var demoDevices = []struct {
	ip, driver, transport string
	dev                   Device
}{
	{"127.0.0.11", "iosxe", "", Device{Platform: "iosxe", EnableSecret: DemoSecret, Banner: "Authorized access only"}},
	{"127.0.0.12", "nxos", "", Device{Platform: "nxos"}},
	{"127.0.0.13", "eos", "", Device{Platform: "eos", EnableSecret: DemoSecret}},
	{"127.0.0.14", "iosxr", "", Device{Platform: "iosxr"}},
	{"127.0.0.15", "junos", "ssh", Device{Platform: "junos"}},
}

// Demo starts one emulated device per CLI platform on 127.0.0.11-15 and
// two NETCONF devices (Junos native RPCs on 127.0.0.16, OpenConfig on
// 127.0.0.17), and returns a device_discovery policy body that discovers
// them, with accept-new host keys recorded in a temp known_hosts removed
// by stop.
func Demo(ctx context.Context) (policyYAML string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "orbd-demo-ssh-")
	if err != nil {
		return "", nil, err
	}
	var servers []interface{ Close() error }
	stop = func() {
		for _, s := range servers {
			s.Close()
		}
		os.RemoveAll(dir)
	}
	var b strings.Builder
	b.WriteString("config:\n  timeout: 30\n  options:\n    capture_running_config: true\nscope:\n")
	kh := filepath.Join(dir, "known_hosts")
	for _, d := range demoDevices {
		if err := ctx.Err(); err != nil {
			stop()
			return "", nil, err
		}
		dev := d.dev
		dev.Username, dev.Password = DemoUser, DemoPassword
		s, err := Start(d.ip+":0", dev)
		if err != nil {
			stop()
			return "", nil, fmt.Errorf("sshtest demo %s: %w", d.driver, err)
		}
		servers = append(servers, s)
		fmt.Fprintf(&b, "  - hostname: %s\n    driver: %s\n    username: %s\n    password: %s\n    optional_args:\n      port: %d\n      host_key_policy: accept-new\n      known_hosts: %s\n",
			d.ip, d.driver, DemoUser, DemoPassword, s.Port(), kh)
		if dev.EnableSecret != "" {
			fmt.Fprintf(&b, "      secret: %s\n", dev.EnableSecret)
		}
		if d.transport != "" {
			fmt.Fprintf(&b, "      transport: %s\n", d.transport)
		}
	}
	for _, n := range []struct{ ip, driver, profile string }{
		{"127.0.0.16", "junos", "junos-mx"},
		{"127.0.0.17", "netconf", "openconfig-spine"},
	} {
		s, err := netconftest.Start(n.ip+":0", netconftest.Device{Profile: n.profile, Username: DemoUser, Password: DemoPassword, Base11: true})
		if err != nil {
			stop()
			return "", nil, fmt.Errorf("netconftest demo %s: %w", n.profile, err)
		}
		servers = append(servers, s)
		// the port is the NETCONF port: junos and netconf default to NETCONF
		fmt.Fprintf(&b, "  - hostname: %s\n    driver: %s\n    username: %s\n    password: %s\n    optional_args:\n      port: %d\n      host_key_policy: accept-new\n      known_hosts: %s\n",
			n.ip, n.driver, DemoUser, DemoPassword, s.Port(), kh)
	}
	return b.String(), stop, nil
}
