package drivers

// EthernetType returns the NetBox interface type slug (dcim
// InterfaceTypeChoices) usually meant by an Ethernet port running at
// kbps, or "" when the speed is not a standard one. Drivers cannot see
// the media, so up to 5G it assumes copper and above that the common
// pluggable cage. NetBox has no 10 Mbit/s slug (it rejects "10base-t"),
// so 10M is "" too. Callers pick their own fallback ("other", or a
// name-based guess) for "".
func EthernetType(kbps int64) string {
	switch kbps {
	case 100_000:
		return "100base-tx"
	case 1_000_000:
		return "1000base-t"
	case 2_500_000:
		return "2.5gbase-t"
	case 5_000_000:
		return "5gbase-t"
	case 10_000_000:
		return "10gbase-x-sfpp"
	case 25_000_000:
		return "25gbase-x-sfp28"
	case 40_000_000:
		return "40gbase-x-qsfpp"
	case 50_000_000:
		return "50gbase-x-sfp56"
	case 100_000_000:
		return "100gbase-x-qsfp28"
	case 200_000_000:
		return "200gbase-x-qsfp56"
	case 400_000_000:
		return "400gbase-x-qsfpdd"
	case 800_000_000:
		return "800gbase-x-qsfpdd"
	}
	return ""
}
