package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// Kinds of controller, as written in scope.kind.
const (
	KindCatalyst = "catalyst_center"
	KindMist     = "mist"
)

// DefaultMistURL is used when a mist scope has no url.
const DefaultMistURL = "https://api.mist.com"

// Default page sizes: Catalyst Center accepts at most 500 per page; Mist
// up to 1000, 100 being its default.
const (
	catalystPageSize = 500
	mistPageSize     = 100
)

func init() {
	drivers.Register(drivers.Spec{Backend: policies.BackendController, New: New})
}

// Driver discovers one controller. It is safe for concurrent use.
type Driver struct {
	pol       *policies.Policy
	scope     policies.ControllerScope
	transport *http.Transport
	c         *client
	m         *metrics

	// pageSize is the limit asked per page; tests lower it to cross pages.
	pageSize int
}

var _ drivers.Driver = (*Driver)(nil)
var _ drivers.Closer = (*Driver)(nil)

// New builds the driver of one controller_discovery policy.
func New(p *policies.Policy, d drivers.Deps) (drivers.Driver, error) {
	if p == nil || p.Controller == nil {
		return nil, errors.New("no controller_discovery section in the policy")
	}
	name := p.Name
	sc := p.Controller.Scope
	kind := strings.TrimSpace(sc.Kind)
	raw := strings.TrimSpace(sc.URL)
	switch kind {
	case KindCatalyst:
		if raw == "" {
			return nil, fmt.Errorf("scope.url is required for %s", kind)
		}
		if sc.Username == "" || !sc.Password.IsSet() {
			return nil, fmt.Errorf("scope.username and scope.password are required for %s", kind)
		}
	case KindMist:
		if raw == "" {
			raw = DefaultMistURL
		}
		if !sc.Token.IsSet() {
			return nil, fmt.Errorf("scope.token is required for %s", kind)
		}
		if strings.TrimSpace(sc.OrgID) == "" {
			return nil, fmt.Errorf("scope.org_id is required for %s", kind)
		}
	default:
		return nil, fmt.Errorf("scope.kind %q: want %s or %s", sc.Kind, KindCatalyst, KindMist)
	}
	base, err := url.Parse(raw)
	if err == nil && base.User != nil || strings.Contains(raw, "@") {
		// Do not echo the value: it carries a password.
		return nil, errors.New("scope.url must not carry credentials; use username/password or token")
	}
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("scope.url %q: want http(s)://host[:port][/path]", raw)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	base.RawQuery, base.Fragment = "", ""

	tc, err := tlsConfig(sc.CAFile, sc.Insecure)
	if err != nil {
		return nil, err // "ca_file ...: ..."
	}
	proxy, err := proxyFunc(kind, sc.Proxy, d.CloudProxy)
	if err != nil {
		return nil, err // "scope.proxy: ..."
	}
	tr := newTransport(tc, proxy)

	log := d.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := d.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	c := &client{
		kind: kind,
		base: base,
		hc:   &http.Client{Transport: tr, CheckRedirect: noCrossHostRedirect},
		log:  log.With(slog.String("policy", name), slog.String("controller", kind), slog.String("url", base.String())),
		m:    m,
		now:  time.Now,
	}
	ps := catalystPageSize
	if kind == KindMist {
		ps = mistPageSize
	}
	return &Driver{pol: p, scope: sc, transport: tr, c: c, m: m, pageSize: ps}, nil
}

// proxyFunc picks the proxy: scope.proxy, then (Mist only, a cloud API)
// the agent's cloud proxy, then the environment. An explicit proxy is a
// fixed function because ProxyFromEnvironment never proxies loopback and
// NO_PROXY must not undo what the operator wrote. Catalyst Center sits
// on the management network and is reached directly unless scope.proxy
// says otherwise.
func proxyFunc(kind string, scopeProxy policies.Secret, cloud *url.URL) (func(*http.Request) (*url.URL, error), error) {
	if scopeProxy.IsSet() {
		u, err := url.Parse(scopeProxy.Reveal())
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			// The value may hold a password: do not echo it.
			return nil, errors.New("scope.proxy: not a valid proxy URL (want http://[user:pass@]host:port)")
		}
		return http.ProxyURL(u), nil
	}
	if kind != KindMist {
		return nil, nil
	}
	if cloud != nil {
		return http.ProxyURL(cloud), nil
	}
	return http.ProxyFromEnvironment, nil
}

// noCrossHostRedirect keeps credentials on the controller's host.
func noCrossHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
	}
	return nil
}

// Targets returns the controller itself: one target per policy.
func (d *Driver) Targets(ctx context.Context) ([]drivers.Target, error) {
	port := 443
	if d.c.base.Scheme == "http" {
		port = 80
	}
	if p := d.c.base.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("scope.url port %q: %w", p, err)
		}
		port = n
	}
	return []drivers.Target{{Host: d.c.base.Hostname(), Port: port}}, nil
}

// Discover reads the controller's inventory, bounded by the policy's run
// timeout.
func (d *Driver) Discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, error) {
	if d.pol.RunTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.pol.RunTimeout)
		defer cancel()
	}
	var (
		inv *drivers.Inventory
		err error
	)
	switch d.c.kind {
	case KindCatalyst:
		inv, err = d.discoverCatalyst(ctx)
	default:
		inv, err = d.discoverMist(ctx)
	}
	if err != nil {
		return nil, err // names the step; the agent adds policy and target
	}
	return inv, nil
}

// Close drops idle connections. The agent unregisters the policy's
// metrics (Deps.Metrics is policy-scoped).
func (d *Driver) Close() error {
	d.transport.CloseIdleConnections()
	return nil
}

type metrics struct {
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
}

// newMetrics registers the collectors on the policy-scoped registerer
// (the agent adds the policy label); a registry shared without scoping
// (tests) reuses the registered ones.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_controller_requests_total",
		Help: "HTTP requests sent to network controllers, by answer status code.",
	}, []string{"kind", "code"})
	ret := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_controller_retries_total",
		Help: "Requests retried after a 429 or 503 answer from a controller.",
	}, []string{"kind", "code"})
	var err error
	if req, err = register(reg, req); err != nil {
		return nil, err
	}
	if ret, err = register(reg, ret); err != nil {
		return nil, err
	}
	return &metrics{requests: req, retries: ret}, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}
