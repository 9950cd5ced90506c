package policies

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
)

// Allowed values, exactly as documented in docs/agent-yaml.md.
var (
	snmpVersions     = []string{"SNMPv1", "SNMPv2c", "SNMPv3"}
	snmpLevels       = []string{"noAuthNoPriv", "authNoPriv", "authPriv"}
	snmpAuthProtos   = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	snmpPrivProtos   = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
	deviceDrivers    = []string{"ios", "iosxe", "nxos", "nxos_ssh", "eos", "junos", "iosxr", "iosxr_netconf", "netconf"}
	deviceTransports = []string{"ssh", "netconf"}
	hostKeyPolicies  = []string{"strict", "accept-new", "insecure"}
	controllerKinds  = []string{"catalyst_center", "mist"}
)

// checker collects validation errors for one unit (a policy, or the global
// blocks), positioned from what the decoder recorded.
type checker struct {
	d      *decoder
	prefix string
	errs   []*Error
}

func (c *checker) full(rel string) string { return join(c.prefix, rel) }

func (c *checker) set(rel string) bool { return c.d.set[c.full(rel)] }

// find returns where path was written, else its nearest written ancestor.
func (c *checker) find(path string, preferKey bool) Pos {
	first, second := c.d.valPos, c.d.keyPos
	if preferKey {
		first, second = second, first
	}
	for p := path; ; p = parentPath(p) {
		if pos, ok := first[p]; ok {
			return pos
		}
		if pos, ok := second[p]; ok {
			return pos
		}
		if p == "" {
			return Pos{File: c.d.file}
		}
	}
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		return p[:strings.LastIndex(p, "[")]
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

// suppressed reports whether path is, contains or lies inside a value that
// already failed to decode: one mistake gives one error, not a cascade.
func (c *checker) suppressed(path string) bool {
	for b := range c.d.bad {
		if under(b, path) || under(path, b) {
			return true
		}
	}
	return false
}

// errf reports a bad value at the value.
func (c *checker) errf(rel, format string, args ...any) {
	p := c.full(rel)
	if c.suppressed(p) {
		return
	}
	c.errs = append(c.errs, &Error{Pos: c.find(p, false), Path: p, Msg: fmt.Sprintf(format, args...)})
}

// keyErrf reports a problem with a block at its key.
func (c *checker) keyErrf(rel, format string, args ...any) {
	p := c.full(rel)
	for b := range c.d.bad {
		if under(p, b) {
			return
		}
	}
	c.errs = append(c.errs, &Error{Pos: c.find(p, true), Path: p, Msg: fmt.Sprintf(format, args...)})
}

// missing reports that block lacks field, unless field was written but
// failed to decode (already reported).
func (c *checker) missing(block, field, format string, args ...any) {
	if c.d.bad[c.full(join(block, field))] {
		return
	}
	c.keyErrf(block, format, args...)
}

func (c *checker) positive(rel string, v Seconds) bool {
	if v <= 0 {
		c.errf(rel, "must be greater than 0")
		return false
	}
	return true
}

func (c *checker) port(rel string, v int) {
	if v < 1 || v > 65535 {
		c.errf(rel, "port must be between 1 and 65535 (got %d)", v)
	}
}

func (c *checker) oneOf(rel, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	c.errf(rel, "must be one of %s (got %q)", strings.Join(allowed, ", "), v)
	return false
}

func (c *checker) host(rel, h string) HostSpec {
	if h == "" {
		c.missing(parentPath(rel), rel[strings.LastIndex(rel, ".")+1:], "missing %s", rel[strings.LastIndex(rel, ".")+1:])
		return HostSpec{}
	}
	spec, err := ParseHostSpec(h)
	if err != nil {
		c.errf(rel, "%v", err)
	}
	return spec
}

func (c *checker) schedule(rel, s string) {
	if s == "" {
		return
	}
	if _, err := cron.ParseStandard(s); err != nil {
		c.errf(rel, "bad schedule: %v", err)
	}
}

// httpURL checks an http(s) URL without echoing it (it may hold a password).
func (c *checker) httpURL(rel, s, what string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.errf(rel, "must be an http:// or https:// %s URL with a host", what)
	}
}

