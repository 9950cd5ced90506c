// Package diodetest is an in-process Diode-compatible receiver for tests and
// the demo lab. One loopback port serves both the gRPC IngesterService and
// the OAuth2 token endpoint `POST <prefix>/auth/token`, over TLS with a
// generated CA (CAPEM) or plaintext (WithPlaintext), under an optional path
// prefix the way NetBox Cloud's edge does it. gRPC reflection is registered
// so `orbd doctor` can list services.
//
// It records every request it ingests, runs Validate() on each (failures are
// recorded and answered InvalidArgument, as the real server does), checks
// client credentials and token expiry, and injects faults on demand:
// FailNext (Unavailable, ResourceExhausted…), UnauthenticatedOnce,
// ExpireTokens, SetDelay, DropNext (close the connection after ingesting:
// a lost acknowledgement), and Down/Up (stop listening, restart on the same
// port).
//
//	srv, err := diodetest.New(diodetest.WithPrefix("/diode"))
//	defer srv.Close()
//	cfg.Target = srv.URL()          // grpcs://127.0.0.1:PORT/diode
//	os.WriteFile(caFile, srv.CAPEM(), 0o600)
//
// Demo starts a plaintext receiver with fixed credentials for `orbd demo`.
package diodetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Default credentials the receiver accepts unless WithCredentials is given.
const (
	DefaultClientID     = "orbd-test"
	DefaultClientSecret = "orbd-test-secret"
)

type options struct {
	plaintext     bool
	prefix        string
	clientID      string
	clientSecret  string
	tokenTTL      time.Duration
	addr          string
	maxTLSVersion uint16
	noReflection  bool
}

// Option configures New.
type Option func(*options)

// WithPlaintext serves h2c (grpc:// and http://) instead of TLS.
func WithPlaintext() Option { return func(o *options) { o.plaintext = true } }

// WithPrefix serves under a path prefix such as "/diode".
func WithPrefix(p string) Option {
	return func(o *options) { o.prefix = "/" + strings.Trim(p, "/") }
}

// WithCredentials sets the accepted client id and secret.
func WithCredentials(id, secret string) Option {
	return func(o *options) { o.clientID, o.clientSecret = id, secret }
}

// WithTokenTTL sets expires_in of issued tokens (default 1h).
func WithTokenTTL(d time.Duration) Option { return func(o *options) { o.tokenTTL = d } }

// WithAddr listens on addr instead of 127.0.0.1:0.
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithMaxTLSVersion caps the server's TLS version (and lowers its minimum to
// TLS 1.0), to test that clients refuse old servers.
func WithMaxTLSVersion(v uint16) Option { return func(o *options) { o.maxTLSVersion = v } }

// WithoutReflection does not register gRPC reflection (like an edge that
// does not expose it).
func WithoutReflection() Option { return func(o *options) { o.noReflection = true } }

// Attempt is one Ingest call as the server saw it.
type Attempt struct {
	ID       string
	Entities int
	Code     codes.Code // what the server answered (OK for dropped ones too: they were ingested)
	Dropped  bool       // connection closed after ingest: the client never got the answer
}

// Server is the receiver.
type Server struct {
	diodepb.UnimplementedIngesterServiceServer
	o       options
	caPEM   []byte
	tlsConf *tls.Config
	grpc    *grpc.Server
	handler http.Handler

	mu         sync.Mutex
	addr       string
	hs         *http.Server
	up         bool
	reqs       []*diodepb.IngestRequest
	attempts   []Attempt
	invalid    []error
	tokens     map[string]time.Time
	tokenReqs  int
	tokenFails int
	unauthAns  int
	failNext   []codes.Code
	unauthNext int
	dropNext   int
	delay      time.Duration
	rejectNext []string
	served     sync.WaitGroup
}

type connKey struct{}

