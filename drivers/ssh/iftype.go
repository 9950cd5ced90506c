package ssh

import (
	"regexp"
	"strings"

	"github.com/orbd/orbd/drivers"
)

// ifTypeRule maps an interface name (lower-cased) to a NetBox type slug.
// Order matters: the first matching rule wins. A rule with bySpeed picks
// the slug from the speed instead (EOS/NX-OS "Ethernet1", Junos "et-0/0/0").
type ifTypeRule struct {
	re       *regexp.Regexp
	slug     string
	mgmt     bool
	bySpeed  bool
	sfpMedia bool // Gi: 1000base-x-sfp when the media names an SFP
}

var ifTypeRules = []ifTypeRule{
	{re: regexp.MustCompile(`^(mgmt|management|mgmteth|fxp0|em0|me0|ma\d)`), slug: "1000base-t", mgmt: true},
	{re: regexp.MustCompile(`\.\d+$`), slug: "virtual"}, // subinterfaces, unit numbers
	{re: regexp.MustCompile(`^(port-channel|po\d|ae\d|bundle-ether|be\d)`), slug: "lag"},
	{re: regexp.MustCompile(`^(vlan|vl\d|loopback|lo\d|lo0|tunnel|tu\d|irb|nve|bvi|bdi|null|vxlan|gr-|ip-|lt-|dsc|vme)`), slug: "virtual"},
	{re: regexp.MustCompile(`^(twentyfivegig|twe\d|tf\d)`), slug: "25gbase-x-sfp28"},
	{re: regexp.MustCompile(`^(hundredgig|hu\d)`), slug: "100gbase-x-qsfp28"},
	{re: regexp.MustCompile(`^(fortygig|fo\d)`), slug: "40gbase-x-qsfpp"},
	{re: regexp.MustCompile(`^(tengig|te\d|xe-)`), slug: "10gbase-x-sfpp"},
	{re: regexp.MustCompile(`^(gigabitethernet|gi\d|ge-)`), slug: "1000base-t", sfpMedia: true},
	{re: regexp.MustCompile(`^(fastethernet|fa\d)`), slug: "100base-tx"},
	{re: regexp.MustCompile(`^(ethernet|eth\d|et\d|et-)`), bySpeed: true},
}

// IfType maps an interface name, its media description (IOS "media type
// is SFP-10GBase-SR", may be "") and speed to a NetBox interface type slug
// and whether it is a management port. "other" when nothing fits; the
// policy's defaults.interface_patterns are applied later by ingest.
func IfType(name, media string, speedKbps int64) (slug string, mgmtOnly bool) {
	n := strings.ToLower(name)
	for _, r := range ifTypeRules {
		if !r.re.MatchString(n) {
			continue
		}
		switch {
		case r.bySpeed:
			if s := drivers.EthernetType(speedKbps); s != "" {
				return s, false
			}
			return "other", false
		case r.sfpMedia && isSFPMedia(media):
			return "1000base-x-sfp", false
		}
		return r.slug, r.mgmt
	}
	return "other", false
}

func isSFPMedia(media string) bool {
	m := strings.ToLower(media)
	return strings.Contains(m, "sfp") || strings.Contains(m, "1000basesx") || strings.Contains(m, "1000baselx") ||
		strings.Contains(m, "1000base-sx") || strings.Contains(m, "1000base-lx")
}

// shortIf turns "GigabitEthernet1/0/1" and "Gi1/0/1" into the same key
// ("gi1/0/1") so port lists in abbreviated form find their interface.
func shortIf(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	i := strings.IndexFunc(n, func(r rune) bool { return r >= '0' && r <= '9' })
	if i <= 0 {
		return n
	}
	prefix, rest := n[:i], n[i:]
	switch {
	case strings.HasPrefix(prefix, "twe"), strings.HasPrefix(prefix, "twentyfive"):
		prefix = "tw"
	case strings.HasPrefix(prefix, "port-channel"), prefix == "po":
		prefix = "po"
	case len(prefix) > 2:
		prefix = prefix[:2]
	}
	return prefix + rest
}
