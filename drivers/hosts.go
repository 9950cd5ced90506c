package drivers

import (
	"net/netip"

	"github.com/orbd/orbd/policies"
)

// MaxExpand bounds how many addresses one scope entry may expand to, so a
// typo like 10.0.0.0/8 fails loudly instead of queueing 16M tasks. The
// loader enforces the same bound at load time.
const MaxExpand = policies.MaxHosts

// ExpandHosts turns a scope host into addresses, using the loader's parser
// (policies.ParseHostSpec) so config validation and expansion agree. An IP
// literal gives one address (swept=false); a CIDR ("10.0.0.0/24", network
// and broadcast left out for IPv4 prefixes shorter than /31) or a range
// ("10.0.0.1-20", "10.0.0.1-10.0.0.20") gives swept=true. A host name gives
// no addresses and isName=true, so the caller decides whether names are
// allowed and resolves them at run time.
func ExpandHosts(s string) (addrs []netip.Addr, swept bool, isName bool, err error) {
	h, err := policies.ParseHostSpec(s)
	if err != nil {
		return nil, false, false, err
	}
	switch h.Kind {
	case policies.HostIP:
		return []netip.Addr{h.Addr}, false, false, nil
	case policies.HostName:
		return nil, false, true, nil
	case policies.HostCIDR:
		p := h.Prefix
		hostBits := p.Addr().BitLen() - p.Bits()
		n := 1 << hostBits
		a := p.Addr()
		for i := 0; i < n; i++ {
			skip := a.Is4() && hostBits >= 2 && (i == 0 || i == n-1)
			if !skip {
				addrs = append(addrs, a)
			}
			a = a.Next()
		}
		return addrs, true, false, nil
	default: // HostRange
		for a := h.From; ; a = a.Next() {
			addrs = append(addrs, a)
			if a == h.To {
				break
			}
		}
		return addrs, true, false, nil
	}
}
