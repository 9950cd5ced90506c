// Package policies is the agent.yaml model: loading, ${VAR}/${file:} expansion,
// strict decoding and validation with file:line:col errors, and merging of
// several files. Drivers consume the typed structs defined here; nothing in
// this package talks to the network.
package policies

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Backend names, as in orb-agent's agent.yaml.
const (
	BackendSNMP       = "snmp_discovery"
	BackendDevice     = "device_discovery"
	BackendGNMI       = "gnmi_discovery"
	BackendVCenter    = "vcenter_discovery"
	BackendController = "controller_discovery"
)

// Secret holds a credential. Every printing path shows <redacted>; only
// Reveal gives the value, and only drivers/sinks that send it call Reveal.
type Secret string

func (s Secret) String() string { return redact(s) }

// GoString keeps %#v from leaking the value.
func (s Secret) GoString() string { return redact(s) }

// LogValue keeps slog from leaking the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redact(s)) }

// MarshalJSON keeps status output and dumps from leaking the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redact(s)) }

// MarshalText covers encoders that prefer TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redact(s)), nil }

// Reveal returns the plain value, for the wire only.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether a value was configured.
func (s Secret) IsSet() bool { return s != "" }

func redact(s Secret) string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// Seconds is a duration written as a number of seconds (orb-agent's unit for
// inherited keys); fractions are allowed (0.5).
type Seconds float64

// Duration converts to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// Pos is a place in a config file.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Config is the merged result of every -c file.
type Config struct {
	Files    []string          `json:"files"`
	Labels   map[string]string `json:"labels"`
	Agent    AgentConfig       `json:"agent"`
	Diode    DiodeConfig       `json:"diode"`
	Backends map[string]bool   `json:"backends"` // backends present under orb.backends
	Policies []*Policy         `json:"policies"` // sorted by backend, then name
}

// AgentConfig is orb.agent (orbd's own keys).
type AgentConfig struct {
	Workers       int      `yaml:"workers" json:"workers"`               // default 64
	Listen        string   `yaml:"listen" json:"listen"`                 // default 127.0.0.1:8080; "" disables (explicit empty string)
	Shard         Shard    `yaml:"shard" json:"shard"`                   // default {0,1}
	StateDir      string   `yaml:"state_dir" json:"state_dir"`           // default /var/lib/orbd (known_hosts, etc.)
	ShutdownGrace Duration `yaml:"shutdown_grace" json:"shutdown_grace"` // Go duration, default 30s
}

// Shard splits targets across agents reading the same policies: agent
// Index of Count keeps the targets whose stable hash falls on it.
type Shard struct {
	Index int `yaml:"index" json:"index"`
	Count int `yaml:"count" json:"count"`
}

// Duration is a Go duration string in YAML ("30s").
type Duration time.Duration

// D converts to time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON prints the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// DiodeConfig is orb.backends.common.diode.
type DiodeConfig struct {
	Target          string   `yaml:"target" json:"target"`
	ClientID        string   `yaml:"client_id" json:"client_id"`
	ClientSecret    Secret   `yaml:"client_secret" json:"client_secret"`
	AgentName       string   `yaml:"agent_name" json:"agent_name"` // default "orbd"
	DryRun          bool     `yaml:"dry_run" json:"dry_run"`
	DryRunOutputDir string   `yaml:"dry_run_output_dir" json:"dry_run_output_dir"`
	Proxy           Secret   `yaml:"proxy" json:"proxy"` // URL; may carry user:password, hence Secret
	CAFile          string   `yaml:"ca_file" json:"ca_file"`
	SkipTLSVerify   bool     `yaml:"skip_tls_verify" json:"skip_tls_verify"` // orbd; also DIODE_SKIP_TLS_VERIFY
	SpoolDir        string   `yaml:"spool_dir" json:"spool_dir"`             // default /var/lib/orbd/spool
	SpoolMaxBytes   int64    `yaml:"spool_max_bytes" json:"spool_max_bytes"` // default 1 GiB
	BatchInterval   Duration `yaml:"batch_interval" json:"batch_interval"`   // flush partial batches after this, default 2s
}

