package snmp

import (
	"testing"

	"github.com/gosnmp/gosnmp"
)

// Realistic sysDescr strings, as devices of each family send them.
func TestParseSysDescr(t *testing.T) {
	for _, tc := range []struct {
		name, descr string
		want        osInfo
	}{
		{"IOS classic", "Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 12.2(55)SE10, RELEASE SOFTWARE (fc2)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2015 by Cisco Systems, Inc.",
			osInfo{"Cisco", "IOS", "12.2(55)SE10", ""}},
		{"IOS 12.0 (tm)", "Cisco Internetwork Operating System Software \r\nIOS (tm) C2600 Software (C2600-IK9O3S3-M), Version 12.3(26), RELEASE SOFTWARE (fc2)",
			osInfo{"Cisco", "IOS", "12.3(26)", ""}},
		{"IOS-XE 17 via image name", "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.3.4a, RELEASE SOFTWARE (fc3)",
			osInfo{"Cisco", "IOS-XE", "17.3.4a", ""}},
		{"IOS-XE 16 says so", "Cisco IOS Software [Everest], ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 16.6.4, RELEASE SOFTWARE (fc3)",
			osInfo{"Cisco", "IOS-XE", "16.6.4", ""}},
		{"IOS-XE 3.x", "Cisco IOS Software, IOS-XE Software, Catalyst 4500 L3 Switch Software (cat4500e-UNIVERSALK9-M), Version 03.06.06.E RELEASE SOFTWARE (fc1)",
			osInfo{"Cisco", "IOS-XE", "03.06.06.E", ""}},
		{"NX-OS", "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8), RELEASE SOFTWARE Copyright (c) 2002-2021 by Cisco Systems, Inc. Compiled 3/29/2021 7:00:00",
			osInfo{"Cisco", "NX-OS", "9.3(8)", ""}},
		{"IOS-XR", "Cisco IOS XR Software (Cisco ASR9K Series),  Version 6.5.3[Default]\r\nCopyright (c) 2019 by Cisco Systems, Inc.",
			osInfo{"Cisco", "IOS-XR", "6.5.3", "ASR9K"}},
		{"EOS", "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX3-48YC8",
			osInfo{"Arista", "EOS", "4.28.3M", "DCS-7050SX3-48YC8"}},
		{"Junos MX", "Juniper Networks, Inc. mx480 internet router, kernel JUNOS 18.4R3-S4.2, Build date: 2020-06-25 12:31:06 UTC Copyright (c) 1996-2020 Juniper Networks, Inc.",
			osInfo{"Juniper", "Junos", "18.4R3-S4.2", "MX480"}},
		{"Junos EX", "Juniper Networks, Inc. ex4300-48t Ethernet Switch, kernel JUNOS 20.4R3.8, Build date: 2021-08-27 00:29:42 UTC Copyright (c) 1996-2021 Juniper Networks, Inc.",
			osInfo{"Juniper", "Junos", "20.4R3.8", "EX4300-48T"}},
		{"ProCurve", "ProCurve J9021A Switch 2810-24G, revision N.11.75, ROM N.10.01 (/sw/code/build/bass(ppne_swt))",
			osInfo{"HPE", "ArubaOS-Switch", "N.11.75", "J9021A"}},
		{"Linux", "Linux web01 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 x86_64",
			osInfo{"", "Linux", "5.15.0-91-generic", ""}},
		{"Windows", "Hardware: x86 Family 6 Model 9 Stepping 5 AT/AT COMPATIBLE - Software: Windows 2000 Version 5.1 (Build 2600 Uniprocessor Free)",
			osInfo{"", "Windows", "5.1", ""}},
		{"RouterOS", "RouterOS RB4011iGS+", osInfo{"MikroTik", "RouterOS", "", ""}},
		{"unknown", "Acme Widget OS 3", osInfo{}},
		{"empty", "", osInfo{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseSysDescr(tc.descr); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb":       "a",
		"\n  x y \n z": "x y",
		"":             "",
	} {
		if got := firstLine(in); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnterprise(t *testing.T) {
	for _, tc := range []struct {
		oid  string
		want string
	}{
		{".1.3.6.1.4.1.9.1.2494", "Cisco"},
		{"1.3.6.1.4.1.2636.1.1.1.2.150", "Juniper"},
		{".1.3.6.1.4.1.30065.1.3011", "Arista"},
		{".1.3.6.1.4.1.8072.3.2.10", "Net-SNMP"},
		{".1.3.6.1.4.1.11.2.3.7.11.63", "HPE"},
		{".1.3.6.1.4.1.999999.1", ""},
		{".1.3.6.1.2.1.1", ""},
		{"", ""},
	} {
		got := ""
		if n, ok := enterpriseOf(tc.oid); ok {
			got = enterprises[n]
		}
		if got != tc.want {
			t.Errorf("%q → %q, want %q", tc.oid, got, tc.want)
		}
	}
}

func TestIfTypeSlug(t *testing.T) {
	for _, tc := range []struct {
		typ  int
		kbps int64
		name string
		want string
	}{
		{6, 100_000, "Fa0/1", "100base-tx"},
		{6, 1_000_000, "Gi1/0/1", "1000base-t"},
		{6, 10_000_000, "Te1/1/1", "10gbase-x-sfpp"},
		{6, 25_000_000, "Ethernet1", "25gbase-x-sfp28"},
		{6, 40_000_000, "Fo1/1/1", "40gbase-x-qsfpp"},
		{6, 100_000_000, "Hu1/0/49", "100gbase-x-qsfp28"},
		{6, 0, "docker0", "other"},
		{6, 10_000, "eth9", "other"}, // 10M has no NetBox slug
		{6, 2_500_000, "eth1", "2.5gbase-t"},
		{6, 800_000_000, "Ethernet2", "800gbase-x-qsfpdd"},
		{6, 1_000_100, "eth2", "1000base-t"}, // ifSpeed/1000 with sub-Mbit noise
		{6, 1_000_000, "bond0", "lag"},
		{24, 8_000_000, "Loopback0", "virtual"},
		{135, 0, "Gi1/0/1.100", "virtual"},
		{136, 0, "Vlan100", "virtual"},
		{53, 1_000_000, "Vlan10", "virtual"},
		{53, 20_000_000, "Port-channel1", "lag"},
		{131, 0, "Tunnel0", "virtual"},
		{161, 50_000_000, "Port-Channel10", "lag"},
		{161, 10_000_000, "ae0", "lag"},
		{1, 0, "Null0", "other"},
		{9999, 0, "weird", "other"},
	} {
		if got := ifTypeSlug(tc.typ, tc.kbps, tc.name); got != tc.want {
			t.Errorf("ifTypeSlug(%d, %d, %q) = %q, want %q", tc.typ, tc.kbps, tc.name, got, tc.want)
		}
	}
}

// Parse-only: OID indexes of documentation addresses (RFC 5737/3849).
func TestIndexParsing(t *testing.T) {
	for _, tc := range []struct {
		ix   string
		want string
	}{
		{"1.4.198.51.100.1", "198.51.100.1"},
		{"2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1", "2001:db8::1"},
		{"3.8.203.0.113.1.0.0.0.3", "203.0.113.1"},
		{"1.4.198.51.100", ""},
		{"9.4.1.2.3.4", ""},
		{"1.4.1.2.3.999", ""},
	} {
		got := ""
		if a, ok := parseInetIndex(tc.ix); ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("parseInetIndex(%q) = %q, want %q", tc.ix, got, tc.want)
		}
	}
	for _, tc := range []struct {
		oid  string
		bits int
		ok   bool
	}{
		{".1.3.6.1.2.1.4.32.1.5.2.1.4.10.0.0.0.24", 24, true},
		{".1.3.6.1.2.1.4.32.1.5.2.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.0.64", 64, true},
		{".0.0", 0, false},
		{".1.3.6.1.2.1.4.32.1.5.2.1.4.10.0.0.0.40", 0, false},
	} {
		bits, ok := prefixLenFromPointer(tc.oid, 32+96*boolInt(tc.bits == 64))
		if bits != tc.bits || ok != tc.ok {
			t.Errorf("prefixLenFromPointer(%q) = %d %v, want %d %v", tc.oid, bits, ok, tc.bits, tc.ok)
		}
	}
	for _, tc := range []struct {
		mask string
		bits int
		ok   bool
	}{
		{"255.255.252.0", 22, true}, {"255.0.0.0", 8, true}, {"255.255.255.255", 32, true},
		{"0.0.0.0", 0, true}, {"255.0.255.0", 0, false},
	} {
		bits, ok := maskBits(gosnmp.SnmpPDU{Type: gosnmp.IPAddress, Value: tc.mask})
		if bits != tc.bits || ok != tc.ok {
			t.Errorf("maskBits(%s) = %d %v", tc.mask, bits, ok)
		}
	}
	if got := formatMAC([]byte{0, 0xa3, 0xd1, 0xe4, 0xf0, 1}); got != "00:a3:d1:e4:f0:01" {
		t.Errorf("formatMAC = %q", got)
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 6)} {
		if got := formatMAC(b); got != "" {
			t.Errorf("formatMAC(%x) = %q, want empty", b, got)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOIDLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{".1.3.6.1.2", ".1.3.6.1.10", true},
		{".1.3.6.1.10", ".1.3.6.1.2", false},
		{".1.3.6", ".1.3.6.1", true},
		{".1.3.6.1", ".1.3.6.1", false},
		{"2.1", "10", true},
	} {
		if got := oidLess(tc.a, tc.b); got != tc.want {
			t.Errorf("oidLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