func (c *checker) defaults(rel string, d *Defaults) {
	if d == nil {
		return
	}
	for i, ip := range d.InterfacePatterns {
		r := fmt.Sprintf("%s.interface_patterns[%d]", rel, i)
		if ip.Match == "" {
			c.missing(r, "match", "missing match")
		} else if _, err := regexp.Compile(ip.Match); err != nil {
			c.errf(r+".match", "bad regular expression: %v", err)
		}
		if ip.Type == "" {
			c.missing(r, "type", "missing type")
		}
	}
}

func fmtSec(s Seconds) string { return strconv.FormatFloat(float64(s), 'f', -1, 64) }

func validateGlobal(cfg *Config, glob *decoder) []*Error {
	c := &checker{d: glob}
	a := &cfg.Agent
	if a.Workers < 1 {
		c.errf(agentPath+".workers", "must be at least 1 (got %d)", a.Workers)
	}
	if a.Listen != "" {
		if _, port, err := net.SplitHostPort(a.Listen); err != nil || port == "" {
			c.errf(agentPath+".listen", "must be host:port like 127.0.0.1:8080, or \"\" to disable the API")
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			c.errf(agentPath+".listen", "port must be a number from 0 to 65535")
		}
	}
	if a.Shard.Count < 1 {
		c.errf(agentPath+".shard.count", "must be at least 1 (got %d)", a.Shard.Count)
	} else if a.Shard.Index < 0 || a.Shard.Index >= a.Shard.Count {
		c.errf(agentPath+".shard.index", "must be from 0 to shard.count-1 (%d), got %d", a.Shard.Count-1, a.Shard.Index)
	}
	if a.ShutdownGrace < 0 {
		c.errf(agentPath+".shutdown_grace", "must not be negative")
	}

	dd := &cfg.Diode
	if dd.Target != "" {
		u, err := url.Parse(dd.Target)
		ok := err == nil && u.Host != "" && slices.Contains([]string{"grpc", "grpcs", "http", "https"}, u.Scheme)
		if !ok {
			c.errf(diodePath+".target", "must be a grpc://, grpcs://, http:// or https:// URL with a host")
		}
	} else if !dd.DryRun {
		c.keyErrf(diodePath, "missing target (required unless dry_run is true)")
	}
	if dd.Proxy.IsSet() {
		c.httpURL(diodePath+".proxy", dd.Proxy.Reveal(), "proxy")
	}
	if dd.SpoolMaxBytes <= 0 {
		c.errf(diodePath+".spool_max_bytes", "must be greater than 0")
	}
	if dd.BatchInterval <= 0 {
		c.errf(diodePath+".batch_interval", "must be greater than 0")
	}
	return c.errs
}

func validatePolicy(p *Policy, c *checker) {
	switch {
	case p.SNMP != nil:
		validateSNMP(p.SNMP, c)
	case p.Device != nil:
		validateDevice(p.Device, c)
	case p.GNMI != nil:
		validateGNMI(p.GNMI, c)
	case p.VCenter != nil:
		validateVCenter(p.VCenter, c)
	case p.Controller != nil:
		validateController(p.Controller, c)
	}
}

func validateSNMP(p *SNMPPolicy, c *checker) {
	cf := &p.Config
	c.schedule("config.schedule", cf.Schedule)
	okT := c.positive("config.timeout", cf.Timeout)
	okS := c.positive("config.snmp_timeout", cf.SNMPTimeout)
	c.positive("config.snmp_probe_timeout", cf.SNMPProbeTimeout)
	if okT && okS && cf.Timeout <= cf.SNMPTimeout {
		if c.set("config.timeout") {
			c.errf("config.timeout", "must be greater than snmp_timeout (%s)", fmtSec(cf.SNMPTimeout))
		} else {
			c.errf("config.snmp_timeout", "must be less than timeout (%s)", fmtSec(cf.Timeout))
		}
	}
	if cf.Retries < 0 {
		c.errf("config.retries", "must not be negative (got %d)", cf.Retries)
	}
	if cf.Options.MaxRepetitions < 1 {
		c.errf("config.options.max_repetitions", "must be at least 1 (got %d)", cf.Options.MaxRepetitions)
	}
	c.defaults("config.defaults", &cf.Defaults)

	if p.Scope.Authentication != nil {
		c.snmpAuth("scope.authentication", p.Scope.Authentication)
	}
	if len(p.Scope.Targets) == 0 {
		c.keyErrf("scope.targets", "empty scope: no targets to discover")
	}
	for i, t := range p.Scope.Targets {
		r := fmt.Sprintf("scope.targets[%d]", i)
		c.host(r+".host", t.Host)
		c.port(r+".port", t.Port)
		switch {
		case t.Authentication != nil:
			c.snmpAuth(r+".authentication", t.Authentication)
		case p.Scope.Authentication == nil:
			c.keyErrf(r, "no authentication: set scope.authentication or this target's authentication")
		}
		c.defaults(r+".override_defaults", t.OverrideDefaults)
	}
}