// Policy is one orb.policies.<backend>.<name> entry, decoded and validated.
// Exactly one of the backend pointers is set.
type Policy struct {
	Backend string `json:"backend"`
	Name    string `json:"name"`
	Source  Pos    `json:"source"`

	// Normalised from the backend's config block.
	Schedule      string        `json:"schedule,omitempty"` // "" = run once at start
	RunTimeout    time.Duration `json:"run_timeout"`        // bound on one whole run; 0 = none
	TargetTimeout time.Duration `json:"target_timeout"`     // bound on one target; 0 = none
	Defaults      Defaults      `json:"defaults"`

	// Fingerprint changes whenever anything in the policy (after expansion)
	// changes; the agent restarts a policy whose fingerprint changed.
	Fingerprint string `json:"fingerprint"`

	SNMP       *SNMPPolicy       `json:"snmp,omitempty"`
	Device     *DevicePolicy     `json:"device,omitempty"`
	GNMI       *GNMIPolicy       `json:"gnmi,omitempty"`
	VCenter    *VCenterPolicy    `json:"vcenter,omitempty"`
	Controller *ControllerPolicy `json:"controller,omitempty"`
}

// Key is "<backend>/<name>", unique across a Config.
func (p *Policy) Key() string { return p.Backend + "/" + p.Name }

// Defaults are values stamped on what a policy emits. A target's
// override_defaults is merged over them field by field (see Merge).
type Defaults struct {
	Site              string             `yaml:"site" json:"site,omitempty"`
	Role              string             `yaml:"role" json:"role,omitempty"`
	Location          string             `yaml:"location" json:"location,omitempty"`
	Tenant            string             `yaml:"tenant" json:"tenant,omitempty"`
	Description       string             `yaml:"description" json:"description,omitempty"`
	Comments          string             `yaml:"comments" json:"comments,omitempty"`
	Tags              []string           `yaml:"tags" json:"tags,omitempty"`
	Device            DeviceDefaults     `yaml:"device" json:"device"`
	Interface         InterfaceDefaults  `yaml:"interface" json:"interface"`
	InterfacePatterns []InterfacePattern `yaml:"interface_patterns" json:"interface_patterns,omitempty"` // orbd: name regex → NetBox type slug
	IPAddress         IPDefaults         `yaml:"ip_address" json:"ip_address"`
	Prefix            IPDefaults         `yaml:"prefix" json:"prefix"`
	VLAN              VLANDefaults       `yaml:"vlan" json:"vlan"`
}

type DeviceDefaults struct {
	Model        string `yaml:"model" json:"model,omitempty"`
	Manufacturer string `yaml:"manufacturer" json:"manufacturer,omitempty"`
	Platform     string `yaml:"platform" json:"platform,omitempty"`
}

type InterfaceDefaults struct {
	IfType string `yaml:"if_type" json:"if_type,omitempty"`
}

// InterfacePattern maps interface names matching Match (a Go regexp) to a NetBox type slug.
type InterfacePattern struct {
	Match string `yaml:"match" json:"match"`
	Type  string `yaml:"type" json:"type"`
}

type IPDefaults struct {
	VRF    string `yaml:"vrf" json:"vrf,omitempty"`
	Role   string `yaml:"role" json:"role,omitempty"`
	Tenant string `yaml:"tenant" json:"tenant,omitempty"`
}

type VLANDefaults struct {
	Group  string `yaml:"group" json:"group,omitempty"`
	Tenant string `yaml:"tenant" json:"tenant,omitempty"`
	Role   string `yaml:"role" json:"role,omitempty"`
}

// Merge returns d with every field set in over replacing d's (strings when
// non-empty, lists when non-nil). over may be nil.
func (d Defaults) Merge(over *Defaults) Defaults {
	if over == nil {
		return d
	}
	s := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	out := d
	s(&out.Site, over.Site)
	s(&out.Role, over.Role)
	s(&out.Location, over.Location)
	s(&out.Tenant, over.Tenant)
	s(&out.Description, over.Description)
	s(&out.Comments, over.Comments)
	if over.Tags != nil {
		out.Tags = over.Tags
	}
	s(&out.Device.Model, over.Device.Model)
	s(&out.Device.Manufacturer, over.Device.Manufacturer)
	s(&out.Device.Platform, over.Device.Platform)
	s(&out.Interface.IfType, over.Interface.IfType)
	if over.InterfacePatterns != nil {
		out.InterfacePatterns = over.InterfacePatterns
	}
	s(&out.IPAddress.VRF, over.IPAddress.VRF)
	s(&out.IPAddress.Role, over.IPAddress.Role)
	s(&out.IPAddress.Tenant, over.IPAddress.Tenant)
	s(&out.Prefix.VRF, over.Prefix.VRF)
	s(&out.Prefix.Role, over.Prefix.Role)
	s(&out.Prefix.Tenant, over.Prefix.Tenant)
	s(&out.VLAN.Group, over.VLAN.Group)
	s(&out.VLAN.Tenant, over.VLAN.Tenant)
	s(&out.VLAN.Role, over.VLAN.Role)
	return out
}

// ---- snmp_discovery ----

type SNMPPolicy struct {
	Config SNMPConfig `yaml:"config" json:"config"`
	Scope  SNMPScope  `yaml:"scope" json:"scope"`
}

