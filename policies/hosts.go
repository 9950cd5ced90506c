package policies

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxHosts bounds how many addresses one scope entry may name; it matches
// drivers.MaxExpand so a config that loads also expands.
const MaxHosts = 1 << 16

// HostKind says what a scope host string is.
type HostKind int

const (
	HostIP    HostKind = iota + 1 // one address
	HostCIDR                      // a prefix, swept
	HostRange                     // from-to, swept
	HostName                      // a DNS name, resolved at run time
)

// HostSpec is a parsed scope host. It is validated at load time so a bad
// target fails with file:line:col instead of at the first run.
type HostSpec struct {
	Kind     HostKind
	Addr     netip.Addr   // HostIP
	Prefix   netip.Prefix // HostCIDR, masked
	From, To netip.Addr   // HostRange, inclusive
	Name     string       // HostName
}

// Swept reports whether the spec covers several addresses (CIDR or range),
// which drivers probe before sending credentials.
func (h HostSpec) Swept() bool { return h.Kind == HostCIDR || h.Kind == HostRange }

// ParseHostSpec accepts an IP literal, a CIDR ("10.0.0.0/24"), a range
// ("10.0.0.1-20" or "10.0.0.1-10.0.0.20") or a host name, with the same rules
// and limits as drivers.ExpandHosts.
func ParseHostSpec(s string) (HostSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return HostSpec{}, fmt.Errorf("empty host")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return HostSpec{Kind: HostIP, Addr: a}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			msg := err.Error() // netip repeats the input; keep only the reason
			if i := strings.LastIndex(msg, "): "); i >= 0 {
				msg = msg[i+3:]
			}
			return HostSpec{}, fmt.Errorf("bad CIDR %q: %s", s, msg)
		}
		p = p.Masked()
		if hostBits := p.Addr().BitLen() - p.Bits(); hostBits > 16 {
			return HostSpec{}, fmt.Errorf("CIDR %q has more than %d addresses; split it", s, MaxHosts)
		}
		return HostSpec{Kind: HostCIDR, Prefix: p}, nil
	}
	if i := strings.LastIndex(s, "-"); i > 0 {
		if from, err := netip.ParseAddr(s[:i]); err == nil {
			rest := s[i+1:]
			to, err := netip.ParseAddr(rest)
			if err != nil {
				n, nerr := strconv.Atoi(rest)
				if nerr != nil || !from.Is4() || n < 0 || n > 255 {
					return HostSpec{}, fmt.Errorf("bad range %q: end must be an address or a last octet 0-255", s)
				}
				b := from.As4()
				b[3] = byte(n)
				to = netip.AddrFrom4(b)
			}
			if from.BitLen() != to.BitLen() || to.Less(from) {
				return HostSpec{}, fmt.Errorf("bad range %q: end before start or mixed families", s)
			}
			if rangeSize(from, to) > MaxHosts {
				return HostSpec{}, fmt.Errorf("range %q has more than %d addresses", s, MaxHosts)
			}
			return HostSpec{Kind: HostRange, From: from, To: to}, nil
		}
	}
	if validHostname(s) && !numericTLD(s) {
		return HostSpec{Kind: HostName, Name: s}, nil
	}
	return HostSpec{}, fmt.Errorf("%q is not an IP address, CIDR, range or host name", s)
}

// rangeSize counts addresses from..to, saturating above MaxHosts.
func rangeSize(from, to netip.Addr) int {
	n := 1
	for a := from; a != to && n <= MaxHosts; a = a.Next() {
		n++
	}
	return n
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

// numericTLD catches typos like 10.0.0.300: no real name ends in a number.
func numericTLD(s string) bool {
	last := s[strings.LastIndex(s, ".")+1:]
	_, err := strconv.Atoi(last)
	return err == nil
}
