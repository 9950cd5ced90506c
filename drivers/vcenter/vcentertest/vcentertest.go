// Package vcentertest runs the govmomi vCenter simulator in-process on a
// loopback port with TLS and fixed credentials, for tests, benchmarks and
// the device-lab demo, like net/http/httptest.
package vcentertest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi/simulator"
)

// Demo credentials: the simulator is loopback-only and lives for one test.
const (
	DefaultUsername = "orbd"
	DefaultPassword = "orbd-demo-pass"
)

// Server is a running simulator.
type Server struct {
	Model *simulator.Model
	// URL is the SDK endpoint (https://127.0.0.1:PORT/sdk) without userinfo.
	URL      *url.URL
	Username string
	Password string
	// CAFile is a PEM file holding the server's self-signed certificate;
	// it is removed by Close.
	CAFile string

	srv *simulator.Server
}

// Start creates m (simulator.VPX() when nil), and serves it over TLS on
// 127.0.0.1 accepting only username/password (defaults when empty).
func Start(m *simulator.Model, username, password string) (*Server, error) {
	if m == nil {
		m = simulator.VPX()
	}
	if username == "" {
		username, password = DefaultUsername, DefaultPassword
	}
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("vcentertest: create model: %w", err)
	}
	m.Service.TLS = new(tls.Config) // httptest's certificate, valid for 127.0.0.1
	// Credentials other than vcsim's user:pass make the simulator check them.
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(username, password)}
	srv := m.Service.NewServer()
	ca, err := srv.CertificateFile()
	if err != nil {
		srv.Close()
		m.Remove()
		return nil, fmt.Errorf("vcentertest: certificate file: %w", err)
	}
	u := *srv.URL
	u.User = nil
	return &Server{Model: m, URL: &u, Username: username, Password: password, CAFile: ca, srv: srv}, nil
}

// Service is the simulator's service, for fault injection rules.
func (s *Server) Service() *simulator.Service { return s.Model.Service }

// Close stops the server and removes the model's temporary files.
func (s *Server) Close() {
	s.srv.Close()
	s.Model.Remove()
}

// Demo starts the default VPX model (1 datacenter, cluster DC0_C0 with 3
// hosts, 1 standalone host, 4 VMs) and returns a vcenter_discovery policy
// body that discovers it. The policy names a site: NetBox takes a VM only
// with a site or a cluster, and the standalone host's VMs have no cluster.
func Demo(ctx context.Context) (policyYAML string, stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	s, err := Start(nil, "", "")
	if err != nil {
		return "", nil, err
	}
	policyYAML = fmt.Sprintf(`config:
  timeout: 60
  defaults:
    site: vcenter-lab
scope:
  url: %s
  username: %s
  password: %s
  insecure: true
`, s.URL, s.Username, s.Password)
	return policyYAML, s.Close, nil
}
