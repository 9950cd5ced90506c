package policies

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// noEnv is an empty environment: tests never depend on the host's.
func noEnv(string) (string, bool) { return "", false }

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestInvalid loads one testdata/invalid-<rule>.yaml per validation rule and
// asserts the exact, complete error text (file:line:col: path: message).
func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		want []string // lines, without the leading "testdata/invalid-<name>.yaml:"
	}{
		{"backend-not-enabled", []string{
			"7:7: orb.policies.snmp_discovery.core: backend snmp_discovery is not enabled: add \"snmp_discovery: {}\" under orb.backends (orb-agent requires it)",
		}},
		{"backend-settings", []string{
			"5:22: orb.backends.snmp_discovery.workers: orbd takes no settings for backend snmp_discovery; put them in the policy config",
		}},
		{"cidr-too-big", []string{
			"12:21: orb.policies.snmp_discovery.core.scope.targets[0].host: CIDR \"10.0.0.0/8\" has more than 65536 addresses; split it",
		}},
		{"cidr", []string{
			"12:21: orb.policies.snmp_discovery.core.scope.targets[0].host: bad CIDR \"10.0.0.0/33\": prefix length out of range",
		}},
		{"config-manager", []string{
			"2:28: orb.config_manager.active: only \"local\" is supported (got \"git\")",
		}},
		{"controller-catalyst", []string{
			"9:9: orb.policies.controller_discovery.p1.scope: kind catalyst_center needs password",
		}},
		{"controller-kind", []string{
			"10:17: orb.policies.controller_discovery.p1.scope.kind: must be one of catalyst_center, mist (got \"meraki\")",
		}},
		{"controller-mist", []string{
			"9:9: orb.policies.controller_discovery.p1.scope: kind mist needs token",
		}},
		{"controller-proxy", []string{
			"13:18: orb.policies.controller_discovery.p1.scope.proxy: must be an http:// or https:// proxy URL with a host",
		}},
		{"cron", []string{
			"10:21: orb.policies.snmp_discovery.core.config.schedule: bad schedule: expected exactly 5 fields, found 4: [*/15 * * *]",
		}},
		{"device-credentials", []string{
			"10:13: orb.policies.device_discovery.p1.scope[0]: missing password or optional_args.key_file",
		}},
		{"device-driver", []string{
			"11:21: orb.policies.device_discovery.p1.scope[0].driver: must be one of ios, iosxe, nxos, nxos_ssh, eos, junos, iosxr, iosxr_netconf, netconf (got \"cisco_ios\")",
		}},
		{"device-empty-scope", []string{
			"10:9: orb.policies.device_discovery.p1.scope: empty scope: no devices to discover",
		}},
		{"device-host-key-policy", []string{
			"13:46: orb.policies.device_discovery.p1.scope[0].optional_args.host_key_policy: must be one of strict, accept-new, insecure (got \"accept\")",
		}},
		{"device-hostname", []string{
			"10:13: orb.policies.device_discovery.p1.scope[0]: missing hostname",
		}},
		{"device-scan-port", []string{
			"10:43: orb.policies.device_discovery.p1.config.options.port_scan_ports[1]: port must be between 1 and 65535 (got 0)",
		}},
		{"device-transport", []string{
			"13:40: orb.policies.device_discovery.p1.scope[0].optional_args.transport: must be one of ssh, netconf (got \"telnet\")",
		}},
		{"device-username", []string{
			"10:13: orb.policies.device_discovery.p1.scope[0]: missing username",
		}},
		{"diode-no-target", []string{
			"4:7: orb.backends.common.diode: missing target (required unless dry_run is true)",
		}},
		{"diode-proxy", []string{
			"4:37: orb.backends.common.diode.proxy: must be an http:// or https:// proxy URL with a host",
		}},
		{"diode-target", []string{
			"4:23: orb.backends.common.diode.target: must be a grpc://, grpcs://, http:// or https:// URL with a host",
		}},
		{"duplicate-key", []string{
			"11:11: orb.policies.snmp_discovery.core.config.timeout: duplicate key \"timeout\" (first at line 10)",
		}},
		{"empty", []string{
			"1:1: empty config: expected a mapping with key orb",
		}},
		{"env-missing", []string{
			"10:66: orb.policies.snmp_discovery.core.scope.authentication.community: environment variable NOT_SET_ANYWHERE is not set",
		}},
		{"expansion-unterminated", []string{
			"10:66: orb.policies.snmp_discovery.core.scope.authentication.community: unterminated \"${\" (write $$ for a literal $)",
		}},
		{"file-missing", []string{
			"10:66: orb.policies.snmp_discovery.core.scope.authentication.community: cannot read file \"/nonexistent/community\": no such file or directory",
		}},
		{"gnmi-cert", []string{
			"12:15: orb.policies.gnmi_discovery.p1.scope.targets[0].tls: cert and key must be set together",
		}},
		{"gnmi-password-range", []string{
			"13:25: orb.policies.gnmi_discovery.p1.scope.targets[0].password: a password is never sent to a CIDR or range unless TLS verifies the server (drop tls.skip_verify/tls.insecure or list the hosts)",
		}},
		{"host", []string{
			"12:21: orb.policies.snmp_discovery.core.scope.targets[0].host: \"10.0.0.300\" is not an IP address, CIDR, range or host name",
		}},
		{"interface-pattern-type", []string{
			"14:38: orb.policies.snmp_discovery.core.scope.targets[0].override_defaults.interface_patterns[0]: missing type",
		}},
		{"interface-pattern", []string{
			"12:25: orb.policies.snmp_discovery.core.config.defaults.interface_patterns[0].match: bad regular expression: error parsing regexp: missing closing ): `^(Gi|Te`",
		}},
		{"listen", []string{
			"2:19: orb.agent.listen: must be host:port like 127.0.0.1:8080, or \"\" to disable the API",
		}},
		{"many", []string{
			"4:14: orb.agent.workers: expected an integer, got \"many\"",
			"5:5: orb.agent.listen_addr: unknown key \"listen_addr\"; allowed: listen, shard, shutdown_grace, state_dir, workers",
			"16:21: orb.policies.snmp_discovery.core.config.schedule: bad schedule: expected exactly 5 fields, found 3: [every 5 minutes]",
			"19:11: orb.policies.snmp_discovery.core.config.timeout: duplicate key \"timeout\" (first at line 17)",
			"21:11: orb.policies.snmp_discovery.core.scope.authentication: SNMPv3 needs a username",
			"25:30: orb.policies.snmp_discovery.core.scope.authentication.auth_passphrase: environment variable SNMP_AUTH is not set",
			"27:30: orb.policies.snmp_discovery.core.scope.authentication.priv_passphrase: environment variable SNMP_PRIV is not set",
			"30:21: orb.policies.snmp_discovery.core.scope.targets[1].host: bad range \"10.0.1.1-0\": end before start or mixed families",
			"31:21: orb.policies.snmp_discovery.core.scope.targets[1].port: port must be between 1 and 65535 (got 65536)",
			"36:21: orb.policies.device_discovery.edge.scope[0].driver: must be one of ios, iosxe, nxos, nxos_ssh, eos, junos, iosxr, iosxr_netconf, netconf (got \"IOS\")",
			"38:23: orb.policies.device_discovery.edge.scope[0].password: environment variable DEVICE_PASSWORD is not set",
			"40:7: orb.policies.gnmi_discovery.spine: backend gnmi_discovery is not enabled: add \"gnmi_discovery: {}\" under orb.backends (orb-agent requires it)",
		}},
		{"misplaced-key", []string{
			"10:11: orb.policies.snmp_discovery.core.scope.snmp_timeout: key \"snmp_timeout\" does not belong here; it goes under orb.policies.snmp_discovery.core.config",
		}},
		{"missing-orb", []string{
			"1:1: agent: key \"agent\" does not belong here; it goes under orb",
		}},
		{"no-diode", []string{
			"2:3: orb.backends.common.diode: missing target (required unless dry_run is true)",
		}},
		{"policy-name", []string{
			"8:7: orb.policies.snmp_discovery.core switches: policy name \"core switches\" may only contain letters, digits, _, . and -",
		}},
		{"port-range", []string{
			"13:21: orb.policies.snmp_discovery.core.scope.targets[0].port: port must be between 1 and 65535 (got 70000)",
		}},
		{"port-zero", []string{
			"13:21: orb.policies.snmp_discovery.core.scope.targets[0].port: port must be between 1 and 65535 (got 0)",
		}},
		{"range", []string{
			"12:21: orb.policies.snmp_discovery.core.scope.targets[0].host: bad range \"10.0.0.20-10\": end before start or mixed families",
		}},
		{"shard", []string{
			"3:20: orb.agent.shard.index: must be from 0 to shard.count-1 (1), got 2",
		}},
		{"snmp-community", []string{
			"10:11: orb.policies.snmp_discovery.core.scope.authentication: SNMPv2c needs a community",
		}},
		{"snmp-empty-scope", []string{
			"8:7: orb.policies.snmp_discovery.core.scope.targets: empty scope: no targets to discover",
		}},
		{"snmp-max-repetitions", []string{
			"10:38: orb.policies.snmp_discovery.core.config.options.max_repetitions: must be at least 1 (got 0)",
		}},
		{"snmp-no-auth", []string{
			"11:15: orb.policies.snmp_discovery.core.scope.targets[0]: no authentication: set scope.authentication or this target's authentication",
		}},
		{"listen-port", []string{
			"2:19: orb.agent.listen: port must be a number from 0 to 65535",
		}},
		{"diode-spool-max-bytes", []string{
			"4:47: orb.backends.common.diode.spool_max_bytes: must be greater than 0",
		}},
		{"diode-batch-interval", []string{
			"4:46: orb.backends.common.diode.batch_interval: must be greater than 0",
		}},
		{"snmp-no-version", []string{
			"10:11: orb.policies.snmp_discovery.core.scope.authentication: missing protocol_version (SNMPv1, SNMPv2c or SNMPv3)",
		}},
		{"interface-pattern-match", []string{
			"14:38: orb.policies.snmp_discovery.core.scope.targets[0].override_defaults.interface_patterns[0]: missing match",
		}},
		{"snmp-retries", []string{
			"10:20: orb.policies.snmp_discovery.core.config.retries: must not be negative (got -1)",
		}},
		{"snmp-timeout-default", []string{
			"10:25: orb.policies.snmp_discovery.core.config.snmp_timeout: must be less than timeout (120)",
		}},
		{"snmp-timeout", []string{
			"10:20: orb.policies.snmp_discovery.core.config.timeout: must be greater than snmp_timeout (5)",
		}},
		{"snmp-v2c-v3-keys", []string{
			"10:74: orb.policies.snmp_discovery.core.scope.authentication.username: not used with SNMPv2c (SNMPv3 only)",
		}},
		{"snmp-v3-auth-passphrase", []string{
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: security_level authNoPriv needs auth_passphrase",
		}},
		{"snmp-v3-auth-protocol-value", []string{
			"16:32: orb.policies.snmp_discovery.core.scope.targets[0].authentication.auth_protocol: must be one of MD5, SHA, SHA224, SHA256, SHA384, SHA512 (got \"SHA1\")",
		}},
		{"snmp-v3-auth-protocol", []string{
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: security_level authNoPriv needs auth_protocol (MD5, SHA, SHA224, SHA256, SHA384, SHA512)",
		}},
		{"snmp-v3-community", []string{
			"16:17: orb.policies.snmp_discovery.core.scope.targets[0].authentication.community: not used with SNMPv3 (use username and passphrases)",
		}},
		{"snmp-v3-level-value", []string{
			"14:33: orb.policies.snmp_discovery.core.scope.targets[0].authentication.security_level: must be one of noAuthNoPriv, authNoPriv, authPriv (got \"authpriv\")",
		}},
		{"snmp-v3-level", []string{
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: SNMPv3 needs a security_level (noAuthNoPriv, authNoPriv or authPriv)",
		}},
		{"snmp-v3-noauth-extra", []string{
			"16:17: orb.policies.snmp_discovery.core.scope.targets[0].authentication.auth_protocol: not used at security_level noAuthNoPriv",
		}},
		{"snmp-v3-priv-protocol-value", []string{
			"18:32: orb.policies.snmp_discovery.core.scope.targets[0].authentication.priv_protocol: must be one of DES, AES, AES192, AES256, AES192C, AES256C (got \"AES128\")",
		}},
		{"snmp-v3-priv", []string{
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: security_level authPriv needs priv_protocol (DES, AES, AES192, AES256, AES192C, AES256C)",
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: security_level authPriv needs priv_passphrase",
		}},
		{"snmp-v3-short-passphrase", []string{
			"17:34: orb.policies.snmp_discovery.core.scope.targets[0].authentication.auth_passphrase: must be at least 8 characters (SNMPv3 rule)",
		}},
		{"snmp-v3-username", []string{
			"12:15: orb.policies.snmp_discovery.core.scope.targets[0].authentication: SNMPv3 needs a username",
		}},
		{"snmp-version", []string{
			"10:46: orb.policies.snmp_discovery.core.scope.authentication.protocol_version: must be one of SNMPv1, SNMPv2c, SNMPv3 (got \"v2c\")",
		}},
		{"snmp-zero-timeout", []string{
			"10:31: orb.policies.snmp_discovery.core.config.snmp_probe_timeout: must be greater than 0",
		}},
		{"syntax-indent", []string{
			"4:4: YAML syntax error: value is not allowed in this context",
		}},
		{"syntax", []string{
			"2:20: YAML syntax error: could not find end character of double-quoted text",
		}},
		{"two-documents", []string{
			"14:1: only one YAML document per file is allowed (document 2)",
		}},
		{"unknown-backend", []string{
			"6:5: orb.backends.network_discovery: unknown backend \"network_discovery\"; known: common, snmp_discovery, device_discovery, gnmi_discovery, vcenter_discovery, controller_discovery",
		}},
		{"unknown-key-typo", []string{
			"10:11: orb.policies.snmp_discovery.core.config.timout: unknown key \"timout\"; did you mean \"timeout\"?",
		}},
		{"unknown-key", []string{
			"7:5: orb.agent.wrkers_count: unknown key \"wrkers_count\"; allowed: listen, shard, shutdown_grace, state_dir, workers",
		}},
		{"unknown-policy-backend", []string{
			"7:5: orb.policies.snmp_discovry: unknown backend \"snmp_discovry\"; did you mean \"snmp_discovery\"?",
		}},
		{"vcenter-url", []string{
			"10:16: orb.policies.vcenter_discovery.p1.scope.url: must be an https:// URL with a host (http:// only with insecure: true)",
		}},
		{"vcenter-username", []string{
			"9:9: orb.policies.vcenter_discovery.p1.scope: missing username",
		}},
		{"workers", []string{
			"2:20: orb.agent.workers: must be at least 1 (got 0)",
		}},
		{"wrong-type-bool", []string{
			"10:36: orb.policies.snmp_discovery.core.config.options.emit_prefixes: expected true or false, got \"maybe\"",
		}},
		{"wrong-type-duration", []string{
			"7:21: orb.agent.shutdown_grace: expected a duration like 30s, got \"30\"",
		}},
		{"wrong-type-int", []string{
			"13:21: orb.policies.snmp_discovery.core.scope.targets[0].port: expected an integer, got \"abc\"",
		}},
		{"wrong-type-list", []string{
			"11:20: orb.policies.snmp_discovery.core.scope.targets: expected a list of targets, got a string",
		}},
		{"wrong-type-mapping", []string{
			"6:10: orb.agent: expected a mapping, got a list",
		}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen["testdata/invalid-"+tc.name+".yaml"] = true
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := "testdata/invalid-" + tc.name + ".yaml"
			cfg, err := Load([]string{file}, LoadOptions{Getenv: noEnv})
			if err == nil {
				t.Fatalf("Load(%s) succeeded with %d policies, want errors", file, len(cfg.Policies))
			}
			if cfg != nil {
				t.Errorf("Load returned a config alongside errors")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want Errors", err)
			}
			want := make([]string, len(tc.want))
			for i, l := range tc.want {
				want[i] = file + ":" + l
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("errors:\n got: %s\nwant: %s", got, strings.Join(want, "\n"))
			}
			if len(es) != len(tc.want) {
				t.Errorf("got %d errors, want %d", len(es), len(tc.want))
			}
		})
	}
	// Every invalid file in testdata must be covered by a case above.
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	for _, f := range files {
		if !seen[f] && f != "testdata/invalid-many.yaml" {
			t.Errorf("%s has no test case", f)
		}
	}
}
