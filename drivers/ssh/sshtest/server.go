// Package sshtest is an in-process SSH server that emulates the CLI of
// Cisco IOS-XE, NX-OS, IOS-XR, Arista EOS and Juniper Junos, like
// net/http/httptest for HTTP: login banner, user and enable prompts,
// paging until it is turned off, per-command outputs from testdata,
// "% Invalid input" for unknown commands, and fault modes (slow output,
// stall after login, garbage, per-command delay) for timeout tests and
// benchmarks. It listens on loopback only.
package sshtest

import (
	"embed"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/internal/sshserver"
)

//go:embed testdata
var testdata embed.FS

// Device configures one emulated device.
type Device struct {
	// Platform: iosxe, nxos, eos, iosxr or junos.
	Platform string
	// Profile is the testdata directory with the command outputs
	// (testdata/<profile>/<command>.txt); default: the platform's
	// default profile (see Profiles).
	Profile  string
	Hostname string // prompt name; default from the profile
	Username string // default "admin"
	Password string // "" disables password auth
	// AuthorizedKeys are accepted for public-key auth.
	AuthorizedKeys []xssh.PublicKey
	// EnableSecret is asked by `enable` on iosxe and eos; "" = no password.
	// Sessions start unprivileged (">") on those platforms.
	EnableSecret string
	HostKey      xssh.Signer // nil: a fresh ed25519 key
	Banner       string      // printed before the first prompt
	// Delay is added before every command's output (benchmarks).
	Delay time.Duration
	// SlowOutput writes output in 32-byte pieces with this pause between.
	SlowOutput time.Duration
	// StallAfterLogin: the shell opens but never prints a prompt.
	StallAfterLogin bool
	// Garbage answers every show command with noise instead of its output.
	Garbage bool
	// Outputs adds or overrides command outputs.
	Outputs map[string]string
}

// Profiles lists the default testdata profile and hostname per platform.
var Profiles = map[string]struct{ Profile, Hostname string }{
	"iosxe": {"iosxe-c9300", "sw-core-01"},
	"nxos":  {"nxos-n9k", "nx-leaf-01"},
	"eos":   {"eos-7050", "eos-leaf-02"},
	"iosxr": {"iosxr-asr9k", "pe1"},
	"junos": {"junos-mx", "mx-edge-01"},
}

// ProfileHostnames maps the other testdata profiles to their hostname.
var ProfileHostnames = map[string]string{
	"iosxe-c9300": "sw-core-01", "iosxe-csr1000v": "csr-rtr-01", "ios-isr2901": "br-isr-01",
	"iosv-noserial": "iosv-lab", "nxos-n9k": "nx-leaf-01", "eos-7050": "eos-leaf-02",
	"iosxr-asr9k": "pe1", "iosxr-xrv9k": "xrv-p1", "junos-mx": "mx-edge-01",
}

// Server is a running emulated device.
type Server struct {
	Addr    string // host:port
	HostKey xssh.PublicKey

	srv  *sshserver.Server
	dev  Device
	cmds map[string]string
	cmdN atomic.Int64
}

// Commands is how many device commands (not terminal settings) the
// server has answered; benchmarks derive commands per discovery from it.
func (s *Server) Commands() int64 { return s.cmdN.Load() }

// Start listens on addr ("127.0.0.1:0") and serves dev until Close.
func Start(addr string, dev Device) (*Server, error) {
	if _, ok := Profiles[dev.Platform]; !ok {
		return nil, fmt.Errorf("sshtest: unknown platform %q", dev.Platform)
	}
	if dev.Profile == "" {
		dev.Profile = Profiles[dev.Platform].Profile
	}
	if dev.Hostname == "" {
		dev.Hostname = ProfileHostnames[dev.Profile]
		if dev.Hostname == "" {
			dev.Hostname = "router"
		}
	}
	if dev.Username == "" {
		dev.Username = "admin"
	}
	cmds, err := LoadProfile(dev.Profile)
	if err != nil {
		return nil, err
	}
	for k, v := range dev.Outputs {
		cmds[k] = v
	}
	s := &Server{dev: dev, cmds: cmds}
	srv, err := sshserver.Start(addr, sshserver.Config{
		Name: "sshtest", ServerVersion: "SSH-2.0-Cisco-1.25",
		Username: dev.Username, Password: dev.Password, AuthorizedKeys: dev.AuthorizedKeys, HostKey: dev.HostKey,
		Request: func(typ string, _ []byte) (ok, start bool) {
			switch typ {
			case "pty-req", "env", "window-change":
				return true, false
			case "shell":
				return true, true
			}
			return false, false
		},
		Session: s.shell,
	})
	if err != nil {
		return nil, err
	}
	s.srv, s.Addr, s.HostKey = srv, srv.Addr, srv.HostKey
	return s, nil
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.srv.Port() }

// Close stops the listener and every session, and waits for them.
func (s *Server) Close() error { return s.srv.Close() }

// LoadProfile returns the command outputs of a testdata profile, keyed by
// command ("show interfaces | json"). File names encode the command:
// spaces become "_" and " | " becomes "__".
func LoadProfile(profile string) (map[string]string, error) {
	ents, err := testdata.ReadDir("testdata/" + profile)
	if err != nil {
		return nil, fmt.Errorf("sshtest: profile %q: %w", profile, err)
	}
	m := map[string]string{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		b, err := testdata.ReadFile("testdata/" + profile + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		m[FileCommand(name)] = string(b)
	}
	return m, nil
}

// FileCommand turns a testdata file name (without .txt) into its command.
func FileCommand(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "__", " | "), "_", " ")
}

// ReadTestdata reads one file of the embedded testdata (golden tests of
// the parsers use the same files as the emulator).
func ReadTestdata(path string) ([]byte, error) { return testdata.ReadFile("testdata/" + path) }