func (c *checker) snmpAuth(rel string, a *SNMPAuth) {
	notUsed := func(why string, fields map[string]bool) {
		for _, f := range []string{"community", "security_level", "username", "auth_protocol", "auth_passphrase", "priv_protocol", "priv_passphrase", "context_name"} {
			if fields[f] {
				c.keyErrf(rel+"."+f, "not used %s", why)
			}
		}
	}
	switch a.ProtocolVersion {
	case "":
		c.missing(rel, "protocol_version", "missing protocol_version (SNMPv1, SNMPv2c or SNMPv3)")
	case "SNMPv1", "SNMPv2c":
		if !a.Community.IsSet() {
			c.missing(rel, "community", "%s needs a community", a.ProtocolVersion)
		}
		notUsed("with "+a.ProtocolVersion+" (SNMPv3 only)", map[string]bool{
			"security_level": a.SecurityLevel != "", "username": a.Username != "",
			"auth_protocol": a.AuthProtocol != "", "auth_passphrase": a.AuthPassphrase.IsSet(),
			"priv_protocol": a.PrivProtocol != "", "priv_passphrase": a.PrivPassphrase.IsSet(),
			"context_name": a.ContextName != "",
		})
	case "SNMPv3":
		notUsed("with SNMPv3 (use username and passphrases)", map[string]bool{"community": a.Community.IsSet()})
		if a.Username == "" {
			c.missing(rel, "username", "SNMPv3 needs a username")
		}
		switch a.SecurityLevel {
		case "":
			c.missing(rel, "security_level", "SNMPv3 needs a security_level (noAuthNoPriv, authNoPriv or authPriv)")
		case "noAuthNoPriv":
			notUsed("at security_level noAuthNoPriv", map[string]bool{
				"auth_protocol": a.AuthProtocol != "", "auth_passphrase": a.AuthPassphrase.IsSet(),
				"priv_protocol": a.PrivProtocol != "", "priv_passphrase": a.PrivPassphrase.IsSet(),
			})
		case "authNoPriv", "authPriv":
			c.snmpSecret(rel, a.SecurityLevel, "auth", a.AuthProtocol, a.AuthPassphrase, snmpAuthProtos)
			if a.SecurityLevel == "authPriv" {
				c.snmpSecret(rel, a.SecurityLevel, "priv", a.PrivProtocol, a.PrivPassphrase, snmpPrivProtos)
			} else {
				notUsed("at security_level authNoPriv", map[string]bool{
					"priv_protocol": a.PrivProtocol != "", "priv_passphrase": a.PrivPassphrase.IsSet(),
				})
			}
		default:
			c.oneOf(rel+".security_level", a.SecurityLevel, snmpLevels)
		}
	default:
		c.oneOf(rel+".protocol_version", a.ProtocolVersion, snmpVersions)
	}
}

// snmpSecret checks an auth_ or priv_ protocol and passphrase pair.
func (c *checker) snmpSecret(rel, level, kind, proto string, pass Secret, protos []string) {
	if proto == "" {
		c.missing(rel, kind+"_protocol", "security_level %s needs %s_protocol (%s)", level, kind, strings.Join(protos, ", "))
	} else {
		c.oneOf(rel+"."+kind+"_protocol", proto, protos)
	}
	if !pass.IsSet() {
		c.missing(rel, kind+"_passphrase", "security_level %s needs %s_passphrase", level, kind)
	} else if len(pass.Reveal()) < 8 {
		c.errf(rel+"."+kind+"_passphrase", "must be at least 8 characters (SNMPv3 rule)")
	}
}

