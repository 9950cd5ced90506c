package snmp

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/orbd/orbd/drivers"
)

// enterprises maps IANA private enterprise numbers (the arc after
// 1.3.6.1.4.1 in sysObjectID) to the manufacturer name used in NetBox.
var enterprises = map[uint32]string{
	9:     "Cisco",
	11:    "HPE",
	14823: "Aruba",
	47196: "HPE Aruba",
	2636:  "Juniper",
	30065: "Arista",
	2011:  "Huawei",
	6527:  "Nokia",
	1916:  "Extreme Networks",
	1991:  "Brocade",
	674:   "Dell",
	6027:  "Dell",
	12356: "Fortinet",
	25461: "Palo Alto Networks",
	14988: "MikroTik",
	41112: "Ubiquiti",
	3375:  "F5",
	2620:  "Check Point",
	8072:  "Net-SNMP",
	311:   "Microsoft",
	6876:  "VMware",
	2:     "IBM",
	42:    "Oracle",
	171:   "D-Link",
	11863: "TP-Link",
	4526:  "Netgear",
	3076:  "Cisco",
	5624:  "Enterasys",
	6486:  "Alcatel-Lucent Enterprise",
	1588:  "Brocade",
	35098: "Pica8",
	40310: "Cumulus Networks",
	4881:  "Ruijie",
	25506: "H3C",
	2021:  "Net-SNMP",
	8741:  "SonicWall",
	9148:  "Acme Packet",
	5951:  "Citrix",
	22610: "A10 Networks",
	13191: "OneAccess",
	890:   "Zyxel",
	3224:  "Juniper",
	318:   "APC",
	232:   "HPE",
	6889:  "Avaya",
}

// enterpriseOf returns the enterprise number of a sysObjectID
// (".1.3.6.1.4.1.9.1.2494" → 9).
func enterpriseOf(sysObjectID string) (uint32, bool) {
	s := strings.TrimPrefix(sysObjectID, ".")
	rest, ok := strings.CutPrefix(s, "1.3.6.1.4.1.")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ".")
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// osInfo is what sysDescr tells about the software (and sometimes the model).
type osInfo struct {
	Manufacturer string // when sysDescr names it unambiguously
	Platform     string
	Version      string
	Model        string
}

// descrRule recognises one OS family. The first rule whose match regexp
// matches sysDescr wins; version and model are the first submatch of their
// regexps.
type descrRule struct {
	match        *regexp.Regexp
	manufacturer string
	platform     string
	version      *regexp.Regexp
	model        *regexp.Regexp
	upperModel   bool
}

var descrRules = []descrRule{
	{
		match:        regexp.MustCompile(`(?i)Cisco IOS XR Software|IOS-XR`),
		manufacturer: "Cisco", platform: "IOS-XR",
		version: regexp.MustCompile(`Version\s+([0-9][0-9A-Za-z.()_-]*?)(?:\[|,|\s|$)`),
		model:   regexp.MustCompile(`\(Cisco ([A-Z0-9-]+) Series\)`),
	},
	{
		match:        regexp.MustCompile(`NX-OS`),
		manufacturer: "Cisco", platform: "NX-OS",
		version: regexp.MustCompile(`Version\s+([0-9][0-9A-Za-z.()_-]*)`),
	},
	{
		// IOS-XE says so itself (16.x: "IOS-XE Software") or in the image
		// name (17.x: "(CAT9K_IOSXE)", "(X86_64_LINUX_IOSD-…)").
		match:        regexp.MustCompile(`IOS[ -]XE|IOSXE|IOSD-`),
		manufacturer: "Cisco", platform: "IOS-XE",
		version: regexp.MustCompile(`Version\s+([0-9][0-9A-Za-z.()_-]*)`),
	},
	{
		match:        regexp.MustCompile(`Cisco IOS Software|Cisco Internetwork Operating System|IOS \(tm\)`),
		manufacturer: "Cisco", platform: "IOS",
		version: regexp.MustCompile(`Version\s+([0-9][0-9A-Za-z.()_-]*)`),
	},
	{
		match:        regexp.MustCompile(`Arista Networks EOS`),
		manufacturer: "Arista", platform: "EOS",
		version: regexp.MustCompile(`EOS version\s+(\S+)`),
		model:   regexp.MustCompile(`running on an Arista Networks\s+(\S+)`),
	},
	{
		match:        regexp.MustCompile(`(?i)JUNOS`),
		manufacturer: "Juniper", platform: "Junos",
		version:    regexp.MustCompile(`(?i)JUNOS\s+([0-9][0-9A-Za-z.-]*)`),
		model:      regexp.MustCompile(`Juniper Networks, Inc\.\s+(\S+)`),
		upperModel: true,
	},
	{
		match:        regexp.MustCompile(`ProCurve|Aruba.*Switch|HP .*Switch`),
		manufacturer: "HPE", platform: "ArubaOS-Switch",
		version: regexp.MustCompile(`revision\s+([A-Z]+\.[0-9.]+)`),
		model:   regexp.MustCompile(`(J[0-9]{4}[A-Z])`),
	},
	{
		match:        regexp.MustCompile(`FortiGate|FortiOS`),
		manufacturer: "Fortinet", platform: "FortiOS",
		version: regexp.MustCompile(`v([0-9]+\.[0-9.]+)`),
	},
	{
		match:        regexp.MustCompile(`RouterOS`),
		manufacturer: "MikroTik", platform: "RouterOS",
		version: regexp.MustCompile(`RouterOS\s+([0-9][0-9.]*)`),
	},
	{
		match:    regexp.MustCompile(`Software: Windows`),
		platform: "Windows",
		version:  regexp.MustCompile(`Version\s+([0-9][0-9.]*)`),
	},
	{
		match:    regexp.MustCompile(`^Linux\s`),
		platform: "Linux",
		version:  regexp.MustCompile(`^Linux\s+\S+\s+(\S+)`),
	},
	{
		match:    regexp.MustCompile(`^FreeBSD\s`),
		platform: "FreeBSD",
		version:  regexp.MustCompile(`^FreeBSD\s+\S+\s+(\S+)`),
	},
	{
		match:    regexp.MustCompile(`^SunOS\s`),
		platform: "SunOS",
		version:  regexp.MustCompile(`^SunOS\s+\S+\s+(\S+)`),
	},
}

