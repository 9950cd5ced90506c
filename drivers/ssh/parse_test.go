package ssh

import (
	"errors"
	"strings"
	"testing"

	"github.com/orbd/orbd/drivers"
)

func TestIfType(t *testing.T) {
	for _, tc := range []struct {
		name, media string
		kbps        int64
		want        string
		mgmt        bool
	}{
		{"GigabitEthernet1/0/1", "10/100/1000BaseTX", 1_000_000, "1000base-t", false},
		{"GigabitEthernet1/1/1", "1000BaseSX SFP", 0, "1000base-x-sfp", false},
		{"Gi0/1", "", 0, "1000base-t", false},
		{"TenGigabitEthernet1/1/1", "SFP-10GBase-SR", 0, "10gbase-x-sfpp", false},
		{"Te1/1/2", "", 0, "10gbase-x-sfpp", false},
		{"TenGigE0/0/0/0", "", 0, "10gbase-x-sfpp", false},
		{"TwentyFiveGigE1/0/1", "", 0, "25gbase-x-sfp28", false},
		{"Twe1/0/1", "", 0, "25gbase-x-sfp28", false},
		{"FortyGigabitEthernet1/1/1", "", 0, "40gbase-x-qsfpp", false},
		{"HundredGigE0/1/0/0", "", 0, "100gbase-x-qsfp28", false},
		{"Hu0/0/1", "", 0, "100gbase-x-qsfp28", false},
		{"FastEthernet0/1", "", 0, "100base-tx", false},
		{"Port-channel1", "", 0, "lag", false},
		{"port-channel10", "", 0, "lag", false},
		{"Bundle-Ether10", "", 0, "lag", false},
		{"ae0", "", 0, "lag", false},
		{"Vlan10", "", 0, "virtual", false},
		{"Loopback0", "", 0, "virtual", false},
		{"lo0", "", 0, "virtual", false},
		{"lo0.0", "", 0, "virtual", false},
		{"Tunnel10", "", 0, "virtual", false},
		{"irb", "", 0, "virtual", false},
		{"GigabitEthernet2.100", "", 0, "virtual", false},
		{"mgmt0", "", 0, "1000base-t", true},
		{"Management1", "", 0, "1000base-t", true},
		{"MgmtEth0/RSP0/CPU0/0", "", 0, "1000base-t", true},
		{"fxp0", "", 0, "1000base-t", true},
		{"Ethernet1", "", 25_000_000, "25gbase-x-sfp28", false},
		{"Ethernet49/1", "", 100_000_000, "100gbase-x-qsfp28", false},
		{"Ethernet3", "", 1_000_000, "1000base-t", false},
		{"Ethernet4", "", 0, "other", false},
		{"Ethernet5", "", 2_500_000, "2.5gbase-t", false},
		{"Ethernet6", "", 800_000_000, "800gbase-x-qsfpdd", false},
		{"Ethernet7", "", 20_000_000, "other", false},
		{"et-0/0/0", "", 100_000_000, "100gbase-x-qsfp28", false},
		{"xe-0/1/0", "", 0, "10gbase-x-sfpp", false},
		{"ge-0/0/0", "", 0, "1000base-t", false},
		{"Serial0/0/0", "", 0, "other", false},
	} {
		got, mgmt := IfType(tc.name, tc.media, tc.kbps)
		if got != tc.want || mgmt != tc.mgmt {
			t.Errorf("IfType(%q, %q, %d) = %q, %v; want %q, %v", tc.name, tc.media, tc.kbps, got, mgmt, tc.want, tc.mgmt)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"enable secret 9 $9$abc", "enable secret 9 <removed>"},
		{"enable password 7 0822455D0A16", "enable password 7 <removed>"},
		{"username admin privilege 15 secret 9 $9$x", "username admin privilege 15 secret 9 <removed>"},
		{"username ops password 5 $5$KJ  role network-operator", "username ops password 5 <removed>"},
		{"username admin privilege 15 role network-admin secret sha512 $6$a", "username admin privilege 15 role network-admin secret <removed>"},
		{"username bot ssh-key ssh-ed25519 AAAAC3Nz bot@ci", "username bot ssh-key ssh-ed25519 <removed>"},
		{"snmp-server community s3cr3t RO", "snmp-server community <removed>"},
		{"snmp-server user admin network-admin auth md5 0x12 priv 0x34 localizedkey", "snmp-server user admin network-admin auth <removed>"},
		{" key 7 13061E010803557878", " key 7 <removed>"},
		{"tacacs-server key 7 045802150C2E", "tacacs-server key 7 <removed>"},
		{" neighbor 10.0.0.0 password 7 104D000A0618", " neighbor 10.0.0.0 password 7 <removed>"},
		{" ip ospf message-digest-key 1 md5 7 045802150C2E", " ip ospf message-digest-key 1 md5 7 <removed>"},
		{" password 7 110A1016141D", " password 7 <removed>"},
		{` encrypted-password "$6$abc"; ## SECRET-DATA`, ` encrypted-password <removed>`},
		{` authentication-key "$9$abc"; ## SECRET-DATA`, ` authentication-key <removed>`},
		{" secret 10 $6$abc", " secret <removed>"},
		{" lsp-password hmac-md5 encrypted 0822455D0A16", " lsp-password hmac-md5 encrypted <removed>"},
		{"enable secret sha512 $6$s3cr3t", "enable secret <removed>"}, // EOS
		{"crypto isakmp key s3cr3t address 0.0.0.0", "crypto isakmp key <removed>"},
		{" pre-shared-key address 10.0.0.1 key s3cr3t", " pre-shared-key <removed>"},
		{"  key-string 7 s3cr3t", "  key-string 7 <removed>"},
		{" wpa-psk ascii 0 s3cr3t", " wpa-psk ascii 0 <removed>"},
		{"snmp-server host 10.0.0.1 informs version 2c s3cr3t", "snmp-server host 10.0.0.1 informs version 2c <removed>"},
		{"ntp authentication-key 1 md5 s3cr3t 7", "ntp authentication-key 1 md5 <removed>"},
		{" standby 1 authentication md5 key-string s3cr3t", " standby 1 authentication md5 key-string <removed>"},
		{" vrrp 1 authentication text s3cr3t", " vrrp 1 authentication text <removed>"},
		{" ppp chap password 7 s3cr3t", " ppp chap password 7 <removed>"},
		// Junos: hierarchy, set style, SECRET-DATA marks and $9$ values
		{` secret "$9$abcDEF"; ## SECRET-DATA`, ` secret <removed>`},
		{`    pre-shared-key ascii-text "$9$abc"; ## SECRET-DATA`, `    pre-shared-key <removed>`},
		{`    hello-authentication-key "$9$abc"; ## SECRET-DATA`, `    hello-authentication-key <removed>`},
		{`    simple-password "$9$abc"; ## SECRET-DATA`, `    simple-password <removed>`},
		{`set system login user ops authentication encrypted-password "$6$abc"`, `set system login user ops authentication encrypted-password <removed>`},
		{`set protocols isis interface ge-0/0/0.0 level 2 hello-authentication-key "$9$abc"`, `set protocols isis interface ge-0/0/0.0 level 2 hello-authentication-key <removed>`},
		{`set snmp community s3cr3t authorization read-only`, `set snmp community <removed>`},
		{"hostname sw1", "hostname sw1"},
		{"service password-encryption", "service password-encryption"},
		{" ip authentication key-chain eigrp 1 KC", " ip authentication key-chain eigrp 1 KC"},
		{" description key account", " description key account"},
		{" ip address 10.0.0.1 255.255.255.0", " ip address 10.0.0.1 255.255.255.0"},
	} {
		if got := MaskSecrets(tc.in); got != tc.want {
			t.Errorf("MaskSecrets(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// a PEM key block is removed whole
	pem := "crypto key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY-----\nend"
	got := MaskSecrets(pem)
	if strings.Contains(got, "MIIE") || strings.Contains(got, "abcdef") || !strings.HasSuffix(got, "end") {
		t.Errorf("PEM block not masked: %q", got)
	}
}

func TestParserErrors(t *testing.T) {
	garbage := "\x00\x01 ???? lorem ipsum\n%%%%\n"
	if err := ParseIOSVersion(garbage, &drivers.Device{}); err == nil {
		t.Error("ParseIOSVersion accepted garbage")
	}
	if _, err := ParseIOSInterfaces(garbage); err == nil {
		t.Error("ParseIOSInterfaces accepted garbage")
	}
	if _, _, err := ParseIOSAddresses("Gi1 is up, line protocol is up\n  Internet address is 10.0.0.300/24\n"); err == nil || !strings.Contains(err.Error(), "interface Gi1") {
		t.Errorf("bad address: err = %v, want one naming interface Gi1", err)
	}
	if err := ParseEOS("{not json", "", "", "", "", &drivers.Device{}); err == nil || !strings.Contains(err.Error(), "bad JSON") {
		t.Errorf("ParseEOS on bad JSON: %v", err)
	}
	if _, err := ParseJunosJSON([]byte("<xml/>")); err == nil {
		t.Error("ParseJunosJSON accepted XML")
	}
	if _, err := JunosDevice(&Node{}, nil, nil); err == nil {
		t.Error("JunosDevice without software-information succeeded")
	}
	// a required command the device rejects is an error naming it; an
	// optional one is skipped
	err := collectIOS(mapRunner{"show version": mustProfile(t, "iosv-noserial")["show version"]}, &drivers.Device{}, false)
	if !errors.Is(err, ErrUnsupportedCommand) || !strings.Contains(err.Error(), "show interfaces") {
		t.Errorf("missing show interfaces: %v", err)
	}
}

func TestPlatformFromVersion(t *testing.T) {
	for profile, want := range map[string]string{
		"iosxe-c9300": PlatformIOSXE, "ios-isr2901": PlatformIOSXE, "iosxr-asr9k": PlatformIOSXR,
	} {
		if got := PlatformFromVersion(mustProfile(t, profile)["show version"]); got != want {
			t.Errorf("%s: %q, want %q", profile, got, want)
		}
	}
	for out, want := range map[string]string{
		"Cisco Nexus Operating System (NX-OS) Software": PlatformNXOS,
		"Arista DCS-7050SX3-48YC8-F":                    PlatformEOS,
		"Hostname: mx1\nModel: mx204\nJunos: 21.2R3":    PlatformJunos,
		"Linux vm 6.1.0":                                "",
	} {
		if got := PlatformFromVersion(out); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
}

func TestNatLessAndShortIf(t *testing.T) {
	if !natLess("Ethernet2", "Ethernet10") || natLess("Ethernet10", "Ethernet2") {
		t.Error("natLess does not order numbers numerically")
	}
	for a, b := range map[string]string{"GigabitEthernet1/0/47": "Gi1/0/47", "TwentyFiveGigE1/0/1": "Twe1/0/1", "Port-channel1": "Po1", "TenGigabitEthernet1/1/1": "Te1/1/1"} {
		if shortIf(a) != shortIf(b) {
			t.Errorf("shortIf(%q)=%q != shortIf(%q)=%q", a, shortIf(a), b, shortIf(b))
		}
	}
	if shortIf("TenGigabitEthernet1/1/1") == shortIf("TwentyFiveGigE1/1/1") {
		t.Error("Te and Twe collide")
	}
}
