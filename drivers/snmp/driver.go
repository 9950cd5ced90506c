package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

func init() {
	drivers.Register(drivers.Spec{Backend: policies.BackendSNMP, New: New})
}

// ProbeUser is the placeholder SNMPv3 user name the sweep probe sends. The
// agent answers it with a Report (unknown engine ID / unknown user), which
// proves an SNMP engine is there without revealing the operator's user.
const ProbeUser = "orbd-probe"

// Defaults for zero config values (the policy loader normally fills them).
const (
	defaultTimeout      = 5 * time.Second
	defaultProbeTimeout = time.Second
	defaultMaxRep       = 25
	defaultPort         = 161
	// maxSessions bounds the concurrent walks (and sockets) per device.
	maxSessions = 4
)

// Driver discovers SNMP devices for one policy.
type Driver struct {
	policy       string
	targets      []policies.SNMPTarget
	auths        []resolvedAuth // per scope entry
	timeout      time.Duration
	probeTimeout time.Duration
	retries      int
	maxRep       uint32
	modules      bool
	vrfs         bool              // options.discover_vrfs
	models       map[string]string // lookup_extensions_dir: sysObjectID → model
	log          *slog.Logger
	requests     prometheus.Counter
}

// resolvedAuth is an entry's authentication mapped to gosnmp values.
type resolvedAuth struct {
	version   gosnmp.SnmpVersion
	community policies.Secret
	flags     gosnmp.SnmpV3MsgFlags
	user      string
	authProto gosnmp.SnmpV3AuthProtocol
	authPass  policies.Secret
	privProto gosnmp.SnmpV3PrivProtocol
	privPass  policies.Secret
	context   string
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
	"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

func resolveAuth(a *policies.SNMPAuth) (resolvedAuth, error) {
	if a == nil {
		return resolvedAuth{}, errors.New("no authentication (set scope.authentication or the target's)")
	}
	var r resolvedAuth
	switch strings.ToLower(a.ProtocolVersion) {
	case "snmpv1", "v1", "1":
		r.version = gosnmp.Version1
	case "snmpv2c", "v2c", "2c", "":
		r.version = gosnmp.Version2c
	case "snmpv3", "v3", "3":
		r.version = gosnmp.Version3
	default:
		return r, fmt.Errorf("protocol_version %q: want SNMPv1, SNMPv2c or SNMPv3", a.ProtocolVersion)
	}
	if r.version != gosnmp.Version3 {
		if !a.Community.IsSet() {
			return r, fmt.Errorf("%s needs a community", a.ProtocolVersion)
		}
		r.community = a.Community
		return r, nil
	}
	if a.Username == "" {
		return r, errors.New("SNMPv3 needs a username")
	}
	r.user, r.context = a.Username, a.ContextName
	switch strings.ToLower(a.SecurityLevel) {
	case "noauthnopriv", "":
		r.flags = gosnmp.NoAuthNoPriv
	case "authnopriv":
		r.flags = gosnmp.AuthNoPriv
	case "authpriv":
		r.flags = gosnmp.AuthPriv
	default:
		return r, fmt.Errorf("security_level %q: want noAuthNoPriv, authNoPriv or authPriv", a.SecurityLevel)
	}
	if r.flags&gosnmp.AuthNoPriv != 0 {
		p, ok := authProtocols[strings.ToUpper(a.AuthProtocol)]
		if !ok {
			return r, fmt.Errorf("auth_protocol %q: want MD5, SHA, SHA224, SHA256, SHA384 or SHA512", a.AuthProtocol)
		}
		if !a.AuthPassphrase.IsSet() {
			return r, errors.New("security level needs auth_passphrase")
		}
		r.authProto, r.authPass = p, a.AuthPassphrase
	}
	if r.flags&gosnmp.AuthPriv == gosnmp.AuthPriv {
		p, ok := privProtocols[strings.ToUpper(a.PrivProtocol)]
		if !ok {
			return r, fmt.Errorf("priv_protocol %q: want DES, AES, AES192, AES256, AES192C or AES256C", a.PrivProtocol)
		}
		if !a.PrivPassphrase.IsSet() {
			return r, errors.New("authPriv needs priv_passphrase")
		}
		r.privProto, r.privPass = p, a.PrivPassphrase
	}
	return r, nil
}

// New builds the driver of one snmp_discovery policy.
func New(p *policies.Policy, deps drivers.Deps) (drivers.Driver, error) {
	if p == nil || p.SNMP == nil {
		return nil, errors.New("no snmp_discovery block in the policy")
	}
	cfg := p.SNMP.Config
	d := &Driver{
		policy:       p.Name,
		targets:      p.SNMP.Scope.Targets,
		timeout:      cfg.SNMPTimeout.Duration(),
		probeTimeout: cfg.SNMPProbeTimeout.Duration(),
		retries:      max(cfg.Retries, 0),
		maxRep:       uint32(max(cfg.Options.MaxRepetitions, 0)),
		modules:      cfg.Options.DiscoverModules,
		vrfs:         cfg.Options.DiscoverVRFs,
		log:          deps.Logger,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("policy", p.Name, "backend", policies.BackendSNMP)
	if d.timeout <= 0 {
		d.timeout = defaultTimeout
	}
	if d.probeTimeout <= 0 {
		d.probeTimeout = defaultProbeTimeout
	}
	if d.maxRep == 0 {
		d.maxRep = defaultMaxRep
	}
	for i, t := range d.targets {
		a := t.Authentication // an entry's block replaces the policy-wide one wholesale
		if a == nil {
			a = p.SNMP.Scope.Authentication
		}
		r, err := resolveAuth(a)
		if err != nil {
			return nil, fmt.Errorf("scope target %d (%s): %w", i, t.Host, err)
		}
		d.auths = append(d.auths, r)
	}
	models, err := loadExtensions(cfg.LookupExtensionsDir)
	if err != nil {
		return nil, err // "lookup_extensions_dir: ..."
	}
	d.models = models

	reg := deps.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	// Deps.Metrics is policy-scoped: the agent adds the policy label and
	// unregisters the counter when the policy goes.
	d.requests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orbd_snmp_requests_total",
		Help: "SNMP requests sent (probes, GET/GETNEXT/GETBULK, v3 discovery and retries), per policy.",
	})
	if err := reg.Register(d.requests); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return d, nil
}

