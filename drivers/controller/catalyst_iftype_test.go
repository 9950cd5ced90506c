package controller

import "testing"

// Names win over speed; logical interfaces are lag/virtual; unknown
// speeds stay "" so the mapping leaves the type unset.
func TestCatalystIfType(t *testing.T) {
	for _, tc := range []struct {
		name, ifType string
		kbps         int64
		want         string
	}{
		{"Port-channel1", "", 20_000_000, "lag"},
		{"Vlan10", "", 1_000_000, "virtual"},
		{"TenGigabitEthernet1/1/1", "", 1_000_000, "10gbase-x-sfpp"},
		{"GigabitEthernet1/0/1", "", 100_000, "1000base-t"},
		{"Ethernet1/1", "Virtual", 10_000_000, "virtual"},
		{"Ethernet1/1", "", 10_000_000, "10gbase-x-sfpp"},
		{"Ethernet1/2", "", 50_000_000, "50gbase-x-sfp56"},
		{"Ethernet1/3", "", 0, ""},
		{"Ethernet1/4", "", 20_000_000, ""},
	} {
		if got := catalystIfType(tc.name, tc.ifType, tc.kbps); got != tc.want {
			t.Errorf("catalystIfType(%q, %q, %d) = %q, want %q", tc.name, tc.ifType, tc.kbps, got, tc.want)
		}
	}
}
