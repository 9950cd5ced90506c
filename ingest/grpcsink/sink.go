// Package grpcsink delivers IngestRequests to Diode (NetBox Cloud or
// self-hosted) over gRPC, implementing ingest.Sink.
//
// Send only appends the request to the durable spool (ingest/spool) and
// wakes the sender; a background sender replays the spool in order over one
// grpc.ClientConn and removes a request only after Diode answered it, so
// nothing is lost across outages, restarts or kill -9 (at-least-once).
//
//	sink, err := grpcsink.New(cfg.Diode, grpcsink.Options{Logger: log, Registry: reg, Version: version})
//	sink.Start(ctx)                 // optional: Send starts it lazily
//	pipeline := ingest.NewPipeline(sink, …)
//	…
//	sink.Close(shutdownCtx)         // drains until ctx ends; the rest waits in the spool
//	sink.Status()                   // JSON-able delivery health for /api/v1/status
//
// Addressing, TLS (≥1.2, system roots + ca_file), OAuth2 client credentials
// (token cached, refreshed a minute before expiry, one re-auth on
// Unauthenticated), the proxy (explicit `proxy:` applies to everything,
// loopback included, via HTTP CONNECT carrying the target name; otherwise
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY) are resolved by ResolveEndpoint and
// ProxyDialer, which `orbd doctor` reuses. On Linux, proxy tunnels re-arm
// TCP_QUICKACK so a proxy relaying with Nagle on does not stall every
// answer by a delayed-ACK timeout (quickack_linux.go).
//
// Retries: Unavailable, ResourceExhausted, DeadlineExceeded, Internal,
// connection and token errors back off exponentially with jitter (capped
// at 30s) and are retried forever; the request stays spooled. InvalidArgument,
// OutOfRange and FailedPrecondition mean the request itself is bad: it is
// logged at ERROR, counted as rejected and removed. IngestResponse.errors
// (per-entity rejections) are logged and counted, not resent.
package grpcsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/ingest/spool"
	"github.com/orbd/orbd/policies"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Options are the injected dependencies; all optional.
type Options struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Version  string // orbd version, for the user agent
	// Spool to use; nil opens cfg.SpoolDir (closed again by Close).
	Spool *spool.Spool
	// Dial opens raw TCP connections (to Diode or the proxy); tests only.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Now  func() time.Time
	// Getenv reads DIODE_* and proxy variables; nil = os.Getenv.
	Getenv func(string) string

	CallTimeout        time.Duration // per Ingest call and token request; default 30s
	BackoffBase        time.Duration // default 500ms
	BackoffMax         time.Duration // default 30s
	TokenRefreshMargin time.Duration // default 1m
}

// Status is the delivery health shown by /api/v1/status.
type Status struct {
	Target             string     `json:"target"`
	Proxy              string     `json:"proxy,omitempty"` // password redacted
	ProxyFromEnv       bool       `json:"proxy_from_env,omitempty"`
	Connected          bool       `json:"connected"`
	LastSuccess        *time.Time `json:"last_success,omitempty"`
	LastError          string     `json:"last_error,omitempty"`
	LastErrorAt        *time.Time `json:"last_error_at,omitempty"`
	SpoolRequests      int64      `json:"spool_requests"`
	SpoolEntities      int64      `json:"spool_entities"`
	SpoolBytes         int64      `json:"spool_bytes"`
	RequestsOK         int64      `json:"requests_ok"`
	RequestsFailed     int64      `json:"requests_failed"`
	RequestsRejected   int64      `json:"requests_rejected"`
	Retries            int64      `json:"retries"`
	EntitiesSent       int64      `json:"entities_sent"`
	RejectedEntities   int64      `json:"rejected_entities"`
	ResentAfterLostAck int64      `json:"resent_after_lost_ack"`
	TokenRefreshes     int64      `json:"token_refreshes"`
}

// Sink implements ingest.Sink.
type Sink struct {
	ep        *Endpoint
	o         Options
	log       *slog.Logger
	spool     *spool.Spool
	ownSpool  bool
	conn      *grpc.ClientConn
	client    diodepb.IngesterServiceClient
	tokens    *TokenClient
	m         metrics
	wake      chan struct{}
	drain     chan struct{}
	done      chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
	cancel    context.CancelFunc
	closed    atomic.Bool

	mu          sync.Mutex
	lastSuccess time.Time
	lastErr     string
	lastErrAt   time.Time
	c           counters
}

type counters struct {
	ok, failed, rejected, retries, sent, rejectedEnts, resent, refreshes int64
}

var _ ingest.Sink = (*Sink)(nil)