// New starts a receiver on a free loopback port.
func New(opts ...Option) (*Server, error) {
	o := options{clientID: DefaultClientID, clientSecret: DefaultClientSecret, tokenTTL: time.Hour, addr: "127.0.0.1:0"}
	for _, f := range opts {
		f(&o)
	}
	s := &Server{o: o, tokens: map[string]time.Time{}}
	if !o.plaintext {
		if err := s.makeCerts(); err != nil {
			return nil, fmt.Errorf("diodetest: certificates: %w", err)
		}
	}
	s.grpc = grpc.NewServer()
	diodepb.RegisterIngesterServiceServer(s.grpc, s)
	if !o.noReflection {
		reflection.Register(s.grpc)
	}
	s.handler = http.HandlerFunc(s.route)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("diodetest: listen %s: %w", o.addr, err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
		ErrorLog:          log.New(io.Discard, "", 0), // TLS handshake failures are the point of some tests
	}
	var p http.Protocols
	p.SetHTTP1(true)
	if s.o.plaintext {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP2(true)
		hs.TLSConfig = s.tlsConf
		ln = tls.NewListener(ln, s.tlsConf)
	}
	hs.Protocols = &p
	s.hs = hs
	s.up = true
	s.served.Add(1)
	go func() {
		defer s.served.Done()
		_ = hs.Serve(ln) // returns on Close/Down
	}()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if s.o.prefix != "" {
		if !strings.HasPrefix(path, s.o.prefix+"/") {
			http.Error(w, "no such path (prefix "+s.o.prefix+")", http.StatusNotFound)
			return
		}
		path = strings.TrimPrefix(path, s.o.prefix)
	}
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		r.URL.Path = path
		s.grpc.ServeHTTP(w, r)
		return
	}
	if path == "/auth/token" {
		s.token(w, r)
		return
	}
	http.NotFound(w, r)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int, e string) {
		s.mu.Lock()
		s.tokenFails++
		s.mu.Unlock()
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsec, ok := r.BasicAuth(); ok {
		id, secret = bid, bsec
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.o.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.o.clientSecret)) != 1 {
		fail(http.StatusUnauthorized, "invalid_client")
		return
	}
	if !strings.Contains(" "+r.PostForm.Get("scope")+" ", " diode:ingest ") {
		fail(http.StatusBadRequest, "invalid_scope")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.o.tokenTTL)
	s.tokenReqs++
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(s.o.tokenTTL / time.Second),
	})
}

// Ingest implements diodepb.IngesterServiceServer.
func (s *Server) Ingest(ctx context.Context, req *diodepb.IngestRequest) (*diodepb.IngestResponse, error) {
	s.mu.Lock()
	a := Attempt{ID: req.GetId(), Entities: len(req.GetEntities())}
	code, msg := s.admit(ctx, req)
	if code != codes.OK {
		a.Code = code
		s.attempts = append(s.attempts, a)
		s.mu.Unlock()
		return nil, status.Error(code, msg)
	}
	delay := s.delay
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			s.mu.Lock()
			a.Code = codes.DeadlineExceeded
			s.attempts = append(s.attempts, a)
			s.mu.Unlock()
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}

	s.mu.Lock()
	s.reqs = append(s.reqs, proto.Clone(req).(*diodepb.IngestRequest))
	resp := &diodepb.IngestResponse{}
	if len(s.rejectNext) > 0 {
		resp.Errors, s.rejectNext = s.rejectNext, nil
	}
	drop := s.dropNext > 0
	if drop {
		s.dropNext--
	}
	a.Dropped = drop
	s.attempts = append(s.attempts, a)
	s.mu.Unlock()

	if drop {
		// The request is ingested, the answer never leaves: a lost ack.
		if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
			c.Close()
		}
		return nil, status.Error(codes.Unavailable, "diodetest: connection dropped")
	}
	return resp, nil
}

// admit applies auth, injected faults and validation; s.mu is held.
func (s *Server) admit(ctx context.Context, req *diodepb.IngestRequest) (codes.Code, string) {
	md, _ := metadata.FromIncomingContext(ctx)
	var tok string
	if v := md.Get("authorization"); len(v) > 0 {
		tok = strings.TrimPrefix(v[0], "Bearer ")
	}
	exp, known := s.tokens[tok]
	switch {
	case s.unauthNext > 0:
		s.unauthNext--
		s.unauthAns++
		return codes.Unauthenticated, "diodetest: token rejected (injected)"
	case !known:
		s.unauthAns++
		return codes.Unauthenticated, "missing or unknown bearer token"
	case time.Now().After(exp):
		s.unauthAns++
		return codes.Unauthenticated, "token expired"
	}
	if len(s.failNext) > 0 {
		c := s.failNext[0]
		s.failNext = s.failNext[1:]
		return c, "diodetest: injected " + c.String()
	}
	if err := req.Validate(); err != nil {
		s.invalid = append(s.invalid, err)
		return codes.InvalidArgument, err.Error()
	}
	return codes.OK, ""
}

// FailNext answers the next n Ingest calls (after auth) with code.
func (s *Server) FailNext(code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, code)
	}
}

// UnauthenticatedOnce rejects the token of the next call; each further
// call of it rejects one more.
func (s *Server) UnauthenticatedOnce() {
	s.mu.Lock()
	s.unauthNext++
	s.mu.Unlock()
}

// ExpireTokens makes every token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// SetDelay slows every answer down by d (0 turns it off).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// DropNext ingests the next n requests and then closes the connection
// instead of answering.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	s.dropNext += n
	s.mu.Unlock()
}

