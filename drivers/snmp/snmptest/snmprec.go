package snmptest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Var is one recorded variable.
type Var struct {
	OID   string // with a leading dot: ".1.3.6.1.2.1.1.1.0"
	Type  gosnmp.Asn1BER
	Value any // int, string/[]byte, uint32, uint64, OID string, nil; as gosnmp marshals them
	sub   []uint32
}

// Recording is a parsed snmprec file, sorted by OID.
type Recording struct {
	vars []Var
}

// Vars returns the variables in OID order (the slice is shared; do not modify).
func (r *Recording) Vars() []Var { return r.vars }

// Len is the number of variables.
func (r *Recording) Len() int { return len(r.vars) }

// ParseSnmprec reads the snmpsim "OID|TYPE|VALUE" format. TYPE is the
// numeric ASN.1 tag (2 Integer32, 4 OCTET STRING, 5 NULL, 6 OID, 64
// IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70
// Counter64); a trailing "x" means VALUE is hex. snmpsim variation modules
// ("67:numeric|rate=…,initial=N", "4:writecache|value=S") are served as
// their static initial value; other modules are rejected. Blank lines and
// lines starting with '#' are skipped.
func ParseSnmprec(r io.Reader) (*Recording, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	rec := &Recording{}
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		v, err := parseLine(s)
		if err != nil {
			return nil, fmt.Errorf("snmprec line %d: %w", line, err)
		}
		rec.vars = append(rec.vars, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("snmprec: read: %w", err)
	}
	slices.SortFunc(rec.vars, func(a, b Var) int { return compareOID(a.sub, b.sub) })
	for i := 1; i < len(rec.vars); i++ {
		if compareOID(rec.vars[i-1].sub, rec.vars[i].sub) == 0 {
			return nil, fmt.Errorf("snmprec: duplicate OID %s", rec.vars[i].OID)
		}
	}
	return rec, nil
}

func parseLine(s string) (Var, error) {
	oidStr, rest, ok := strings.Cut(s, "|")
	if !ok {
		return Var{}, fmt.Errorf("want OID|TYPE|VALUE, got %q", trunc(s))
	}
	tag, val, ok := strings.Cut(rest, "|")
	if !ok {
		return Var{}, fmt.Errorf("want OID|TYPE|VALUE, got %q", trunc(s))
	}
	sub, err := ParseOID(oidStr)
	if err != nil {
		return Var{}, err
	}
	v := Var{OID: FormatOID(sub), sub: sub}
	if base, module, hasMod := strings.Cut(tag, ":"); hasMod {
		tag = base
		params := map[string]string{}
		for _, kv := range strings.Split(val, ",") {
			k, pv, _ := strings.Cut(kv, "=")
			params[strings.TrimSpace(k)] = pv
		}
		switch module {
		case "numeric":
			val = params["initial"]
			if val == "" {
				val = "0"
			}
		case "writecache":
			val = params["value"]
		default:
			return Var{}, fmt.Errorf("%s: snmpsim variation module %q not supported", v.OID, module)
		}
	}
	isHex := strings.HasSuffix(tag, "x")
	tag = strings.TrimSuffix(tag, "x")
	n, err := strconv.Atoi(tag)
	if err != nil {
		return Var{}, fmt.Errorf("%s: bad type %q", v.OID, tag)
	}
	raw := []byte(val)
	if isHex {
		raw, err = hex.DecodeString(val)
		if err != nil {
			return Var{}, fmt.Errorf("%s: bad hex value: %v", v.OID, err)
		}
	}
	num := func(bits int) (uint64, error) {
		if isHex {
			if len(raw) > bits/8 {
				return 0, fmt.Errorf("%s: hex value too long for type %d", v.OID, n)
			}
			var u uint64
			for _, b := range raw {
				u = u<<8 | uint64(b)
			}
			return u, nil
		}
		u, err := strconv.ParseUint(strings.TrimSpace(val), 10, bits)
		if err != nil {
			return 0, fmt.Errorf("%s: bad number %q for type %d", v.OID, val, n)
		}
		return u, nil
	}
	switch n {
	case 2:
		v.Type = gosnmp.Integer
		i, err := strconv.ParseInt(strings.TrimSpace(val), 10, 32)
		if err != nil {
			return Var{}, fmt.Errorf("%s: bad Integer32 %q", v.OID, val)
		}
		v.Value = int(i)
	case 4:
		v.Type = gosnmp.OctetString
		v.Value = raw
	case 5:
		v.Type = gosnmp.Null
	case 6:
		v.Type = gosnmp.ObjectIdentifier
		o, err := ParseOID(string(raw))
		if err != nil {
			return Var{}, fmt.Errorf("%s: bad OID value: %v", v.OID, err)
		}
		v.Value = FormatOID(o)
	case 64:
		v.Type = gosnmp.IPAddress
		if !isHex {
			// Dotted quad, or (as snmpsim/pyasn1 also accept) the 4 raw octets.
			if ip := net.ParseIP(val).To4(); ip != nil {
				raw = ip
			} else if len(raw) != 4 {
				return Var{}, fmt.Errorf("%s: bad IpAddress %q", v.OID, val)
			}
		}
		if len(raw) != 4 {
			return Var{}, fmt.Errorf("%s: IpAddress must be 4 octets", v.OID)
		}
		v.Value = raw
	case 65, 66, 67:
		v.Type = map[int]gosnmp.Asn1BER{65: gosnmp.Counter32, 66: gosnmp.Gauge32, 67: gosnmp.TimeTicks}[n]
		u, err := num(32)
		if err != nil {
			return Var{}, err
		}
		v.Value = uint32(u)
	case 68:
		v.Type = gosnmp.Opaque
		v.Value = raw
	case 70:
		v.Type = gosnmp.Counter64
		u, err := num(64)
		if err != nil {
			return Var{}, err
		}
		v.Value = u
	default:
		return Var{}, fmt.Errorf("%s: unsupported type %d", v.OID, n)
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// ParseOID parses "1.3.6.1" or ".1.3.6.1".
func ParseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	parts := strings.Split(s, ".")
	out := make([]uint32, len(parts))
	for i, p := range parts {
		u, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad OID %q", trunc(s))
		}
		out[i] = uint32(u)
	}
	return out, nil
}

// FormatOID renders sub-identifiers with a leading dot, as gosnmp does.
func FormatOID(sub []uint32) string {
	var b strings.Builder
	for _, x := range sub {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	}
	return b.String()
}

func compareOID(a, b []uint32) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// get returns the variable with exactly this OID.
func (r *Recording) get(sub []uint32) (Var, bool) {
	i, found := slices.BinarySearchFunc(r.vars, sub, func(v Var, t []uint32) int { return compareOID(v.sub, t) })
	if !found {
		return Var{}, false
	}
	return r.vars[i], true
}

// next returns the first variable after sub in OID order.
func (r *Recording) next(sub []uint32) (Var, bool) {
	i, found := slices.BinarySearchFunc(r.vars, sub, func(v Var, t []uint32) int { return compareOID(v.sub, t) })
	if found {
		i++
	}
	if i >= len(r.vars) {
		return Var{}, false
	}
	return r.vars[i], true
}