// New resolves the endpoint, opens the spool (unless given) and prepares
// the connection; nothing is dialled until the first call.
func New(cfg policies.DiodeConfig, o Options) (*Sink, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.TokenRefreshMargin <= 0 {
		o.TokenRefreshMargin = time.Minute
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	ep, err := ResolveEndpoint(cfg, o.Getenv)
	if err != nil {
		return nil, err
	}
	s := &Sink{ep: ep, o: o, log: o.Logger.With("diode_target", ep.Target), wake: make(chan struct{}, 1),
		drain: make(chan struct{}), done: make(chan struct{})}
	s.m = newMetrics(o.Registry)
	if ep.Proxy != nil {
		s.log = s.log.With("proxy", ep.ProxyString())
	}
	// Warned here, not at the lazy Start, so every agent start says it
	// even before (or without) a first delivery.
	if ep.SkipVerify {
		s.log.Warn("TLS certificate verification is DISABLED for Diode (skip_tls_verify / DIODE_SKIP_TLS_VERIFY): traffic can be intercepted")
	}

	dialer := ep.Dialer()
	dialer.Dial = o.Dial
	conn, err := NewConn(ep, dialer,
		grpc.WithStatsHandler(traceHandler{}),
		grpc.WithUserAgent("orbd/"+o.Version),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: o.BackoffBase, Multiplier: 1.6, Jitter: 0.2, MaxDelay: o.BackoffMax},
			MinConnectTimeout: o.CallTimeout,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("diode target %s: %w", ep.Target, err)
	}
	s.conn = conn
	s.client = diodepb.NewIngesterServiceClient(conn)
	s.tokens = NewTokenClient(ep, dialer, o.CallTimeout, o.TokenRefreshMargin, o.Now)

	s.spool = o.Spool
	if s.spool == nil {
		sp, err := spool.Open(cfg.SpoolDir, cfg.SpoolMaxBytes, o.Logger, o.Registry)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("diode: %w", err)
		}
		s.spool, s.ownSpool = sp, true
	}
	return s, nil
}

// NewConn creates (without dialling) the one ClientConn to the endpoint:
// TLS or plaintext per scheme, connections through dialer (so the proxy
// resolves the target name), and the path prefix prepended to every method.
func NewConn(ep *Endpoint, dialer *ProxyDialer, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if ep.TLS {
		creds = credentials.NewTLS(ep.TLSConfig.Clone())
	}
	prefix := ep.Prefix
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		}),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(ctx, prefix+method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, prefix+method, opts...)
		}),
	}
	// passthrough hands the NAME to the dialer: with a proxy, the proxy
	// resolves it.
	return grpc.NewClient("passthrough:///"+ep.Addr(), append(opts, extra...)...)
}

// Endpoint exposes the resolved addressing (for logs and doctor).
func (s *Sink) Endpoint() *Endpoint { return s.ep }

// Send validates req and appends it durably to the spool; delivery happens
// in the background. A nil return means the request survives a crash.
func (s *Sink) Send(ctx context.Context, req *diodepb.IngestRequest) error {
	if s.closed.Load() {
		return errors.New("diode sink: send after Close")
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("diode sink: request %s does not pass Validate: %w", req.GetId(), err)
	}
	// Validate bounds the entity count, not the size; the server's 4 MiB
	// receive limit would refuse it on every retry, so it never enters the spool.
	if size := proto.Size(req); size >= ingest.MaxRequestBytes {
		return fmt.Errorf("diode sink: request %s is %d bytes, over the %d-byte limit per request (split it into smaller batches)", req.GetId(), size, ingest.MaxRequestBytes)
	}
	if err := s.spool.Append(ctx, req); err != nil {
		return fmt.Errorf("diode sink: %w", err)
	}
	s.Start(context.WithoutCancel(ctx))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Start runs the sender until Close (or ctx ends). Calling it again is a
// no-op; Send calls it lazily.
func (s *Sink) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		ctx, s.cancel = context.WithCancel(ctx)
		recs, ents, _ := s.spool.Depth()
		s.log.Info("diode sender started", "pending_requests", recs, "pending_entities", ents)
		go s.run(ctx)
	})
}