// RejectEntitiesNext makes the next accepted request answer with these
// per-entity errors (a partial rejection).
func (s *Server) RejectEntitiesNext(errs ...string) {
	s.mu.Lock()
	s.rejectNext = errs
	s.mu.Unlock()
}

// Down stops listening and closes every connection; Up restarts on the
// same port.
func (s *Server) Down() {
	s.mu.Lock()
	hs, up := s.hs, s.up
	s.up = false
	s.mu.Unlock()
	if up {
		hs.Close()
		s.served.Wait()
	}
}

// Up listens again on the same address after Down.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("diodetest: relisten %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the receiver.
func (s *Server) Close() {
	s.Down()
	s.grpc.Stop()
}

// Requests returns every request ingested (including those whose answer was
// dropped), in arrival order.
func (s *Server) Requests() []*diodepb.IngestRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*diodepb.IngestRequest(nil), s.reqs...)
}

// Entities returns the entities of Requests, flattened in order.
func (s *Server) Entities() []*diodepb.Entity {
	var out []*diodepb.Entity
	for _, r := range s.Requests() {
		out = append(out, r.GetEntities()...)
	}
	return out
}

// Attempts returns every Ingest call and how it was answered.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.attempts...)
}

// ValidationErrors returns the Validate() failures of received requests.
func (s *Server) ValidationErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.invalid...)
}

// TokenRequests counts tokens issued; TokenFailures refused token requests.
func (s *Server) TokenRequests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenReqs }

// TokenFailures counts refused token requests.
func (s *Server) TokenFailures() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenFails }

// Unauthenticated counts calls answered Unauthenticated.
func (s *Server) Unauthenticated() int { s.mu.Lock(); defer s.mu.Unlock(); return s.unauthAns }

// Addr is host:port (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.addr }

// Port is the listening port.
func (s *Server) Port() string { _, p, _ := net.SplitHostPort(s.addr); return p }

// URL is the Diode target: grpc[s]://127.0.0.1:PORT[/prefix].
func (s *Server) URL() string { return s.URLFor("127.0.0.1") }

// URLFor is the target with another host name (e.g. "localhost", so a proxy
// log shows the name).
func (s *Server) URLFor(host string) string {
	scheme := "grpcs"
	if s.o.plaintext {
		scheme = "grpc"
	}
	return scheme + "://" + net.JoinHostPort(host, s.Port()) + s.o.prefix
}

// CAPEM is the PEM of the CA that signed the server certificate (nil when
// plaintext).
func (s *Server) CAPEM() []byte { return s.caPEM }

func (s *Server) makeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "diodetest CA", Organization: []string{"orbd test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "diodetest receiver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.tlsConf = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if s.o.maxTLSVersion != 0 {
		s.tlsConf.MinVersion = tls.VersionTLS10
		s.tlsConf.MaxVersion = s.o.maxTLSVersion
	}
	return nil
}

// EntityKind names the object an entity carries ("device", "interface"…).
func EntityKind(e *diodepb.Entity) string {
	m := e.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("entity")
	if od == nil {
		return "unknown"
	}
	if fd := m.WhichOneof(od); fd != nil {
		return string(fd.Name())
	}
	return "none"
}

// Demo credentials, for the demo policy file.
const (
	DemoClientID     = "orbd-demo"
	DemoClientSecret = "orbd-demo-secret"
	DemoPrefix       = "/diode"
)

// Demo starts a plaintext receiver under DemoPrefix accepting
// DemoClientID/DemoClientSecret. printSummary writes what arrived, per
// entity kind; stop (also called when ctx ends) shuts it down.
func Demo(ctx context.Context) (target string, printSummary func(io.Writer), stop func(), err error) {
	s, err := New(WithPlaintext(), WithPrefix(DemoPrefix), WithCredentials(DemoClientID, DemoClientSecret))
	if err != nil {
		return "", nil, nil, err
	}
	var once sync.Once
	stop = func() { once.Do(s.Close) }
	go func() {
		<-ctx.Done()
		stop()
	}()
	return s.URL(), s.PrintSummary, stop, nil
}

// PrintSummary writes received requests and entities per kind.
func (s *Server) PrintSummary(w io.Writer) {
	reqs := s.Requests()
	kinds := map[string]int{}
	total := 0
	for _, r := range reqs {
		for _, e := range r.GetEntities() {
			kinds[EntityKind(e)]++
			total++
		}
	}
	fmt.Fprintf(w, "Diode receiver %s: %d requests, %d entities\n", s.URL(), len(reqs), total)
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %-20s %d\n", k, kinds[k])
	}
	if inv := s.ValidationErrors(); len(inv) > 0 {
		fmt.Fprintf(w, "  rejected by Validate(): %d requests (first: %v)\n", len(inv), inv[0])
	}
}
