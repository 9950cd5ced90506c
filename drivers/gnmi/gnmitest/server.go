// Package gnmitest runs in-process gNMI targets serving OpenConfig trees
// of several vendor flavours, like net/http/httptest: for the gnmi driver's
// tests and benchmarks and for the device-lab demo.
//
// The gNMI service is gnmic's pkg/api/server (handlers, per-RPC timeout).
// Its Start listens on an address it never reports and cannot be stopped,
// so the service is registered on our own grpc.Server and listener
// instead: the port is known (127.0.0.1:0) and Close stops everything.
package gnmitest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Options configure one target.
type Options struct {
	Flavour Flavour
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
	// Username/Password, when set, are required in every RPC's metadata.
	Username, Password string
	// TLS serves TLS with a certificate from a fresh CA (Server.CAFile);
	// MutualTLS also requires a client certificate from that CA
	// (Server.ClientCertFile/ClientKeyFile). Neither: plaintext.
	TLS, MutualTLS bool
	// UnimplementedGet leaves Get unimplemented (Capabilities still works).
	UnimplementedGet bool
	// Hang makes every RPC block until the client gives up.
	Hang bool
}

// Server is a running target.
type Server struct {
	Addr string // host:port
	Host string
	Port int
	// PEM files, in a temporary directory removed by Close.
	CAFile, ClientCertFile, ClientKeyFile string

	opts Options
	gs   *grpc.Server
	dir  string
	done chan struct{}

	mu       sync.Mutex
	requests []string // "Capabilities" or "Get ENCODING /path", as received
}

// Start serves one target until Close.
func Start(opts Options) (*Server, error) {
	if opts.Flavour.Tree == nil {
		return nil, errors.New("gnmitest: no flavour")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := &Server{opts: opts, done: make(chan struct{})}
	var gopts []grpc.ServerOption
	if opts.TLS || opts.MutualTLS {
		dir, err := os.MkdirTemp("", "gnmitest-")
		if err != nil {
			return nil, err
		}
		s.dir = dir
		host, _, _ := net.SplitHostPort(opts.Addr)
		pki, err := newPKI(dir, host)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		s.CAFile, s.ClientCertFile, s.ClientKeyFile = pki.caFile, pki.clientCert, pki.clientKey
		cfg := &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
		if opts.MutualTLS {
			pool := x509.NewCertPool()
			pool.AddCert(pki.ca)
			cfg.ClientCAs = pool
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(cfg)))
	}

	// gnmic's server: the Config's Address is required by New but unused
	// here, since we serve it on our own listener.
	svcOpts := []server.Option{
		server.WithLogger(log.New(discard{}, "", 0)),
		server.WithCapabilitiesHandler(s.capabilities),
	}
	if !opts.UnimplementedGet {
		svcOpts = append(svcOpts, server.WithGetHandler(s.get))
	}
	svc, err := server.New(server.Config{Address: opts.Addr, Timeout: time.Minute}, svcOpts...)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	s.gs = grpc.NewServer(gopts...)
	gnmi.RegisterGNMIServer(s.gs, svc)
	s.Addr = l.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go func() {
		defer close(s.done)
		_ = s.gs.Serve(l)
	}()
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Close stops the server (ending hanging RPCs) and removes its files.
func (s *Server) Close() {
	s.gs.Stop()
	<-s.done
	s.cleanup()
}

func (s *Server) cleanup() {
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Requests lists the RPCs received so far, before any check (credentials
// included): "Capabilities" or "Get ENCODING /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) record(r string) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
}

func (s *Server) auth(ctx context.Context) error {
	if s.opts.Hang {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	if s.opts.Username == "" && s.opts.Password == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if first(md.Get("username")) != s.opts.Username || first(md.Get("password")) != s.opts.Password {
		return status.Error(codes.Unauthenticated, "authentication failed")
	}
	return nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (s *Server) capabilities(ctx context.Context, _ *gnmi.CapabilityRequest) (*gnmi.CapabilityResponse, error) {
	s.record("Capabilities")
	if err := s.auth(ctx); err != nil {
		return nil, err
	}
	return &gnmi.CapabilityResponse{
		SupportedModels:    s.opts.Flavour.Models,
		SupportedEncodings: s.opts.Flavour.Advertised,
		GNMIVersion:        "0.10.0",
	}, nil
}

func (s *Server) get(ctx context.Context, req *gnmi.GetRequest) (*gnmi.GetResponse, error) {
	for _, p := range req.GetPath() {
		s.record("Get " + req.GetEncoding().String() + " " + pathString(p))
	}
	if err := s.auth(ctx); err != nil {
		return nil, err
	}
	f := s.opts.Flavour
	accepted := f.Accepted
	if accepted == nil {
		accepted = f.Advertised
	}
	if !slices.Contains(accepted, req.GetEncoding()) {
		code := codes.InvalidArgument
		if f.EncodingError == "unimplemented" {
			code = codes.Unimplemented
		}
		return nil, status.Errorf(code, "unsupported encoding %s", req.GetEncoding())
	}
	n := &gnmi.Notification{Timestamp: time.Now().UnixNano(), Prefix: req.GetPrefix()}
	for _, p := range req.GetPath() {
		found := find(f.Tree, p.GetElem(), nil, "", f.Style)
		if len(found) == 0 {
			code := codes.NotFound
			if f.MissingPathError == "invalid-argument" {
				code = codes.InvalidArgument
			}
			return nil, status.Errorf(code, "path %s not found", pathString(p))
		}
		for _, m := range found {
			path, val := m.path, m.value
			if f.Style == Container && len(path) > 0 {
				val = map[string]any{m.key: val}
				path = path[:len(path)-1]
			}
			b, err := json.Marshal(val)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "marshal: %v", err)
			}
			tv := &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonVal{JsonVal: b}}
			if req.GetEncoding() == gnmi.Encoding_JSON_IETF {
				tv = &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: b}}
			}
			n.Update = append(n.Update, &gnmi.Update{Path: &gnmi.Path{Elem: path}, Val: tv})
		}
	}
	return &gnmi.GetResponse{Notification: []*gnmi.Notification{n}}, nil
}

func pathString(p *gnmi.Path) string {
	s := ""
	for _, e := range p.GetElem() {
		s += "/" + e.GetName()
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s += fmt.Sprintf("[%s=%s]", k, e.GetKey()[k])
		}
	}
	if s == "" {
		return "/"
	}
	return s
}

// Demo starts two targets on 127.0.0.1 (an EOS-like one requiring
// credentials and a Junos-like one), plaintext, and returns a
// gnmi_discovery policy body that discovers both.
func Demo(ctx context.Context) (policyYAML string, stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	const user, pass = "orbd", "orbd-demo-pass"
	a, err := Start(Options{Flavour: Arista(), Username: user, Password: pass})
	if err != nil {
		return "", nil, err
	}
	j, err := Start(Options{Flavour: Junos(), Username: user, Password: pass})
	if err != nil {
		a.Close()
		return "", nil, err
	}
	policyYAML = fmt.Sprintf(`config:
  timeout: 30
scope:
  targets:
    - host: %s
      port: %d
      username: %s
      password: %s
      tls: {insecure: true}
    - host: %s
      port: %d
      username: %s
      password: %s
      tls: {insecure: true}
`, a.Host, a.Port, user, pass, j.Host, j.Port, user, pass)
	return policyYAML, func() { a.Close(); j.Close() }, nil
}
