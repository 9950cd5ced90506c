package vcenter

import "testing"

// speedType keeps vCenter's own fallback: "other" when the shared
// Ethernet table has no slug for the link speed.
func TestSpeedType(t *testing.T) {
	for _, tc := range []struct {
		kbps int64
		want string
	}{
		{1_000_000, "1000base-t"},
		{10_000_000, "10gbase-x-sfpp"},
		{25_000_000, "25gbase-x-sfp28"},
		{100_000_000, "100gbase-x-qsfp28"},
		{0, "other"},
		{3_000_000, "other"},
	} {
		if got := speedType(tc.kbps); got != tc.want {
			t.Errorf("speedType(%d) = %q, want %q", tc.kbps, got, tc.want)
		}
	}
}
