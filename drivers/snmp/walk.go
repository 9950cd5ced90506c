package snmp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// column is one table column a walk advances.
type column struct {
	root   string // ".1.3.6.1.2.1.2.2.1.2"
	cursor string // last OID returned
	done   bool
}

// varbind is one walked value, keyed by its column root and the index
// suffix after it (".1.3.6.1.2.1.2.2.1.2.7" → root …2.2.1.2, index "7").
type varbind struct {
	col   int
	index string
	pdu   gosnmp.SnmpPDU
}

// errNotIncreasing guards against agents that loop.
var errNotIncreasing = errors.New("agent returned OIDs out of order")

// walkColumns walks several columns of one table together: every request
// carries all columns still inside their subtree, so a table of R rows costs
// about R/maxRep requests however many columns are needed (snmpbulkwalk
// would pay that per column). v1 uses GETNEXT with the same varbind list.
// Responses may be truncated by the agent (RFC 3416 §4.2.3); each column
// resumes from the last OID it received.
func walkColumns(s *gosnmp.GoSNMP, roots []string, maxRep uint32, emit func(varbind) error) error {
	cols := make([]column, len(roots))
	for i, r := range roots {
		cols[i] = column{root: r, cursor: r}
	}
	v1 := s.Version == gosnmp.Version1
	if v1 {
		maxRep = 1
	}
	maxCols := len(cols) // shrinks when the agent says tooBig
	for {
		active := make([]int, 0, len(cols))
		oids := make([]string, 0, len(cols))
		for i := range cols {
			if !cols[i].done && len(active) < maxCols {
				active = append(active, i)
				oids = append(oids, cols[i].cursor)
			}
		}
		if len(active) == 0 {
			return nil
		}
		var resp *gosnmp.SnmpPacket
		var err error
		if v1 {
			resp, err = s.GetNext(oids)
		} else {
			resp, err = s.GetBulk(oids, 0, maxRep)
		}
		if err != nil {
			return err
		}
		switch resp.Error {
		case gosnmp.NoError:
		case gosnmp.NoSuchName:
			// v1: the column at ErrorIndex ran off the end of the MIB.
			i := int(resp.ErrorIndex) - 1
			if i < 0 || i >= len(active) {
				return fmt.Errorf("agent error %s at index %d", resp.Error, resp.ErrorIndex)
			}
			cols[active[i]].done = true
			continue
		case gosnmp.TooBig:
			// Ask for fewer rows, then fewer columns, per request.
			switch {
			case maxRep > 1:
				maxRep /= 2
			case len(active) > 1:
				maxCols = len(active) / 2
			default:
				return fmt.Errorf("agent error %s for a single value", resp.Error)
			}
			continue
		default:
			return fmt.Errorf("agent error %s at index %d", resp.Error, resp.ErrorIndex)
		}
		if len(resp.Variables) == 0 {
			return errors.New("agent returned an empty response")
		}
		changed := false
		for k, pdu := range resp.Variables {
			ci := active[k%len(active)]
			c := &cols[ci]
			if c.done {
				continue
			}
			switch pdu.Type {
			case gosnmp.EndOfMibView, gosnmp.NoSuchObject, gosnmp.NoSuchInstance:
				c.done, changed = true, true
				continue
			}
			if !strings.HasPrefix(pdu.Name, c.root+".") {
				c.done, changed = true, true
				continue
			}
			if oidLess(pdu.Name, c.cursor) || pdu.Name == c.cursor {
				return fmt.Errorf("%w: %s after %s", errNotIncreasing, pdu.Name, c.cursor)
			}
			c.cursor = pdu.Name
			changed = true
			if err := emit(varbind{col: ci, index: pdu.Name[len(c.root)+1:], pdu: pdu}); err != nil {
				return err
			}
		}
		if !changed {
			return errors.New("walk made no progress")
		}
	}
}

// oidLess compares dotted OIDs numerically.
func oidLess(a, b string) bool {
	as := strings.Split(strings.TrimPrefix(a, "."), ".")
	bs := strings.Split(strings.TrimPrefix(b, "."), ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		if len(as[i]) != len(bs[i]) {
			return len(as[i]) < len(bs[i])
		}
		return as[i] < bs[i]
	}
	return len(as) < len(bs)
}