// Targets expands the scope: an IP is one target, a CIDR or range is swept
// (probed first), a host name is one target resolved at connect time.
func (d *Driver) Targets(ctx context.Context) ([]drivers.Target, error) {
	var out []drivers.Target
	for i, e := range d.targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		port := e.Port
		if port == 0 {
			port = defaultPort
		}
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("scope target %d (%s): port %d out of range", i, e.Host, port)
		}
		addrs, swept, isName, err := drivers.ExpandHosts(e.Host)
		if err != nil {
			return nil, fmt.Errorf("scope target %d: %w", i, err)
		}
		base := drivers.Target{Port: port, Entry: i, Swept: swept, Overrides: e.OverrideDefaults, NetboxID: e.NetboxID}
		if isName {
			t := base
			t.Host = strings.TrimSpace(e.Host)
			out = append(out, t)
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

func (d *Driver) auth(t drivers.Target) (resolvedAuth, error) {
	if t.Entry < 0 || t.Entry >= len(d.auths) {
		return resolvedAuth{}, fmt.Errorf("scope entry %d does not exist", t.Entry)
	}
	return d.auths[t.Entry], nil
}

// Probe checks that an SNMP engine answers at t with one GET of
// sysObjectID.0 on one socket, without the operator's SNMPv3 user: v3 sends
// ProbeUser at noAuthNoPriv with an empty engine ID, which any agent answers
// with a Report. Silence (or ICMP port unreachable) is drivers.ErrNoAnswer.
func (d *Driver) Probe(ctx context.Context, t drivers.Target) error {
	a, err := d.auth(t)
	if err != nil {
		return err
	}
	g := &gosnmp.GoSNMP{Version: a.version, Transport: "udp", Logger: gosnmp.Logger{}}
	if a.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = gosnmp.NoAuthNoPriv
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{UserName: ProbeUser}
	} else {
		g.Community = a.community.Reveal()
	}
	pkt, err := g.SnmpEncodePacket(gosnmp.GetRequest, []gosnmp.SnmpPDU{{Name: oidSysObjectID, Type: gosnmp.Null}}, 0, 0)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "udp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 65535)
	for attempt := 0; attempt <= d.retries; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		deadline := time.Now().Add(d.probeTimeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		if err := conn.SetDeadline(deadline); err != nil {
			return err
		}
		d.requests.Inc()
		if _, err := conn.Write(pkt); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("port unreachable: %w", drivers.ErrNoAnswer)
			}
			return err
		}
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("port unreachable: %w", drivers.ErrNoAnswer)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if _, err := (&gosnmp.GoSNMP{Logger: gosnmp.Logger{}}).SnmpDecodePacket(buf[:n]); err != nil {
			// Something answers, but not SNMP: a per-target error, not silence.
			return fmt.Errorf("reply is not SNMP (%d bytes)", n)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("no reply within %s: %w", d.probeTimeout, drivers.ErrNoAnswer)
}

