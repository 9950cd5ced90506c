package drivers

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxExpand bounds how many addresses one scope entry may expand to, so a
// typo like 10.0.0.0/8 fails loudly instead of queueing 16M tasks.
const MaxExpand = 1 << 16

// ExpandHosts turns a scope host into addresses. It accepts an IP literal
// (swept=false), a CIDR ("10.0.0.0/24", network and broadcast left out for
// IPv4 prefixes shorter than /31), or a range ("10.0.0.1-20" or
// "10.0.0.1-10.0.0.20"), both swept=true. Anything else is returned as a
// name with ok=false so the caller can decide whether names are allowed.
func ExpandHosts(s string) (addrs []netip.Addr, swept bool, isName bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false, false, fmt.Errorf("empty host")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return []netip.Addr{a}, false, false, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, false, fmt.Errorf("bad CIDR %q: %v", s, err)
		}
		p = p.Masked()
		hostBits := p.Addr().BitLen() - p.Bits()
		if hostBits > 16 {
			return nil, false, false, fmt.Errorf("CIDR %q has %d+ addresses; at most %d per entry", s, 1<<min(hostBits, 62), MaxExpand)
		}
		n := 1 << hostBits
		a := p.Addr()
		for i := 0; i < n; i++ {
			skip := p.Addr().Is4() && hostBits >= 2 && (i == 0 || i == n-1)
			if !skip {
				addrs = append(addrs, a)
			}
			a = a.Next()
		}
		return addrs, true, false, nil
	}
	if i := strings.LastIndex(s, "-"); i > 0 {
		from, err1 := netip.ParseAddr(s[:i])
		if err1 == nil {
			rest := s[i+1:]
			to, err := netip.ParseAddr(rest)
			if err != nil {
				// short form: 10.0.0.1-20 (last octet of v4)
				n, nerr := strconv.Atoi(rest)
				if nerr != nil || !from.Is4() || n < 0 || n > 255 {
					return nil, false, false, fmt.Errorf("bad range %q: end must be an address or a last octet 0-255", s)
				}
				b := from.As4()
				b[3] = byte(n)
				to = netip.AddrFrom4(b)
			}
			if from.BitLen() != to.BitLen() || to.Less(from) {
				return nil, false, false, fmt.Errorf("bad range %q: end before start or mixed families", s)
			}
			for a := from; ; a = a.Next() {
				addrs = append(addrs, a)
				if len(addrs) > MaxExpand {
					return nil, false, false, fmt.Errorf("range %q has more than %d addresses", s, MaxExpand)
				}
				if a == to {
					break
				}
			}
			return addrs, true, false, nil
		}
	}
	if validHostname(s) {
		return nil, false, true, nil
	}
	return nil, false, false, fmt.Errorf("%q is not an IP address, CIDR, range or host name", s)
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