func validateDevice(p *DevicePolicy, c *checker) {
	cf := &p.Config
	c.schedule("config.schedule", cf.Schedule)
	c.positive("config.timeout", cf.Timeout)
	c.positive("config.options.port_scan_timeout", cf.Options.PortScanTimeout)
	for i, port := range cf.Options.PortScanPorts {
		c.port(fmt.Sprintf("config.options.port_scan_ports[%d]", i), port)
	}
	c.defaults("config.defaults", &cf.Defaults)
	if len(p.Scope) == 0 {
		c.keyErrf("scope", "empty scope: no devices to discover")
	}
	for i, s := range p.Scope {
		r := fmt.Sprintf("scope[%d]", i)
		c.host(r+".hostname", s.Hostname)
		if s.Driver != "" {
			c.oneOf(r+".driver", s.Driver, deviceDrivers)
		}
		if s.Username == "" {
			c.missing(r, "username", "missing username")
		}
		if !s.Password.IsSet() && s.OptionalArgs.KeyFile == "" && !c.d.bad[c.full(r+".optional_args.key_file")] {
			c.missing(r, "password", "missing password or optional_args.key_file")
		}
		oa := s.OptionalArgs
		if c.set(r + ".optional_args.port") {
			c.port(r+".optional_args.port", oa.Port)
		}
		if oa.Transport != "" {
			c.oneOf(r+".optional_args.transport", oa.Transport, deviceTransports)
		}
		c.oneOf(r+".optional_args.host_key_policy", oa.HostKeyPolicy, hostKeyPolicies)
		c.defaults(r+".override_defaults", s.OverrideDefaults)
	}
}

func validateGNMI(p *GNMIPolicy, c *checker) {
	cf := &p.Config
	c.schedule("config.schedule", cf.Schedule)
	c.positive("config.timeout", cf.Timeout)
	c.defaults("config.defaults", &cf.Defaults)
	if len(p.Scope.Targets) == 0 {
		c.keyErrf("scope.targets", "empty scope: no targets to discover")
	}
	for i, t := range p.Scope.Targets {
		r := fmt.Sprintf("scope.targets[%d]", i)
		spec := c.host(r+".host", t.Host)
		c.port(r+".port", t.Port)
		if t.Password.IsSet() && spec.Swept() && (t.TLS.SkipVerify || t.TLS.Insecure) {
			c.errf(r+".password", "a password is never sent to a CIDR or range unless TLS verifies the server (drop tls.skip_verify/tls.insecure or list the hosts)")
		}
		if (t.TLS.Cert == "") != (t.TLS.Key == "") {
			c.keyErrf(r+".tls", "cert and key must be set together")
		}
		c.defaults(r+".override_defaults", t.OverrideDefaults)
	}
}

func validateVCenter(p *VCenterPolicy, c *checker) {
	cf := &p.Config
	c.schedule("config.schedule", cf.Schedule)
	c.positive("config.timeout", cf.Timeout)
	c.defaults("config.defaults", &cf.Defaults)
	s := &p.Scope
	if s.URL == "" {
		c.missing("scope", "url", "missing url")
	} else if u, err := url.Parse(s.URL); err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && s.Insecure) {
		c.errf("scope.url", "must be an https:// URL with a host (http:// only with insecure: true)")
	}
	if s.Username == "" {
		c.missing("scope", "username", "missing username")
	}
	if !s.Password.IsSet() {
		c.missing("scope", "password", "missing password")
	}
}

func validateController(p *ControllerPolicy, c *checker) {
	cf := &p.Config
	c.schedule("config.schedule", cf.Schedule)
	c.positive("config.timeout", cf.Timeout)
	c.defaults("config.defaults", &cf.Defaults)
	s := &p.Scope
	need := func(ok bool, key string) {
		if !ok {
			c.missing("scope", key, "kind %s needs %s", s.Kind, key)
		}
	}
	switch s.Kind {
	case "":
		c.missing("scope", "kind", "missing kind (%s)", strings.Join(controllerKinds, " or "))
		return
	case "catalyst_center":
		need(s.URL != "", "url")
		need(s.Username != "", "username")
		need(s.Password.IsSet(), "password")
	case "mist":
		need(s.Token.IsSet(), "token")
		need(s.OrgID != "", "org_id")
	default:
		c.oneOf("scope.kind", s.Kind, controllerKinds)
		return
	}
	if s.URL != "" {
		c.httpURL("scope.url", s.URL, "controller")
	}
	if s.Proxy.IsSet() {
		c.httpURL("scope.proxy", s.Proxy.Reveal(), "proxy")
	}
}
