package drivers

import "testing"

func TestEthernetType(t *testing.T) {
	for _, tc := range []struct {
		kbps int64
		want string
	}{
		{100_000, "100base-tx"},
		{1_000_000, "1000base-t"},
		{2_500_000, "2.5gbase-t"},
		{5_000_000, "5gbase-t"},
		{10_000_000, "10gbase-x-sfpp"},
		{25_000_000, "25gbase-x-sfp28"},
		{40_000_000, "40gbase-x-qsfpp"},
		{50_000_000, "50gbase-x-sfp56"},
		{100_000_000, "100gbase-x-qsfp28"},
		{200_000_000, "200gbase-x-qsfp56"},
		{400_000_000, "400gbase-x-qsfpdd"},
		{800_000_000, "800gbase-x-qsfpdd"},
		// Unknown or non-standard: the caller decides the fallback.
		{0, ""},
		{-1, ""},
		{10_000, ""}, // 10M: no NetBox slug
		{3_000_000, ""},
		{20_000_000, ""},
		{1_000_001, ""},
		{999_999, ""},
		{1_600_000_000, ""},
	} {
		if got := EthernetType(tc.kbps); got != tc.want {
			t.Errorf("EthernetType(%d) = %q, want %q", tc.kbps, got, tc.want)
		}
	}
}
