// Package sshserver is the SSH plumbing shared by the in-process test
// peers (drivers/ssh/sshtest, drivers/netconf/netconftest): a loopback
// listener, password and public-key auth for one user, a host key, and
// one goroutine per session channel, all stopped and awaited by Close.
// What runs inside a session (a CLI shell, a NETCONF subsystem) is the
// caller's.
package sshserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"

	xssh "golang.org/x/crypto/ssh"
)

// Config is one server.
type Config struct {
	// Name prefixes errors ("sshtest", "netconftest").
	Name          string
	ServerVersion string // "" = x/crypto's default
	Username      string
	Password      string // "" disables password auth
	// AuthorizedKeys are accepted for public-key auth of Username.
	AuthorizedKeys []xssh.PublicKey
	HostKey        xssh.Signer // nil: a fresh ed25519 key
	// Request answers each request on a session channel before the
	// session starts: ok is the reply; start runs Session on the channel
	// (later requests are refused). sshtest starts on "shell", netconftest
	// on the "netconf" subsystem.
	Request func(typ string, payload []byte) (ok, start bool)
	// Session serves one started channel; closed is closed by Close, so
	// pauses can end early. The channel is closed after it returns.
	Session func(ch xssh.Channel, closed <-chan struct{})
}

// Server is a running listener.
type Server struct {
	Addr    string // host:port
	HostKey xssh.PublicKey

	c      Config
	ln     net.Listener
	cfg    *xssh.ServerConfig
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed chan struct{}
	wg     sync.WaitGroup
}

// NewHostKey returns a fresh ed25519 host key.
func NewHostKey() (xssh.Signer, error) {
	_, pk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return xssh.NewSignerFromKey(pk)
}

// Start listens on addr, which must be a loopback address (test peers
// never listen elsewhere), and serves until Close.
func Start(addr string, c Config) (*Server, error) {
	if c.Request == nil || c.Session == nil {
		return nil, fmt.Errorf("%s: sshserver needs Request and Session", c.Name)
	}
	if c.HostKey == nil {
		k, err := NewHostKey()
		if err != nil {
			return nil, err
		}
		c.HostKey = k
	}
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: %s is not a loopback address", c.Name, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), HostKey: c.HostKey.PublicKey(), c: c, ln: ln,
		conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
	s.cfg = &xssh.ServerConfig{ServerVersion: c.ServerVersion}
	if c.Password != "" {
		s.cfg.PasswordCallback = func(m xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			if m.User() == c.Username && string(pw) == c.Password {
				return nil, nil
			}
			return nil, errors.New("denied")
		}
	}
	if len(c.AuthorizedKeys) > 0 {
		s.cfg.PublicKeyCallback = func(m xssh.ConnMetadata, k xssh.PublicKey) (*xssh.Permissions, error) {
			for _, a := range c.AuthorizedKeys {
				if m.User() == c.Username && bytes.Equal(a.Marshal(), k.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("denied")
		}
	}
	if s.cfg.PasswordCallback == nil && s.cfg.PublicKeyCallback == nil {
		// no credential configured: every login fails at authentication
		s.cfg.PasswordCallback = func(xssh.ConnMetadata, []byte) (*xssh.Permissions, error) {
			return nil, errors.New("denied")
		}
	}
	s.cfg.AddHostKey(c.HostKey)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Closed is closed when Close starts.
func (s *Server) Closed() <-chan struct{} { return s.closed }

// Close stops the listener and every connection, and waits for the
// sessions to return.
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
				ok, start := s.c.Request(req.Type, req.Payload)
				req.Reply(ok, nil)
				if !start {
					continue
				}
				go func() {
					for r := range creqs {
						r.Reply(false, nil)
					}
				}()
				s.c.Session(ch, s.closed)
				ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
				return
			}
		}()
	}
}
