package snmp

import (
	"reflect"
	"testing"
	"time"

	"github.com/orbd/orbd/policies"
)

// discover_vrfs gates the VRF walks: off, no interface carries a VRF; on,
// MPLS-L3VPN-STD-MIB and CISCO-VRF-MIB (active rows only) place them.
func TestDiscoverVRFsOption(t *testing.T) {
	for _, tc := range []struct {
		device string
		want   map[string]string // interface → VRF when discover_vrfs is on
	}{
		{"cisco-iosxe-c9300", map[string]string{"Gi0/0": "Mgmt-vrf", "Vl20": "GUEST"}}, // Vl10's row is notInService
		{"juniper-junos-mx204", map[string]string{"ge-0/0/0.0": "CUST-A", "xe-0/1/0.0": "CUST-A"}},
		{"arista-eos-7050", map[string]string{}},
	} {
		t.Run(tc.device, func(t *testing.T) {
			s := startAgent(t, tc.device)
			for _, on := range []bool{false, true} {
				d := newDriver(t, v2c("public"), one(s.Port()), func(c *policies.SNMPConfig) { c.Options.DiscoverVRFs = on })
				inv, err := d.Discover(ctxTimeout(t, 10*time.Second), target(s.Port()))
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, it := range inv.Devices[0].Interfaces {
					if it.VRF != "" {
						got[it.Name] = it.VRF
					}
				}
				want := map[string]string{}
				if on {
					want = tc.want
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("discover_vrfs=%v: VRFs %v, want %v", on, got, want)
				}
			}
		})
	}
}

func TestOctetIndex(t *testing.T) {
	for _, tc := range []struct {
		in, name, rest string
		ok             bool
	}{
		{"3.114.101.100.7", "red", "7", true},
		{"0.7", "", "7", true},
		{"5.114.101.100", "", "", false}, // shorter than its length
		{"x.1", "", "", false},
		{"1.300.7", "", "", false}, // not an octet
	} {
		name, rest, ok := octetIndex(tc.in)
		if name != tc.name || rest != tc.rest || ok != tc.ok {
			t.Errorf("octetIndex(%q) = %q, %q, %v; want %q, %q, %v", tc.in, name, rest, ok, tc.name, tc.rest, tc.ok)
		}
	}
}

func TestPortSet(t *testing.T) {
	got := portSet([]byte{0x81, 0x40})
	want := map[int]bool{1: true, 8: true, 10: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("portSet = %v, want %v", got, want)
	}
}
