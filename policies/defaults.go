package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Defaults (also documented next to each field in types.go).
const (
	DefaultWorkers       = 64
	DefaultListen        = "127.0.0.1:8080"
	DefaultStateDir      = "/var/lib/orbd"
	DefaultShutdownGrace = 30 * time.Second
	DefaultAgentName     = "orbd"
	DefaultSpoolMaxBytes = 1 << 30
	DefaultBatchInterval = 2 * time.Second
	DefaultMistURL       = "https://api.mist.com"
	DefaultSNMPPort      = 161
	DefaultGNMIPort      = 9339
)

// applyGlobalDefaults fills orb.agent and the diode block, including the
// DIODE_* environment fallbacks orb-agent operators already use.
func applyGlobalDefaults(cfg *Config, glob *decoder, getenv func(string) (string, bool)) {
	a := &cfg.Agent
	if !glob.set[agentPath+".workers"] {
		a.Workers = DefaultWorkers
	}
	if !glob.set[agentPath+".listen"] {
		a.Listen = DefaultListen
	}
	if a.StateDir == "" {
		a.StateDir = DefaultStateDir
	}
	if !glob.set[agentPath+".shutdown_grace"] {
		a.ShutdownGrace = Duration(DefaultShutdownGrace)
	}
	if !glob.set[agentPath+".shard.count"] {
		a.Shard.Count = 1
	}

	dd := &cfg.Diode
	env := func(name string) string {
		v, _ := getenv(name)
		return v
	}
	if dd.ClientID == "" {
		dd.ClientID = env("DIODE_CLIENT_ID")
	}
	if !dd.ClientSecret.IsSet() {
		dd.ClientSecret = Secret(env("DIODE_CLIENT_SECRET"))
	}
	if dd.CAFile == "" {
		dd.CAFile = env("DIODE_CERT_FILE")
	}
	if v := strings.ToLower(strings.TrimSpace(env("DIODE_SKIP_TLS_VERIFY"))); v == "true" || v == "1" {
		dd.SkipTLSVerify = true
	}
	if dd.AgentName == "" {
		dd.AgentName = DefaultAgentName
	}
	if dd.SpoolDir == "" {
		dd.SpoolDir = filepath.Join(a.StateDir, "spool")
	}
	if !glob.set[diodePath+".spool_max_bytes"] {
		dd.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if !glob.set[diodePath+".batch_interval"] {
		dd.BatchInterval = Duration(DefaultBatchInterval)
	}
	if dd.DryRun && dd.DryRunOutputDir == "" {
		dd.DryRunOutputDir = "."
	}
}

// normalise fills a policy's defaults and the backend-neutral fields the
// agent schedules by. Keys set explicitly (even to 0) are left for validation.
func normalise(p *Policy, c *checker) {
	secs := func(dst *Seconds, rel string, def Seconds) {
		if !c.set(rel) {
			*dst = def
		}
	}
	switch {
	case p.SNMP != nil:
		cf := &p.SNMP.Config
		secs(&cf.Timeout, "config.timeout", 120)
		secs(&cf.SNMPTimeout, "config.snmp_timeout", 5)
		secs(&cf.SNMPProbeTimeout, "config.snmp_probe_timeout", 1)
		if cf.Options.EmitPrefixes == nil {
			t := true
			cf.Options.EmitPrefixes = &t
		}
		if !c.set("config.options.max_repetitions") {
			cf.Options.MaxRepetitions = 25
		}
		for i := range p.SNMP.Scope.Targets {
			if !c.set(fmt.Sprintf("scope.targets[%d].port", i)) {
				p.SNMP.Scope.Targets[i].Port = DefaultSNMPPort
			}
		}
		p.Schedule, p.RunTimeout, p.Defaults = cf.Schedule, cf.Timeout.Duration(), cf.Defaults
	case p.Device != nil:
		cf := &p.Device.Config
		secs(&cf.Timeout, "config.timeout", 60)
		secs(&cf.Options.PortScanTimeout, "config.options.port_scan_timeout", 0.5)
		if !c.set("config.options.port_scan_ports") {
			cf.Options.PortScanPorts = []int{22, 830}
		}
		for i := range p.Device.Scope {
			if p.Device.Scope[i].OptionalArgs.HostKeyPolicy == "" {
				p.Device.Scope[i].OptionalArgs.HostKeyPolicy = "accept-new"
			}
		}
		p.Schedule, p.TargetTimeout, p.Defaults = cf.Schedule, cf.Timeout.Duration(), cf.Defaults
	case p.GNMI != nil:
		cf := &p.GNMI.Config
		secs(&cf.Timeout, "config.timeout", 60)
		for i := range p.GNMI.Scope.Targets {
			if !c.set(fmt.Sprintf("scope.targets[%d].port", i)) {
				p.GNMI.Scope.Targets[i].Port = DefaultGNMIPort
			}
		}
		p.Schedule, p.TargetTimeout, p.Defaults = cf.Schedule, cf.Timeout.Duration(), cf.Defaults
	case p.VCenter != nil:
		cf := &p.VCenter.Config
		secs(&cf.Timeout, "config.timeout", 300)
		p.Schedule, p.RunTimeout, p.Defaults = cf.Schedule, cf.Timeout.Duration(), cf.Defaults
	case p.Controller != nil:
		cf := &p.Controller.Config
		secs(&cf.Timeout, "config.timeout", 300)
		if p.Controller.Scope.Kind == "mist" && p.Controller.Scope.URL == "" {
			p.Controller.Scope.URL = DefaultMistURL
		}
		p.Schedule, p.RunTimeout, p.Defaults = cf.Schedule, cf.Timeout.Duration(), cf.Defaults
	}
}

// fingerprint hashes everything a policy does, secrets included (a rotated
// password must restart the policy) but only as a digest. Source position is
// left out: moving a policy within the file changes nothing.
func fingerprint(p *Policy) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", p.Backend, p.Name)
	for _, v := range []any{p.SNMP, p.Device, p.GNMI, p.VCenter, p.Controller} {
		hashValue(h, reflect.ValueOf(v))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashValue(h hash.Hash, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		hashValue(h, v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			fmt.Fprintf(h, "%s:", t.Field(i).Name)
			hashValue(h, v.Field(i))
		}
	case reflect.Slice:
		fmt.Fprintf(h, "[%d", v.Len())
		for i := range v.Len() {
			hashValue(h, v.Index(i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		fmt.Fprintf(h, "{%d", len(keys))
		for _, k := range keys {
			hashValue(h, k)
			hashValue(h, v.MapIndex(k))
		}
	case reflect.String: // includes Secret: reflect reads the raw value
		fmt.Fprintf(h, "%d:%s", v.Len(), v.String())
	default:
		fmt.Fprintf(h, "%v;", v.Interface())
	}
}
