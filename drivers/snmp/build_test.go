package snmp

import (
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/orbd/orbd/drivers"
)

// entRow is one entPhysicalTable row as the walk delivers it.
func entRow(index string, containedIn, class int, serial, model string) []varbind {
	return []varbind{
		{col: entContainedIn, index: index, pdu: gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: containedIn}},
		{col: entClass, index: index, pdu: gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: class}},
		{col: entSerial, index: index, pdu: gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte(serial)}},
		{col: entModel, index: index, pdu: gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte(model)}},
	}
}

func rowsOf(rs ...[]varbind) []varbind {
	var out []varbind
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

// The device's serial and model come from one chassis (class 3): a
// top-level one when there is one, else (a stack: every member sits in a
// class-11 stack entry) the member with the lowest index.
func TestChassisSelection(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ent         []varbind
		serial, mdl string
	}{
		{"single", rowsOf(entRow("1", 0, 3, "SN1", "C9300-48P")), "SN1", "C9300-48P"},
		{"stack of three", rowsOf(
			entRow("1", 0, 11, "", "c93xx Stack"),
			entRow("1000", 1, 3, "FOC-A", "C9300-48P"),
			entRow("2000", 1, 3, "FOC-B", "C9300-24T"),
			entRow("3000", 1, 3, "FOC-C", "C9300-48U"),
		), "FOC-A", "C9300-48P"},
		{"top-level chassis after a contained one", rowsOf(
			entRow("5", 9, 3, "INNER", "fabric"),
			entRow("9", 0, 3, "OUTER", "MX960"),
		), "OUTER", "MX960"},
		{"no chassis: model from sysDescr", rowsOf(entRow("7", 0, 9, "LC1", "MPC7E")), "", "DCS-7050SX3-48YC8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Driver{}
			sys := sysInfo{descr: "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX3-48YC8", name: "x"}
			dev := d.build(drivers.Target{Host: "127.0.0.1"}, sys, map[string][]varbind{"entPhysicalTable": tc.ent})
			if dev.Serial != tc.serial || dev.Model != tc.mdl {
				t.Errorf("serial %q model %q, want %q %q", dev.Serial, dev.Model, tc.serial, tc.mdl)
			}
		})
	}
}
