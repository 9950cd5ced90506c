package vcenter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func init() {
	drivers.Register(drivers.Spec{Backend: policies.BackendVCenter, New: New})
}

// logoutTimeout bounds the Logout sent on the way out, which must run even
// when the run's own context has expired.
const logoutTimeout = 5 * time.Second

// Driver discovers one vCenter. It holds no session between runs.
type Driver struct {
	cfg Config
	log *slog.Logger
}

// Config is what Collect needs; New builds it from the policy.
type Config struct {
	URL         *url.URL // SDK endpoint without userinfo, e.g. https://vc/sdk
	Username    string
	Password    policies.Secret
	Insecure    bool
	CAFile      string
	Datacenters []string
	// IncludeTemplates keeps VM templates in the inventory.
	IncludeTemplates bool
	// Timeout bounds one whole collection (login to logout); 0 = none.
	Timeout time.Duration
}

// Stats describes the SOAP traffic of one collection.
type Stats struct {
	RoundTrips             int            // every SOAP call, login and logout included
	PropertyCollectorCalls int            // RetrievePropertiesEx + ContinueRetrievePropertiesEx
	Objects                int            // managed objects returned by the property collector
	ByMethod               map[string]int // SOAP method → calls
}

// New builds a driver for one vcenter_discovery policy.
func New(p *policies.Policy, d drivers.Deps) (drivers.Driver, error) {
	if p.VCenter == nil {
		return nil, errors.New("not a vcenter_discovery policy")
	}
	sc := p.VCenter.Scope
	u, err := ParseURL(sc.URL)
	if err != nil {
		return nil, fmt.Errorf("scope.url: %w", err)
	}
	if sc.Username == "" || !sc.Password.IsSet() {
		return nil, errors.New("scope: username and password are required")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := p.TargetTimeout
	if timeout == 0 {
		timeout = p.RunTimeout
	}
	return &Driver{
		log: log.With("policy", p.Name, "backend", policies.BackendVCenter),
		cfg: Config{
			URL:              u,
			Username:         sc.Username,
			Password:         sc.Password,
			Insecure:         sc.Insecure,
			CAFile:           sc.CAFile,
			Datacenters:      sc.Datacenters,
			IncludeTemplates: p.VCenter.Config.Options.IncludeTemplates,
			Timeout:          timeout,
		},
	}, nil
}

// ParseURL accepts https://host[:port][/sdk] (a bare host too) and returns
// the SDK URL without userinfo: credentials come from username/password.
func ParseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("empty URL")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse echoes the input, which could carry a password.
		return nil, errors.New("not a valid URL")
	}
	if u.User != nil {
		return nil, errors.New("credentials in the URL are not allowed; use username and password")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("scheme %q: want https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}

// Targets is the one vCenter endpoint.
func (d *Driver) Targets(context.Context) ([]drivers.Target, error) {
	port := 443
	if d.cfg.URL.Scheme == "http" {
		port = 80
	}
	if p := d.cfg.URL.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return []drivers.Target{{Host: d.cfg.URL.Hostname(), Port: port}}, nil
}

// Discover collects the whole vCenter inventory.
func (d *Driver) Discover(ctx context.Context, _ drivers.Target) (*drivers.Inventory, error) {
	inv, _, err := Collect(ctx, d.cfg, d.log)
	return inv, err
}

// Collect logs in, reads the inventory and logs out. The stats are valid
// even when err is not nil (they count what was sent). Errors name the step
// ("login as U: ..."), not the vCenter: the caller names the unit.
func Collect(ctx context.Context, cfg Config, log *slog.Logger) (*drivers.Inventory, Stats, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	start := time.Now()

	sc := soap.NewClient(cfg.URL, cfg.Insecure)
	if cfg.CAFile != "" {
		if err := sc.SetRootCAs(cfg.CAFile); err != nil {
			return nil, Stats{}, fmt.Errorf("ca_file %s: %w", cfg.CAFile, err)
		}
	}
	// vim25.NewClient sets these only when handed a *soap.Client; ours is
	// wrapped, and without them the SOAPAction header names no API version.
	sc.Namespace = "urn:" + vim25.Namespace
	sc.Version = vim25.Version
	rt := newCountingRT(sc)
	stats := func(objects int) Stats {
		total, by := rt.snapshot()
		return Stats{
			RoundTrips:             total,
			PropertyCollectorCalls: by["RetrievePropertiesEx"] + by["ContinueRetrievePropertiesEx"] + by["RetrieveProperties"],
			Objects:                objects,
			ByMethod:               by,
		}
	}

	vc, err := vim25.NewClient(ctx, rt)
	if err != nil {
		return nil, stats(0), fmt.Errorf("connect: %w", timeoutErr(ctx, cfg.Timeout, err))
	}
	vc.Client = sc // NewClient only sets it when handed a *soap.Client directly
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, url.UserPassword(cfg.Username, cfg.Password.Reveal())); err != nil {
		return nil, stats(0), fmt.Errorf("login as %s: %w", cfg.Username, timeoutErr(ctx, cfg.Timeout, err))
	}
	defer func() {
		// A fresh context: the run's may have expired, and the session must
		// not linger on the vCenter until it times out by itself.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
		defer cancel()
		if err := sm.Logout(lctx); err != nil {
			log.Warn("vcenter logout failed", "vcenter", cfg.URL.Redacted(), "err", err)
		}
	}()

	objs, err := retrieve(ctx, vc, cfg.Datacenters)
	if err != nil {
		return nil, stats(0), timeoutErr(ctx, cfg.Timeout, err)
	}
	inv, err := buildInventory(objs, cfg, log)
	st := stats(objs.count)
	if err != nil {
		return nil, st, err
	}
	log.Debug("vcenter inventory collected",
		"vcenter", cfg.URL.Redacted(),
		"clusters", len(inv.Clusters), "hosts", len(inv.Devices), "vms", len(inv.VirtualMachines),
		"objects", st.Objects, "round_trips", st.RoundTrips+1, // +1: the Logout still to come
		"property_collector_calls", st.PropertyCollectorCalls,
		"elapsed", time.Since(start))
	return inv, st, nil
}

// timeoutErr makes a deadline explicit instead of a bare "context deadline exceeded".
func timeoutErr(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		if timeout > 0 {
			return fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		return fmt.Errorf("timed out: %w", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}