type SNMPConfig struct {
	Schedule            string      `yaml:"schedule" json:"schedule,omitempty"`
	Timeout             Seconds     `yaml:"timeout" json:"timeout"`                       // whole run, default 120
	SNMPTimeout         Seconds     `yaml:"snmp_timeout" json:"snmp_timeout"`             // per request, default 5
	SNMPProbeTimeout    Seconds     `yaml:"snmp_probe_timeout" json:"snmp_probe_timeout"` // default 1
	Retries             int         `yaml:"retries" json:"retries"`                       // default 0
	LookupExtensionsDir string      `yaml:"lookup_extensions_dir" json:"lookup_extensions_dir,omitempty"`
	Defaults            Defaults    `yaml:"defaults" json:"defaults"`
	Options             SNMPOptions `yaml:"options" json:"options"`
}

type SNMPOptions struct {
	EmitPrefixes       *bool `yaml:"emit_prefixes" json:"emit_prefixes,omitempty"` // default true
	CreateUnknownVLANs bool  `yaml:"create_unknown_vlans" json:"create_unknown_vlans"`
	DiscoverVRFs       bool  `yaml:"discover_vrfs" json:"discover_vrfs"`
	DiscoverModules    bool  `yaml:"discover_modules" json:"discover_modules"`
	MaxRepetitions     int   `yaml:"max_repetitions" json:"max_repetitions"` // orbd: GETBULK max-repetitions, default 25
}

type SNMPScope struct {
	Authentication *SNMPAuth    `yaml:"authentication" json:"authentication,omitempty"`
	Targets        []SNMPTarget `yaml:"targets" json:"targets"`
}

type SNMPTarget struct {
	Host             string    `yaml:"host" json:"host"` // IP, CIDR, or range a.b.c.d-e / a.b.c.d-a.b.c.e
	Port             int       `yaml:"port" json:"port"` // default 161
	Authentication   *SNMPAuth `yaml:"authentication" json:"authentication,omitempty"`
	OverrideDefaults *Defaults `yaml:"override_defaults" json:"override_defaults,omitempty"`
	NetboxID         int       `yaml:"netbox_id" json:"netbox_id,omitempty"`
}

type SNMPAuth struct {
	ProtocolVersion string `yaml:"protocol_version" json:"protocol_version"` // SNMPv1 | SNMPv2c | SNMPv3
	Community       Secret `yaml:"community" json:"community,omitempty"`
	SecurityLevel   string `yaml:"security_level" json:"security_level,omitempty"` // noAuthNoPriv | authNoPriv | authPriv
	Username        string `yaml:"username" json:"username,omitempty"`
	AuthProtocol    string `yaml:"auth_protocol" json:"auth_protocol,omitempty"` // MD5 SHA SHA224 SHA256 SHA384 SHA512
	AuthPassphrase  Secret `yaml:"auth_passphrase" json:"auth_passphrase,omitempty"`
	PrivProtocol    string `yaml:"priv_protocol" json:"priv_protocol,omitempty"` // DES AES AES192 AES256 AES192C AES256C
	PrivPassphrase  Secret `yaml:"priv_passphrase" json:"priv_passphrase,omitempty"`
	ContextName     string `yaml:"context_name" json:"context_name,omitempty"`
}

// ---- device_discovery ----

type DevicePolicy struct {
	Config DeviceConfig  `yaml:"config" json:"config"`
	Scope  []DeviceScope `yaml:"scope" json:"scope"`
}

type DeviceConfig struct {
	Schedule string        `yaml:"schedule" json:"schedule,omitempty"`
	Timeout  Seconds       `yaml:"timeout" json:"timeout"` // per device, default 60
	Defaults Defaults      `yaml:"defaults" json:"defaults"`
	Options  DeviceOptions `yaml:"options" json:"options"`
}

type DeviceOptions struct {
	PortScanPorts        []int   `yaml:"port_scan_ports" json:"port_scan_ports"`     // default [22, 830]
	PortScanTimeout      Seconds `yaml:"port_scan_timeout" json:"port_scan_timeout"` // default 0.5
	CaptureRunningConfig bool    `yaml:"capture_running_config" json:"capture_running_config"`
}

type DeviceScope struct {
	Hostname         string     `yaml:"hostname" json:"hostname"` // IP, name, CIDR or range
	Driver           string     `yaml:"driver" json:"driver,omitempty"`
	Username         string     `yaml:"username" json:"username,omitempty"`
	Password         Secret     `yaml:"password" json:"password,omitempty"`
	OptionalArgs     DeviceArgs `yaml:"optional_args" json:"optional_args"`
	OverrideDefaults *Defaults  `yaml:"override_defaults" json:"override_defaults,omitempty"`
	NetboxID         int        `yaml:"netbox_id" json:"netbox_id,omitempty"`
}