// Close drains the spool until ctx is done, then stops the sender and
// closes the connection; whatever is left stays spooled for the next start.
func (s *Sink) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if recs, _, _ := s.spool.Depth(); recs > 0 {
			s.Start(context.WithoutCancel(ctx))
		}
		close(s.drain)
		s.startOnce.Do(func() { close(s.done) }) // never started: nothing to wait for
		select {
		case <-s.done:
		case <-ctx.Done():
			if recs, ents, _ := s.spool.Depth(); recs > 0 {
				s.log.Warn("diode sink closing with undelivered requests; they stay in the spool for the next start", "requests", recs, "entities", ents)
			}
		}
		if s.cancel != nil {
			s.cancel()
		}
		<-s.done
		s.tokens.CloseIdle()
		err = s.conn.Close()
		if s.ownSpool {
			if cerr := s.spool.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

func (s *Sink) run(ctx context.Context) {
	defer close(s.done)
	fails := 0
	for {
		e, ok, err := s.spool.Peek(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.noteErr(err)
			s.log.Error("diode sender: reading the spool failed", "err", err)
			fails++
			if !sleep(ctx, jitter(s.o.BackoffBase, s.o.BackoffMax, fails)) {
				return
			}
			continue
		}
		fails = 0
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.drain:
				return
			case <-s.wake:
				continue
			}
		}
		if !s.deliver(ctx, e) {
			return
		}
		if err := s.spool.Ack(e.ID); err != nil {
			// Not acked: it will be sent again; the server dedups nothing,
			// but a duplicate is better than a loss.
			s.log.Error("diode sender: removing a delivered request from the spool failed", "id", e.Req.GetId(), "err", err)
			s.noteErr(err)
			fails++
			if !sleep(ctx, jitter(s.o.BackoffBase, s.o.BackoffMax, fails)) { // no hot resend loop on a sick disk
				return
			}
		}
	}
}