// session opens one gosnmp session to t. For v3, from (when set) supplies
// the already discovered engine parameters so the session skips discovery.
func (d *Driver) session(ctx context.Context, t drivers.Target, a resolvedAuth, from *gosnmp.GoSNMP, count *atomic.Int64) (*gosnmp.GoSNMP, func(), error) {
	g := &gosnmp.GoSNMP{
		Target:         t.Host,
		Port:           uint16(t.Port),
		Transport:      "udp",
		Version:        a.version,
		Timeout:        d.timeout,
		Retries:        d.retries,
		Context:        ctx, // gosnmp keeps the context on the session; the session lives for this call only
		MaxOids:        gosnmp.MaxOids,
		MaxRepetitions: d.maxRep,
		OnSent: func(*gosnmp.GoSNMP) {
			count.Add(1)
			d.requests.Inc()
		},
	}
	if a.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = a.flags
		g.ContextName = a.context
		if from != nil {
			g.SecurityParameters = from.SecurityParameters.Copy()
			g.ContextEngineID = from.ContextEngineID
		} else {
			g.SecurityParameters = &gosnmp.UsmSecurityParameters{
				UserName:                 a.user,
				AuthenticationProtocol:   a.authProto,
				AuthenticationPassphrase: a.authPass.Reveal(),
				PrivacyProtocol:          a.privProto,
				PrivacyPassphrase:        a.privPass.Reveal(),
			}
		}
	} else {
		g.Community = a.community.Reveal()
	}
	if err := g.Connect(); err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	conn := g.Conn
	// A cancelled ctx (another walk failed, the run ended) interrupts a
	// blocked read at once instead of after snmp_timeout.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	return g, func() { stop(); _ = g.Close() }, nil
}

