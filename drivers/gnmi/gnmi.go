// Package gnmi implements the gnmi_discovery backend: Capabilities, then
// one Get per OpenConfig subtree (system, components, interfaces, VLANs),
// in JSON_IETF or, when the target does not take it, JSON. Answers are
// grafted into one module-prefix-free tree whatever shape the vendor gives
// them (one update per list entry, whole lists, parent containers), and
// mapped to the driver-neutral inventory. A missing subtree means fewer
// facts, not a failed target. Every RPC is counted in
// orbd_gnmi_requests_total{rpc,code} on the policy's registerer.
package gnmi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func init() {
	drivers.Register(drivers.Spec{Backend: policies.BackendGNMI, New: New})
}

// DefaultPort is the IANA gNMI port.
const DefaultPort = 9339

// probeTimeout bounds a TCP connect probe when ctx has no earlier deadline.
const probeTimeout = 2 * time.Second

// Paths read from every target, in order. Only /system/state is needed for
// a device name; every other subtree may be missing.
var Paths = []string{
	"/system/state",
	"/components/component",
	"/interfaces/interface",
	"/network-instances/network-instance/vlans",
}

// Driver discovers gNMI targets of one policy.
type Driver struct {
	entries []policies.GNMITarget
	timeout time.Duration
	log     *slog.Logger
	rpcs    *prometheus.CounterVec // by rpc and gRPC status code
}

// New builds a driver for one gnmi_discovery policy.
func New(p *policies.Policy, d drivers.Deps) (drivers.Driver, error) {
	if p.GNMI == nil {
		return nil, errors.New("not a gnmi_discovery policy")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := p.TargetTimeout
	if timeout == 0 && p.GNMI.Config.Timeout > 0 {
		timeout = p.GNMI.Config.Timeout.Duration()
	}
	reg := d.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry() // counted, but exported nowhere
	}
	rpcs, err := registerRPCs(reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Driver{
		entries: p.GNMI.Scope.Targets,
		timeout: timeout,
		log:     log.With("policy", p.Name, "backend", policies.BackendGNMI),
		rpcs:    rpcs,
	}, nil
}

// registerRPCs registers orbd_gnmi_requests_total on the policy-scoped
// registerer (the agent adds the policy label). A registerer that already
// has it (a driver rebuilt on the same registry) shares the existing one.
func registerRPCs(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orbd_gnmi_requests_total",
		Help: "gNMI RPCs sent to targets, by RPC and gRPC status code.",
	}, []string{"rpc", "code"})
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

// count records one RPC's outcome.
func (d *Driver) count(rpc string, err error) {
	d.rpcs.WithLabelValues(rpc, status.Code(err).String()).Inc()
}

// Targets expands hosts, CIDRs and ranges; port defaults to 9339.
func (d *Driver) Targets(context.Context) ([]drivers.Target, error) {
	var out []drivers.Target
	for i, e := range d.entries {
		port := e.Port
		if port == 0 {
			port = DefaultPort
		}
		addrs, swept, isName, err := drivers.ExpandHosts(e.Host)
		if err != nil {
			return nil, fmt.Errorf("scope.targets[%d].host: %w", i, err)
		}
		base := drivers.Target{Port: port, Entry: i, Swept: swept, Overrides: e.OverrideDefaults, NetboxID: e.NetboxID}
		if isName {
			base.Host = e.Host
			out = append(out, base)
			continue
		}
		for _, a := range addrs {
			t := base
			t.Host = a.String()
			out = append(out, t)
		}
	}
	return out, nil
}

// Probe is a TCP connect to the gNMI port: no TLS, no credentials.
func (d *Driver) Probe(ctx context.Context, t drivers.Target) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err() // cancelled: the run is going away
		}
		return fmt.Errorf("%w: %v", drivers.ErrNoAnswer, err)
	}
	return c.Close()
}

// verifiesServer reports whether a TLS setting authenticates the target.
func verifiesServer(tl policies.GNMITLS) bool { return !tl.Insecure && !tl.SkipVerify }

// Discover reads one target.
func (d *Driver) Discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, error) {
	if t.Entry < 0 || t.Entry >= len(d.entries) {
		return nil, fmt.Errorf("no scope entry %d", t.Entry)
	}
	e := d.entries[t.Entry]
	// Policies already reject this; the driver enforces it again because a
	// password sent to a swept address may reach anyone who answers there.
	if t.Swept && e.Password.IsSet() && !verifiesServer(e.TLS) {
		return nil, fmt.Errorf("refusing to send the password to an address swept from %q without TLS that verifies the server (tls.insecure and tls.skip_verify do not)", e.Host)
	}
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	inv, err := d.discover(ctx, t, e)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
			if d.timeout > 0 {
				return nil, fmt.Errorf("timed out after %s: %w", d.timeout, err)
			}
			return nil, fmt.Errorf("timed out: %w", err)
		}
		return nil, err
	}
	return inv, nil
}