type DeviceArgs struct {
	Port          int    `yaml:"port" json:"port,omitempty"`
	Transport     string `yaml:"transport" json:"transport,omitempty"` // ssh | netconf
	Secret        Secret `yaml:"secret" json:"secret,omitempty"`       // enable secret
	KeyFile       string `yaml:"key_file" json:"key_file,omitempty"`
	KeyPassphrase Secret `yaml:"key_passphrase" json:"key_passphrase,omitempty"`
	HostKeyPolicy string `yaml:"host_key_policy" json:"host_key_policy,omitempty"` // strict | accept-new (default) | insecure
	KnownHosts    string `yaml:"known_hosts" json:"known_hosts,omitempty"`
}

// ---- gnmi_discovery ----

type GNMIPolicy struct {
	Config GNMIConfig `yaml:"config" json:"config"`
	Scope  GNMIScope  `yaml:"scope" json:"scope"`
}

type GNMIConfig struct {
	Schedule string   `yaml:"schedule" json:"schedule,omitempty"`
	Timeout  Seconds  `yaml:"timeout" json:"timeout"` // per target, default 60
	Defaults Defaults `yaml:"defaults" json:"defaults"`
}

type GNMIScope struct {
	Targets []GNMITarget `yaml:"targets" json:"targets"`
}

type GNMITarget struct {
	Host             string    `yaml:"host" json:"host"`
	Port             int       `yaml:"port" json:"port"` // default 9339
	Username         string    `yaml:"username" json:"username,omitempty"`
	Password         Secret    `yaml:"password" json:"password,omitempty"`
	TLS              GNMITLS   `yaml:"tls" json:"tls"`
	OverrideDefaults *Defaults `yaml:"override_defaults" json:"override_defaults,omitempty"`
	NetboxID         int       `yaml:"netbox_id" json:"netbox_id,omitempty"`
}

type GNMITLS struct {
	SkipVerify bool   `yaml:"skip_verify" json:"skip_verify"`
	Insecure   bool   `yaml:"insecure" json:"insecure"` // plaintext, no TLS
	CA         string `yaml:"ca" json:"ca,omitempty"`
	Cert       string `yaml:"cert" json:"cert,omitempty"`
	Key        string `yaml:"key" json:"key,omitempty"`
}

// ---- vcenter_discovery ----

type VCenterPolicy struct {
	Config VCenterConfig `yaml:"config" json:"config"`
	Scope  VCenterScope  `yaml:"scope" json:"scope"`
}

type VCenterConfig struct {
	Schedule string         `yaml:"schedule" json:"schedule,omitempty"`
	Timeout  Seconds        `yaml:"timeout" json:"timeout"` // whole run, default 300
	Defaults Defaults       `yaml:"defaults" json:"defaults"`
	Options  VCenterOptions `yaml:"options" json:"options"`
}

type VCenterOptions struct {
	IncludeTemplates bool `yaml:"include_templates" json:"include_templates"`
}

type VCenterScope struct {
	URL         string   `yaml:"url" json:"url"`
	Username    string   `yaml:"username" json:"username"`
	Password    Secret   `yaml:"password" json:"password"`
	CAFile      string   `yaml:"ca_file" json:"ca_file,omitempty"`
	Insecure    bool     `yaml:"insecure" json:"insecure"`
	Datacenters []string `yaml:"datacenters" json:"datacenters,omitempty"`
}

// ---- controller_discovery ----

type ControllerPolicy struct {
	Config ControllerConfig `yaml:"config" json:"config"`
	Scope  ControllerScope  `yaml:"scope" json:"scope"`
}

type ControllerConfig struct {
	Schedule string   `yaml:"schedule" json:"schedule,omitempty"`
	Timeout  Seconds  `yaml:"timeout" json:"timeout"` // whole run, default 300
	Defaults Defaults `yaml:"defaults" json:"defaults"`
}

type ControllerScope struct {
	Kind     string `yaml:"kind" json:"kind"` // catalyst_center | mist
	URL      string `yaml:"url" json:"url"`   // mist default https://api.mist.com
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	Token    Secret `yaml:"token" json:"token,omitempty"`
	OrgID    string `yaml:"org_id" json:"org_id,omitempty"`
	CAFile   string `yaml:"ca_file" json:"ca_file,omitempty"`
	Insecure bool   `yaml:"insecure" json:"insecure"`
	Proxy    Secret `yaml:"proxy" json:"proxy,omitempty"` // URL; may carry user:password
}