// MIB objects walked or fetched.
const (
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidSysLocation = ".1.3.6.1.2.1.1.6.0"

	oidIfEntry      = ".1.3.6.1.2.1.2.2.1"
	oidIfXEntry     = ".1.3.6.1.2.1.31.1.1.1"
	oidIPAddrEntry  = ".1.3.6.1.2.1.4.20.1"
	oidIPAddressEnt = ".1.3.6.1.2.1.4.34.1"
	oidEntPhysEntry = ".1.3.6.1.2.1.47.1.1.1.1"
	oidDot1qVlanSt  = ".1.3.6.1.2.1.17.7.1.4.3.1" // dot1qVlanStaticEntry
	oidDot1qPvid    = ".1.3.6.1.2.1.17.7.1.4.5.1.1"
	// BRIDGE-MIB dot1dBasePortIfIndex: bridge port → ifIndex (Q-BRIDGE
	// port lists and dot1qPvid are indexed by bridge port).
	oidBasePortIfIndex = ".1.3.6.1.2.1.17.1.4.1.2"
	oidVtpVlanName     = ".1.3.6.1.4.1.9.9.46.1.3.1.1.4"
	// IEEE8023-LAG-MIB dot3adAggPortAttachedAggID: member ifIndex → LAG ifIndex.
	oidLagAttached = ".1.2.840.10006.300.43.1.2.1.1.13"
	// MPLS-L3VPN-STD-MIB (RFC 4382) mplsL3VpnIfVpnClassification, indexed
	// by VRF name (length-prefixed) then ifIndex: one row per VRF member.
	oidL3VpnIfConfClass = ".1.3.6.1.2.1.10.166.11.1.2.1.1.2"
	// CISCO-VRF-MIB cvVrfName (index cvVrfIndex) and
	// cvVrfInterfaceRowStatus (index cvVrfIndex.ifIndex).
	oidCvVrfName      = ".1.3.6.1.4.1.9.9.711.1.1.1.1.2"
	oidCvVrfIfRowStat = ".1.3.6.1.4.1.9.9.711.1.2.1.1.5"
)

// table is one walk unit: a name for errors and the columns it needs.
type table struct {
	name string
	cols []string
}

func cols(entry string, ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = entry + "." + strconv.Itoa(n)
	}
	return out
}

// Column positions inside each table's cols, used by the parser.
const (
	ifDescr, ifType, ifMtu, ifSpeed, ifPhysAddress, ifAdminStatus = 0, 1, 2, 3, 4, 5
	ifName, ifHighSpeed, ifAlias                                  = 0, 1, 2
	ipAdIfIndex, ipAdNetMask                                      = 0, 1
	ipaIfIndex, ipaType, ipaPrefix                                = 0, 1, 2
	entDescr, entContainedIn, entClass, entName, entHwRev         = 0, 1, 2, 3, 4
	entSerial, entMfg, entModel                                   = 5, 6, 7
	vlanStName, vlanStEgress, vlanStUntagged                      = 0, 1, 2
)

// tablesFor lists the walks of one device, biggest first so the longest
// walk starts at once. vrfs adds the VRF tables (options.discover_vrfs).
func tablesFor(sysObjectID string, vrfs bool) []table {
	ts := []table{
		{"ifTable", cols(oidIfEntry, 2, 3, 4, 5, 6, 7)},
		{"ifXTable", cols(oidIfXEntry, 1, 15, 18)},
		{"entPhysicalTable", cols(oidEntPhysEntry, 2, 4, 5, 7, 8, 11, 12, 13)},
		{"ipAddressTable", cols(oidIPAddressEnt, 3, 4, 5)},
		{"ipAddrTable", cols(oidIPAddrEntry, 2, 3)},
		{"dot1qVlanStaticTable", cols(oidDot1qVlanSt, 1, 2, 4)},
		{"dot1qPvid", []string{oidDot1qPvid}},
		{"dot1dBasePortIfIndex", []string{oidBasePortIfIndex}},
		{"dot3adAggPortAttachedAggID", []string{oidLagAttached}},
	}
	cisco := false
	if ent, ok := enterpriseOf(sysObjectID); ok && ent == 9 {
		cisco = true
		ts = append(ts, table{"vtpVlanName", []string{oidVtpVlanName}})
	}
	if vrfs {
		ts = append(ts, table{"mplsL3VpnIfConfTable", []string{oidL3VpnIfConfClass}})
		if cisco {
			ts = append(ts, table{"cvVrfTable", []string{oidCvVrfName}},
				table{"cvVrfInterfaceTable", []string{oidCvVrfIfRowStat}})
		}
	}
	return ts
}

