// Package drivers holds the contract every discovery protocol implements,
// the registry of backends, and the driver-neutral inventory model that
// drivers fill and ingest maps to Diode entities.
package drivers

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/policies"
)

// Target is one unit of work: one address (or one API endpoint) of a policy.
type Target struct {
	// Host is an IP literal, a name, or a URL host, as the driver needs it.
	Host string
	Port int
	// Entry is the index of the scope entry the target came from, so the
	// driver can find its credentials and options.
	Entry int
	// Swept is true for addresses expanded from a CIDR or range. The agent
	// calls Probe first and Discover only if Probe answered; credentials
	// must not be sent before that.
	Swept bool
	// Overrides are the entry's override_defaults, merged over the policy
	// defaults by ingest. NetboxID pins the device.
	Overrides *policies.Defaults
	NetboxID  int
}

// String names the target in logs and errors: host or host:port.
func (t Target) String() string {
	if t.Port == 0 {
		return t.Host
	}
	return fmt.Sprintf("%s:%d", t.Host, t.Port)
}

// Driver discovers one target. Implementations are built per policy by a
// Spec's New and must be safe for concurrent Discover/Probe calls.
//
// Errors name the step that failed, not the unit: the agent prefixes
// "policy P:" to errors from New and Targets and "policy P: target T:" to
// errors from Probe and Discover (in logs, status and the CLI summary),
// so a driver returns e.g. "walk ifXTable: request timeout", never its
// own policy or target prefix.
type Driver interface {
	// Targets expands the policy scope into the targets of one run.
	Targets(ctx context.Context) ([]Target, error)
	// Discover collects the inventory of one target. It honours ctx's
	// deadline and returns an error naming what failed.
	Discover(ctx context.Context, t Target) (*Inventory, error)
}

// Prober is implemented by drivers whose swept targets need a cheap,
// credential-free check that something answers (SNMP engine discovery,
// a TCP connect). ErrNoAnswer means nothing is there: not an error of the run.
type Prober interface {
	Probe(ctx context.Context, t Target) error
}

// ErrNoAnswer is returned (wrapped) by Probe when nothing answered.
var ErrNoAnswer = errNoAnswer{}

type errNoAnswer struct{}

func (errNoAnswer) Error() string { return "no answer" }

// Closer is implemented by drivers holding resources beyond a run
// (sessions, sockets); the agent calls Close when the policy is removed.
type Closer interface {
	Close() error
}

// Deps are what the agent hands to a driver factory.
type Deps struct {
	Logger *slog.Logger
	// Metrics is scoped to the policy: the agent adds the constant label
	// policy="<name>" to everything registered here and unregisters it all
	// when the policy is removed or changed. Drivers must not add a
	// "policy" label of their own. Never nil from the agent.
	Metrics  prometheus.Registerer
	StateDir string // writable; e.g. known_hosts for accept-new
	// CloudProxy is the proxy for cloud APIs (Mist), from the Diode
	// config's proxy or the environment; nil means direct.
	CloudProxy *url.URL
}

// Spec registers a backend. New builds a fresh driver for one policy.
type Spec struct {
	Backend string // e.g. "snmp_discovery"
	New     func(p *policies.Policy, d Deps) (Driver, error)
}

// The registry is written only from init() functions and read afterwards.
var (
	regMu    sync.RWMutex
	registry = map[string]Spec{}
)

// Register adds a backend; it panics on duplicates (a programming error).
func Register(s Spec) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[s.Backend]; dup {
		panic("drivers: duplicate backend " + s.Backend)
	}
	registry[s.Backend] = s
}

// Lookup finds a registered backend.
func Lookup(backend string) (Spec, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	s, ok := registry[backend]
	return s, ok
}

// Backends lists registered backend names, sorted.
func Backends() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