// parseSysDescr extracts OS family, version and model from sysDescr.
// Unknown formats yield an empty osInfo: the first line still becomes the
// device description.
func parseSysDescr(descr string) osInfo {
	for _, r := range descrRules {
		if !r.match.MatchString(descr) {
			continue
		}
		info := osInfo{Manufacturer: r.manufacturer, Platform: r.platform}
		if r.version != nil {
			if m := r.version.FindStringSubmatch(descr); m != nil {
				info.Version = strings.TrimRight(m[1], ",.")
			}
		}
		if r.model != nil {
			if m := r.model.FindStringSubmatch(descr); m != nil {
				info.Model = m[1]
				if r.upperModel {
					info.Model = strings.ToUpper(info.Model)
				}
			}
		}
		return info
	}
	return osInfo{}
}

// firstLine is the first non-empty line of s, trimmed, at most 200 runes.
func firstLine(s string) string {
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if r := []rune(l); len(r) > 200 {
				return string(r[:200])
			}
			return l
		}
	}
	return ""
}

// IANAifType values we map (RFC 1213 / IANAifType-MIB).
const (
	ifTypeOther          = 1
	ifTypeEthernetCsmacd = 6
	ifTypeISO88023       = 7
	ifTypeDS1            = 18
	ifTypePPP            = 23
	ifTypeSoftwareLoop   = 24
	ifTypeDS3            = 30
	ifTypeSonet          = 39
	ifTypePropVirtual    = 53
	ifTypeFastEther      = 62
	ifTypeFastEtherFX    = 69
	ifTypeIEEE80211      = 71
	ifTypeGigabitEther   = 117
	ifTypeTunnel         = 131
	ifTypeL2VLAN         = 135
	ifTypeL3IPVLAN       = 136
	ifTypeMPLSTunnel     = 150
	ifTypeIEEE8023adLag  = 161
	ifTypeMPLS           = 166
	ifTypeBridge         = 209
)

var fixedIfTypes = map[int]string{
	ifTypeOther:         "other",
	ifTypeSoftwareLoop:  "virtual",
	ifTypePropVirtual:   "virtual",
	ifTypeL2VLAN:        "virtual",
	ifTypeL3IPVLAN:      "virtual",
	ifTypeTunnel:        "virtual",
	ifTypeMPLSTunnel:    "virtual",
	ifTypeMPLS:          "virtual",
	ifTypePPP:           "virtual",
	ifTypeIEEE8023adLag: "lag",
	ifTypeBridge:        "bridge",
	ifTypeFastEther:     "100base-tx",
	ifTypeFastEtherFX:   "100base-fx",
	ifTypeGigabitEther:  "1000base-t",
	ifTypeDS1:           "t1",
	ifTypeDS3:           "t3",
	ifTypeIEEE80211:     "ieee802.11n",
}

// LAG names some vendors report as propVirtual (Cisco Port-channel) or
// plain ethernet (Linux bonds).
var lagName = regexp.MustCompile(`^(?i:port-channel\d|po\d+$|ae\d+$|bond\d+$|bundle-ether\d)`)

// ifTypeSlug maps ifType, speed and name to a NetBox interface type.
func ifTypeSlug(ifType int, speedKbps int64, name string) string {
	if lagName.MatchString(name) {
		return "lag"
	}
	switch ifType {
	case ifTypeEthernetCsmacd, ifTypeISO88023:
		// Compare at whole Mbit/s: ifSpeed (bit/s) may carry sub-Mbit noise.
		if s := drivers.EthernetType(speedKbps / 1000 * 1000); s != "" {
			return s
		}
		return "other"
	}
	if s, ok := fixedIfTypes[ifType]; ok {
		return s
	}
	return "other"
}