// walkUnits groups n tables (biggest first) into at most maxSessions walks
// run in parallel: the big ones alone, the small tail together in one
// multi-column walk, so a device costs about the round trips of its
// longest table.
func walkUnits(n int) [][]int {
	var units [][]int
	for i := 0; i < n; i++ {
		if len(units) < maxSessions {
			units = append(units, []int{i})
			continue
		}
		units[maxSessions-1] = append(units[maxSessions-1], i)
	}
	return units
}

// Discover collects the inventory of one device.
func (d *Driver) Discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, error) {
	start := time.Now()
	inv, n, err := d.discover(ctx, t)
	if err == nil {
		_, ifaces, addrs := inv.Counts()
		d.log.LogAttrs(ctx, slog.LevelDebug, "snmp device discovered", slog.String("target", t.String()),
			slog.Int64("requests", n), slog.Int("interfaces", ifaces), slog.Int("addresses", addrs),
			slog.Duration("took", time.Since(start)))
	}
	return inv, err
}

// discover also returns how many requests the device took.
func (d *Driver) discover(ctx context.Context, t drivers.Target) (*drivers.Inventory, int64, error) {
	var count atomic.Int64
	a, err := d.auth(t)
	if err != nil {
		return nil, 0, err
	}
	// wctx stops the other walks when one fails; ctx stays the caller's so
	// errors can tell a cancelled run from a timeout.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()

	s0, close0, err := d.session(wctx, t, a, nil, &count)
	if err != nil {
		return nil, count.Load(), err
	}
	defer close0()
	sys, err := getSystem(s0)
	if err != nil {
		return nil, count.Load(), fmt.Errorf("get system group: %w", d.explain(ctx, a, err, true))
	}

	tables := tablesFor(sys.objectID, d.vrfs)
	units := walkUnits(len(tables))
	results := make([][]varbind, len(tables))
	// The first failure is the cause; walks cancelled after it are noise.
	var failOnce sync.Once
	var failErr error
	fail := func(unit string, err error) {
		failOnce.Do(func() { failErr = fmt.Errorf("%s: %w", unit, err) })
		cancel()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < len(units); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s0
			if w > 0 {
				sess, closeS, serr := d.session(wctx, t, a, s0, &count)
				if serr != nil {
					fail("open session", serr)
					return
				}
				defer closeS()
				s = sess
			}
			for {
				u := int(next.Add(1) - 1)
				if u >= len(units) || wctx.Err() != nil {
					return
				}
				// One multi-column walk over every column of the unit's tables.
				type owner struct{ table, col int }
				var roots []string
				var owners []owner
				var names []string
				for _, ti := range units[u] {
					names = append(names, tables[ti].name)
					for ci, c := range tables[ti].cols {
						roots = append(roots, c)
						owners = append(owners, owner{ti, ci})
					}
				}
				err := walkColumns(s, roots, d.maxRep, func(v varbind) error {
					o := owners[v.col]
					results[o.table] = append(results[o.table], varbind{col: o.col, index: v.index, pdu: v.pdu})
					return nil
				})
				if err != nil {
					fail("walk "+strings.Join(names, "+"), d.explain(ctx, a, err, false))
					return
				}
			}
		}()
	}
	wg.Wait()
	if failErr != nil {
		return nil, count.Load(), failErr
	}
	if err := ctx.Err(); err != nil {
		return nil, count.Load(), err
	}
	walked := map[string][]varbind{}
	for i, tb := range tables {
		walked[tb.name] = results[i]
	}
	dev := d.build(t, sys, walked)
	return &drivers.Inventory{Devices: []drivers.Device{dev}}, count.Load(), nil
}