// deliver sends one spooled request until it is answered (true) or ctx
// ends (false).
func (s *Sink) deliver(ctx context.Context, e spool.Entry) bool {
	n := len(e.Req.GetEntities())
	log := s.log.With("request_id", e.Req.GetId(), "entities", n)
	attempt, reauthed, force, unanswered := 0, false, false, false
	for {
		if ctx.Err() != nil {
			return false
		}
		if attempt > 0 && !s.spool.Has(e.ID) {
			// The size cap dropped it while we were retrying; it is
			// already counted as dropped, so do not deliver it after all.
			return true
		}
		if unanswered {
			s.count(func(c *counters) { c.resent++ })
			s.m.resent.Inc()
			log.Warn("resending a request whose earlier attempt got no answer (the server may already have it)")
		}
		err := s.attempt(ctx, e.Req, force, &unanswered, log)
		force = false
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		err = hint(err)
		code := status.Code(err)
		var te *TokenError
		if !errors.As(err, &te) && code == codes.Unauthenticated {
			// Never reuse a refused token; re-auth at once the first time,
			// after backoff if the fresh token is refused too.
			s.tokens.Invalidate()
			s.m.requests.WithLabelValues("unauthenticated").Inc()
			if !reauthed {
				reauthed, force = true, true
				log.Info("diode answered Unauthenticated; fetching a new token and retrying once", "err", err)
				continue
			}
		}
		switch {
		case errors.As(err, &te):
			// keep retrying below; the message says URL + status
		case code == codes.InvalidArgument || code == codes.OutOfRange || code == codes.FailedPrecondition:
			s.count(func(c *counters) { c.rejected++; c.rejectedEnts += int64(n) })
			s.m.requests.WithLabelValues("rejected").Inc()
			s.m.rejected.Add(float64(n))
			s.noteErr(err)
			log.Error("diode REJECTED the request; it is not retried and its entities are lost", "code", code.String(), "err", err)
			return true
		}
		attempt++
		s.count(func(c *counters) { c.failed++; c.retries++ })
		s.m.requests.WithLabelValues("error").Inc()
		s.m.retries.Inc()
		s.noteErr(err)
		wait := jitter(s.o.BackoffBase, s.o.BackoffMax, attempt)
		log.Warn("diode delivery failed; will retry", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

func (s *Sink) attempt(ctx context.Context, req *diodepb.IngestRequest, force bool, unanswered *bool, log *slog.Logger) error {
	tok, fetched, err := s.tokens.Token(ctx, force)
	if fetched && err == nil {
		s.count(func(c *counters) { c.refreshes++ })
		s.m.refreshes.Inc()
	}
	if err != nil {
		return err
	}
	tr := &callTrace{}
	cctx, cancel := context.WithTimeout(ctx, s.o.CallTimeout)
	defer cancel()
	cctx = context.WithValue(metadata.AppendToOutgoingContext(cctx, "authorization", "Bearer "+tok), traceKey{}, tr)
	resp, err := s.client.Ingest(cctx, req)
	*unanswered = tr.sent.Load() && !tr.answered.Load() && err != nil
	if err != nil {
		return err
	}
	n := int64(len(req.GetEntities()))
	now := s.o.Now()
	s.mu.Lock()
	s.lastSuccess = now
	s.c.ok++
	s.c.sent += n
	s.mu.Unlock()
	s.m.requests.WithLabelValues("ok").Inc()
	s.m.sent.Add(float64(n))
	s.m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	if errs := resp.GetErrors(); len(errs) > 0 {
		s.count(func(c *counters) { c.rejectedEnts += int64(len(errs)) })
		s.m.rejected.Add(float64(len(errs)))
		log.Error("diode rejected some entities of an accepted request (not resent)", "rejected", len(errs), "first_error", errs[0])
	}
	return nil
}

func (s *Sink) count(f func(*counters)) {
	s.mu.Lock()
	f(&s.c)
	s.mu.Unlock()
}

func (s *Sink) noteErr(err error) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = err.Error(), s.o.Now()
	s.mu.Unlock()
}

// hint adds the remediation a NetBox Cloud operator needs to the few
// errors whose fix is not obvious from the text.
func hint(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls: failed to verify"):
		return fmt.Errorf("%w (if an SSL-inspecting proxy sits in the path, add its CA with ca_file)", err)
	case strings.Contains(msg, "protocol version"):
		return fmt.Errorf("%w (orbd requires TLS 1.2 or newer)", err)
	}
	return err
}

// Status snapshots delivery health.
func (s *Sink) Status() Status {
	st := Status{Target: s.ep.Target, Proxy: s.ep.ProxyString(), ProxyFromEnv: s.ep.ProxyFromEnv,
		Connected: s.conn.GetState() == connectivity.Ready}
	st.SpoolRequests, st.SpoolEntities, st.SpoolBytes = s.spool.Depth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastSuccess.IsZero() {
		t := s.lastSuccess
		st.LastSuccess = &t
	}
	if s.lastErr != "" {
		t := s.lastErrAt
		st.LastError, st.LastErrorAt = s.lastErr, &t
	}
	st.RequestsOK, st.RequestsFailed, st.RequestsRejected = s.c.ok, s.c.failed, s.c.rejected
	st.Retries, st.EntitiesSent, st.RejectedEntities = s.c.retries, s.c.sent, s.c.rejectedEnts
	st.ResentAfterLostAck, st.TokenRefreshes = s.c.resent, s.c.refreshes
	return st
}

// jitter is exponential backoff with jitter: uniformly in [d/2, d] where
// d = base·2^(n-1), capped at max.
func jitter(base, max time.Duration, n int) time.Duration {
	d := max
	if n < 30 {
		if b := base << (n - 1); b > 0 && b < max {
			d = b
		}
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// callTrace tells whether a call's request reached the wire and whether
// the server answered anything: sent && !answered is a lost ack.
type callTrace struct{ sent, answered atomic.Bool }

type traceKey struct{}

type traceHandler struct{}

func (traceHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (traceHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (traceHandler) HandleConn(context.Context, stats.ConnStats) {}
func (traceHandler) HandleRPC(ctx context.Context, st stats.RPCStats) {
	tr, _ := ctx.Value(traceKey{}).(*callTrace)
	if tr == nil {
		return
	}
	switch st.(type) {
	case *stats.OutPayload:
		tr.sent.Store(true)
	case *stats.InHeader, *stats.InTrailer, *stats.InPayload:
		tr.answered.Store(true)
	}
}

type metrics struct {
	requests    *prometheus.CounterVec
	sent        prometheus.Counter
	retries     prometheus.Counter
	resent      prometheus.Counter
	lastSuccess prometheus.Gauge
	refreshes   prometheus.Counter
	rejected    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		requests:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbd_diode_requests_total", Help: "Ingest calls by result (ok, error, unauthenticated, rejected)."}, []string{"result"}),
		sent:        prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_diode_entities_sent_total", Help: "Entities in requests Diode accepted."}),
		retries:     prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_diode_retries_total", Help: "Ingest attempts that failed and were retried after backoff."}),
		resent:      prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_diode_resent_after_lost_ack_total", Help: "Requests sent again after an earlier attempt reached the wire but got no answer (possible duplicate)."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "orbd_diode_last_success_timestamp_seconds", Help: "Unix time of the last accepted Ingest call."}),
		refreshes:   prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_diode_token_refreshes_total", Help: "OAuth2 tokens fetched."}),
		rejected:    prometheus.NewCounter(prometheus.CounterOpts{Name: "orbd_diode_rejected_entities_total", Help: "Entities Diode rejected (per-entity errors or a rejected request); not resent."}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests).(*prometheus.CounterVec)
		m.sent = register(reg, m.sent).(prometheus.Counter)
		m.retries = register(reg, m.retries).(prometheus.Counter)
		m.resent = register(reg, m.resent).(prometheus.Counter)
		m.lastSuccess = register(reg, m.lastSuccess).(prometheus.Gauge)
		m.refreshes = register(reg, m.refreshes).(prometheus.Counter)
		m.rejected = register(reg, m.rejected).(prometheus.Counter)
	}
	return m
}

func register(reg prometheus.Registerer, c prometheus.Collector) prometheus.Collector {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector
		}
	}
	return c
}
