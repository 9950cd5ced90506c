package drivers

import (
	"net/netip"
	"strings"
	"testing"
)

// Parse-only: documentation addresses (RFC 5737), nothing is dialled.
func TestExpandHosts(t *testing.T) {
	for _, tc := range []struct {
		in          string
		n           int
		first, last string
		swept, name bool
		err         string
	}{
		{in: "127.0.0.1", n: 1, first: "127.0.0.1", last: "127.0.0.1"},
		{in: "::1", n: 1, first: "::1", last: "::1"},
		{in: "198.51.100.0/24", n: 254, first: "198.51.100.1", last: "198.51.100.254", swept: true},
		{in: "198.51.100.0/31", n: 2, first: "198.51.100.0", last: "198.51.100.1", swept: true},
		{in: "198.51.100.5/32", n: 1, first: "198.51.100.5", last: "198.51.100.5", swept: true},
		{in: "2001:db8::/126", n: 4, first: "2001:db8::", last: "2001:db8::3", swept: true},
		{in: "198.51.100.1-20", n: 20, first: "198.51.100.1", last: "198.51.100.20", swept: true},
		{in: "198.51.100.250-198.51.101.2", n: 9, first: "198.51.100.250", last: "198.51.101.2", swept: true},
		{in: "switch1.example.net", name: true},
		{in: "10.0.0.0/8", err: "more than 65536 addresses"},
		{in: "198.51.100.20-1", err: "end before start"},
		{in: "198.51.100.300", err: "not an IP address"},
		{in: "", err: "empty host"},
	} {
		addrs, swept, name, err := ExpandHosts(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if swept != tc.swept || name != tc.name || len(addrs) != tc.n {
			t.Errorf("%q: swept=%v name=%v n=%d, want %v %v %d", tc.in, swept, name, len(addrs), tc.swept, tc.name, tc.n)
			continue
		}
		if tc.n > 0 && (addrs[0] != netip.MustParseAddr(tc.first) || addrs[len(addrs)-1] != netip.MustParseAddr(tc.last)) {
			t.Errorf("%q: %s..%s, want %s..%s", tc.in, addrs[0], addrs[len(addrs)-1], tc.first, tc.last)
		}
	}
}