// explain turns gosnmp errors into what an operator can act on.
// first marks the opening GET, where silence most likely means a wrong
// community; later silence is just a timeout of that walk.
func (d *Driver) explain(ctx context.Context, a resolvedAuth, err error, first bool) error {
	switch {
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return fmt.Errorf("authentication failed (wrong auth passphrase or protocol): %w", err)
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return fmt.Errorf("authentication failed (unknown user): %w", err)
	case errors.Is(err, gosnmp.ErrDecryption):
		return fmt.Errorf("authentication failed (wrong priv passphrase or protocol): %w", err)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return fmt.Errorf("authentication failed (security level not supported for this user): %w", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case strings.Contains(err.Error(), "not authentic"):
		// After engine discovery the agent's Report (wrong digest, unknown
		// user) arrives unauthenticated and gosnmp drops it unread.
		return fmt.Errorf("authentication failed (unknown user, wrong passphrase or wrong protocol): %w", err)
	}
	if isTimeout(err) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !first {
			return err
		}
		if a.version != gosnmp.Version3 {
			return fmt.Errorf("no response (wrong community or no agent?): %w", err)
		}
		return fmt.Errorf("no response: %w", err)
	}
	if isMalformed(err) {
		return fmt.Errorf("malformed response (not SNMP?): %w", err)
	}
	return err
}

// isMalformed recognises gosnmp's decoding errors.
func isMalformed(err error) bool {
	msg := err.Error()
	for _, s := range []string{"packet", "unmarshal", "parsing", "decode", "invalid"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || strings.Contains(err.Error(), "timeout")
}

// sysInfo is the system group.
type sysInfo struct {
	descr, objectID, name, location string
	uptime                          time.Duration
}

// getSystem fetches the system scalars in one GET. v1 agents fail the
// whole PDU on a missing name (noSuchName); the missing one is dropped and
// the GET repeated.
func getSystem(s *gosnmp.GoSNMP) (sysInfo, error) {
	oids := []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysName, oidSysLocation}
	var info sysInfo
	for len(oids) > 0 {
		resp, err := s.Get(oids)
		if err != nil {
			return info, err
		}
		if resp.Error == gosnmp.NoSuchName && int(resp.ErrorIndex) >= 1 && int(resp.ErrorIndex) <= len(oids) {
			oids = append(oids[:resp.ErrorIndex-1:resp.ErrorIndex-1], oids[resp.ErrorIndex:]...)
			continue
		}
		if resp.Error != gosnmp.NoError {
			return info, fmt.Errorf("agent error %s", resp.Error)
		}
		for _, v := range resp.Variables {
			switch v.Name {
			case oidSysDescr:
				info.descr = pduString(v)
			case oidSysObjectID:
				if o, ok := v.Value.(string); ok {
					info.objectID = o
				}
			case oidSysUpTime:
				info.uptime = time.Duration(pduInt(v)) * 10 * time.Millisecond
			case oidSysName:
				info.name = pduString(v)
			case oidSysLocation:
				info.location = pduString(v)
			}
		}
		break
	}
	if info.descr == "" && info.objectID == "" && info.name == "" {
		return info, errors.New("agent returned no system group")
	}
	return info, nil
}

// pduString renders an OCTET STRING (or anything) as trimmed text.
func pduString(v gosnmp.SnmpPDU) string {
	switch x := v.Value.(type) {
	case []byte:
		return strings.TrimSpace(strings.TrimRight(string(x), "\x00"))
	case string:
		return strings.TrimSpace(x)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func pduBytes(v gosnmp.SnmpPDU) []byte {
	switch x := v.Value.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

func pduInt(v gosnmp.SnmpPDU) int64 {
	switch v.Value.(type) {
	case int, int64, uint, uint32, uint64, int32, uint8, uint16, int8, int16:
		return gosnmp.ToBigInt(v.Value).Int64()
	}
	return 0
}

// mgmtAddr is t's address when t is an IP literal.
func mgmtAddr(t drivers.Target) netip.Addr {
	a, err := netip.ParseAddr(t.Host)
	if err != nil {
		return netip.Addr{}
	}
	return a
}
