// Package sshtest is an in-process SSH server that emulates the CLI of
// Cisco IOS-XE, NX-OS, IOS-XR, Arista EOS and Juniper Junos, like
// net/http/httptest for HTTP: login banner, user and enable prompts,
// paging until it is turned off, per-command outputs from testdata,
// "% Invalid input" for unknown commands, and fault modes (slow output,
// stall after login, garbage, per-command delay) for timeout tests and
// benchmarks. It listens on loopback only.
package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xssh "golang.org/x/crypto/ssh"
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

	dev    Device
	cmds   map[string]string
	ln     net.Listener
	cfg    *xssh.ServerConfig
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed chan struct{}
	wg     sync.WaitGroup
	cmdN   atomic.Int64
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
	if dev.HostKey == nil {
		_, pk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if dev.HostKey, err = xssh.NewSignerFromKey(pk); err != nil {
			return nil, err
		}
	}
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sshtest: %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), HostKey: dev.HostKey.PublicKey(), dev: dev, cmds: cmds, ln: ln,
		conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
	s.cfg = &xssh.ServerConfig{ServerVersion: "SSH-2.0-Cisco-1.25"}
	if dev.Password != "" {
		s.cfg.PasswordCallback = func(c xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			if c.User() == dev.Username && string(pw) == dev.Password {
				return nil, nil
			}
			return nil, errors.New("denied")
		}
	}
	if len(dev.AuthorizedKeys) > 0 {
		s.cfg.PublicKeyCallback = func(c xssh.ConnMetadata, k xssh.PublicKey) (*xssh.Permissions, error) {
			for _, a := range dev.AuthorizedKeys {
				if c.User() == dev.Username && bytes.Equal(a.Marshal(), k.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("denied")
		}
	}
	s.cfg.AddHostKey(dev.HostKey)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the listener and every session, and waits for them.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *Server) serveConn(nc net.Conn) {
	sc, chans, reqs, err := xssh.NewServerConn(nc, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go xssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(xssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer ch.Close()
			for req := range creqs {
				switch req.Type {
				case "pty-req", "env", "window-change":
					req.Reply(true, nil)
				case "shell":
					req.Reply(true, nil)
					go func() {
						for r := range creqs {
							r.Reply(false, nil)
						}
					}()
					s.shell(ch)
					ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
					return
				default:
					req.Reply(false, nil)
				}
			}
		}()
	}
}

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