func (d *Driver) discover(ctx context.Context, t drivers.Target, e policies.GNMITarget) (*drivers.Inventory, error) {
	log := d.log.With("target", t.String())
	opts := []api.TargetOption{
		api.Name(t.String()),
		api.Address(net.JoinHostPort(t.Host, strconv.Itoa(t.Port))),
	}
	if d.timeout > 0 {
		opts = append(opts, api.Timeout(d.timeout))
	}
	if e.Username != "" {
		opts = append(opts, api.Username(e.Username))
	}
	if e.Password.IsSet() {
		opts = append(opts, api.Password(e.Password.Reveal()))
	}
	if e.TLS.Insecure {
		opts = append(opts, api.Insecure(true))
	} else {
		cfg, err := tlsConfig(e.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, api.TLSConfig(cfg))
	}
	tg, err := api.NewTarget(opts...)
	if err != nil {
		return nil, fmt.Errorf("target options: %w", err)
	}
	if err := tg.CreateGNMIClient(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = tg.Close() }()

	caps, err := tg.Capabilities(ctx)
	d.count("Capabilities", err)
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	encodings := encodingOrder(caps.GetSupportedEncodings())

	tree := map[string]any{}
	g := newGrafter(tree)
	known := "" // the encoding that worked, once one has
	for _, p := range Paths {
		encs := encodings
		if known != "" {
			encs = []string{known}
		}
		updates, used, err := d.get(ctx, tg, p, encs, log)
		if err != nil {
			// NotFound is a missing subtree. Once an encoding is known to
			// work, InvalidArgument/Unimplemented are about the path (some
			// targets answer so for paths outside their schema), not the
			// encoding: fewer facts, not a failed target.
			code := status.Code(err)
			if code == codes.NotFound || known != "" && (code == codes.InvalidArgument || code == codes.Unimplemented) {
				log.Debug("gnmi subtree missing", "path", p, "err", err)
				continue
			}
			return nil, fmt.Errorf("get %s: %w", p, err)
		}
		known = used
		for _, n := range updates.GetNotification() {
			if err := g.add(n); err != nil {
				return nil, fmt.Errorf("get %s: %w", p, err)
			}
		}
	}
	dev := mapDevice(tree, vendorOf(caps.GetSupportedModels()), log)
	if dev.Name == "" {
		dev.Name = t.Host
	}
	if a, err := netip.ParseAddr(t.Host); err == nil {
		dev.MgmtAddress = a
	}
	return &drivers.Inventory{Devices: []drivers.Device{dev}}, nil
}

// get sends one Get, trying the encodings in order: the next one only when
// the target refuses an encoding (InvalidArgument or Unimplemented).
func (d *Driver) get(ctx context.Context, tg interface {
	Get(context.Context, *gnmi.GetRequest) (*gnmi.GetResponse, error)
}, path string, encodings []string, log *slog.Logger) (*gnmi.GetResponse, string, error) {
	var last error
	for _, enc := range encodings {
		req, err := api.NewGetRequest(api.Path(path), api.Encoding(enc), api.DataType("all"))
		if err != nil {
			return nil, "", err
		}
		res, err := tg.Get(ctx, req)
		d.count("Get", err)
		if err == nil {
			return res, enc, nil
		}
		switch status.Code(err) {
		case codes.InvalidArgument, codes.Unimplemented:
			log.Debug("gnmi encoding refused", "path", path, "encoding", enc, "err", err)
			last = err
			continue
		}
		return nil, "", err
	}
	return nil, "", fmt.Errorf("%w (encodings tried: %s)", last, strings.Join(encodings, ", "))
}

// encodingOrder puts JSON_IETF first when advertised, then JSON. A target
// advertising neither (or nothing) is still tried with both.
func encodingOrder(adv []gnmi.Encoding) []string {
	has := map[gnmi.Encoding]bool{}
	for _, e := range adv {
		has[e] = true
	}
	switch {
	case has[gnmi.Encoding_JSON_IETF] && has[gnmi.Encoding_JSON]:
		return []string{"json_ietf", "json"}
	case has[gnmi.Encoding_JSON_IETF]:
		return []string{"json_ietf"}
	case has[gnmi.Encoding_JSON]:
		return []string{"json"}
	}
	return []string{"json_ietf", "json"}
}

// tlsConfig builds the client TLS settings: system roots plus tls.ca,
// a client certificate for mutual TLS, or no verification when asked.
func tlsConfig(tl policies.GNMITLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: tl.SkipVerify}
	if tl.CA != "" {
		pem, err := os.ReadFile(tl.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca %s: no PEM certificate found", tl.CA)
		}
		cfg.RootCAs = pool
	}
	if tl.Cert != "" || tl.Key != "" {
		if tl.Cert == "" || tl.Key == "" {
			return nil, errors.New("tls.cert and tls.key go together")
		}
		c, err := tls.LoadX509KeyPair(tl.Cert, tl.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.cert/tls.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
