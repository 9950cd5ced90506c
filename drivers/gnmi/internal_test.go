package gnmi

import (
	"encoding/json"
	"testing"

	"github.com/openconfig/gnmi/proto/gnmi"
)

func TestSpeedAndType(t *testing.T) {
	cases := []struct {
		ianaType, speed string
		kbps            int64
		slug            string
	}{
		{"iana-if-type:ethernetCsmacd", "openconfig-if-ethernet:SPEED_10GB", 10_000_000, "10gbase-x-sfpp"},
		{"ethernetCsmacd", "SPEED_1GB", 1_000_000, "1000base-t"},
		{"ethernetCsmacd", "SPEED_100MB", 100_000, "100base-tx"},
		{"ethernetCsmacd", "SPEED_2500MB", 2_500_000, "2.5gbase-t"},
		{"ethernetCsmacd", "openconfig-if-ethernet:SPEED_400GB", 400_000_000, "400gbase-x-qsfpdd"},
		{"ethernetCsmacd", "SPEED_UNKNOWN", 0, "other"},
		{"ethernetCsmacd", "SPEED_10MB", 10_000, "other"}, // no NetBox 10M slug
		{"ethernetCsmacd", "", 0, "other"},
		{"ethernetCsmacd", "SPEED_3GB", 3_000_000, "other"},
		{"iana-if-type:ieee8023adLag", "", 0, "lag"},
		{"softwareLoopback", "", 0, "virtual"},
		{"iana-if-type:l3ipvlan", "", 0, "virtual"},
		{"iana-if-type:sonet", "", 0, "other"},
	}
	for _, c := range cases {
		kbps := speedKbps(c.speed)
		if got := ifType(identity(c.ianaType), kbps); kbps != c.kbps || got != c.slug {
			t.Errorf("%s %s: %d %s; want %d %s", c.ianaType, c.speed, kbps, got, c.kbps, c.slug)
		}
	}
}

func elems(names ...string) []*gnmi.PathElem {
	var out []*gnmi.PathElem
	for _, n := range names {
		e := &gnmi.PathElem{Name: n}
		if n == "interface" {
			e.Key = map[string]string{"name": "Ethernet1"}
		}
		out = append(out, e)
	}
	return out
}

// Every shape vendors use for the same fact ends up at the same place.
func TestGraftShapes(t *testing.T) {
	jsonVal := func(s string) *gnmi.TypedValue {
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: []byte(s)}}
	}
	cases := []struct {
		name string
		path []*gnmi.PathElem
		val  *gnmi.TypedValue
	}{
		{"root container", nil, jsonVal(`{"openconfig-interfaces:interfaces":{"interface":[{"name":"Ethernet1","state":{"mtu":9000}}]}}`)},
		{"whole list", elems("interfaces", "interface")[:1], jsonVal(`{"interface":[{"name":"Ethernet1","state":{"mtu":9000}}]}`)},
		{"list entry", elems("interfaces", "interface"), jsonVal(`{"openconfig-interfaces:state":{"mtu":9000}}`)},
		{"prefixed path", []*gnmi.PathElem{{Name: "openconfig-interfaces:interfaces"}, {Name: "interface", Key: map[string]string{"name": "Ethernet1"}}}, jsonVal(`{"state":{"mtu":9000}}`)},
		{"leaf, uint", elems("interfaces", "interface", "state", "mtu"), &gnmi.TypedValue{Value: &gnmi.TypedValue_UintVal{UintVal: 9000}}},
		{"leaf, JSON string", elems("interfaces", "interface", "state", "mtu"), jsonVal(`"9000"`)},
	}
	for _, c := range cases {
		tree := map[string]any{}
		n := &gnmi.Notification{Update: []*gnmi.Update{{Path: &gnmi.Path{Elem: c.path}, Val: c.val}}}
		if err := graftNotification(tree, n); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ifs := list(tree, "interfaces", "interface")
		if len(ifs) != 1 {
			b, _ := json.Marshal(tree)
			t.Fatalf("%s: %d interfaces in %s", c.name, len(ifs), b)
		}
		mtu, ok := leafInt(obj(ifs[0]), "mtu")
		if name := leafStr(obj(ifs[0]), "name"); name != "Ethernet1" || !ok || mtu != 9000 {
			t.Errorf("%s: name %q mtu %d; want Ethernet1 9000", c.name, name, mtu)
		}
	}
	bad := &gnmi.Notification{Update: []*gnmi.Update{{Path: &gnmi.Path{}, Val: jsonVal(`{"broken"`)}}}
	if err := graftNotification(map[string]any{}, bad); err == nil {
		t.Error("bad JSON accepted")
	} else if want := "update /: bad JSON value"; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("err = %v; want %q…", err, want)
	}
}
