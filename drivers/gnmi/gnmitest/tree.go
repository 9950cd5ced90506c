package gnmitest

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
)

//go:embed testdata/*.json
var trees embed.FS

// Style is how a flavour shapes the updates of a Get, as vendors differ.
type Style int

const (
	// Entries answers a list path with one update per entry, keyed path
	// (interface[name=Ethernet1]) and the entry as value (EOS-like).
	Entries Style = iota
	// List answers a list path with one update carrying the whole list as
	// a JSON array (seen on Junos).
	List
	// Container answers with one update at the parent path whose value is
	// a container holding the requested node, module prefix included
	// (SR Linux-like).
	Container
)

// Flavour is one vendor's behaviour: its OpenConfig tree, what it
// advertises and accepts, and how it shapes answers.
type Flavour struct {
	Name string
	// Tree is RFC 7951 JSON (module prefixes where the vendor uses them).
	Tree any
	// Advertised encodings in Capabilities; Accepted ones in Get (default:
	// Advertised). Others are refused with EncodingError.
	Advertised    []gnmi.Encoding
	Accepted      []gnmi.Encoding
	EncodingError string // "invalid-argument" (default) or "unimplemented"
	// MissingPathError is the code for a path outside the tree:
	// "not-found" (default) or "invalid-argument", as some targets answer.
	MissingPathError string
	Models           []*gnmi.ModelData
	Style            Style
}

func load(name string) any {
	b, err := trees.ReadFile("testdata/" + name)
	if err != nil {
		panic(err) // embedded: a build-time certainty
	}
	return decode(b)
}

func decode(b []byte) any {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	return v
}

var ocModels = []*gnmi.ModelData{
	{Name: "openconfig-interfaces", Organization: "OpenConfig working group", Version: "3.7.1"},
	{Name: "openconfig-platform", Organization: "OpenConfig working group", Version: "0.24.0"},
	{Name: "openconfig-system", Organization: "OpenConfig working group", Version: "0.17.1"},
	{Name: "openconfig-network-instance", Organization: "OpenConfig working group", Version: "4.4.1"},
}

// Arista is an EOS-like target: JSON_IETF with module prefixes, one update
// per list entry, VLANs under the default network instance.
func Arista() Flavour {
	return Flavour{
		Name:       "arista-eos",
		Tree:       load("arista-eos.json"),
		Advertised: []gnmi.Encoding{gnmi.Encoding_JSON, gnmi.Encoding_JSON_IETF, gnmi.Encoding_ASCII},
		Models: append([]*gnmi.ModelData{
			{Name: "arista-intf-augments", Organization: "Arista Networks, Inc.", Version: "1.0"},
		}, ocModels...),
		Style: Entries,
	}
}

// Junos is a Junos-like target: JSON only (JSON_IETF refused with
// InvalidArgument), no module prefixes, numbers as strings, whole lists in
// one update, and no VLAN branch at all.
func Junos() Flavour {
	return Flavour{
		Name:       "junos",
		Tree:       load("junos.json"),
		Advertised: []gnmi.Encoding{gnmi.Encoding_JSON, gnmi.Encoding_PROTO},
		Models: append([]*gnmi.ModelData{
			{Name: "junos-conf-root", Organization: "Juniper Networks, Inc.", Version: "23.2R1"},
		}, ocModels...),
		Style: List,
	}
}

// Synthetic is an EOS-like target with n Ethernet interfaces, each with an
// IPv4 address, for benchmarks.
func Synthetic(n int) Flavour {
	f := Arista()
	f.Name = fmt.Sprintf("synthetic-%d", n)
	ifs := make([]any, 0, n)
	for i := range n {
		name := "Ethernet" + strconv.Itoa(i+1)
		ifs = append(ifs, map[string]any{
			"name": name,
			"state": map[string]any{
				"name": name, "type": "iana-if-type:ethernetCsmacd", "enabled": true,
				"mtu": json.Number("9214"), "description": "synthetic " + name,
			},
			"openconfig-if-ethernet:ethernet": map[string]any{"state": map[string]any{
				"mac-address": fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff),
				"port-speed":  "openconfig-if-ethernet:SPEED_100GB",
			}},
			"subinterfaces": map[string]any{"subinterface": []any{map[string]any{
				"index": json.Number("0"),
				"openconfig-if-ip:ipv4": map[string]any{"addresses": map[string]any{"address": []any{map[string]any{
					"ip":    fmt.Sprintf("10.%d.%d.%d", i>>14&0xff, i>>6&0xff, (i&0x3f)*4+1),
					"state": map[string]any{"prefix-length": json.Number("30")},
				}}}},
			}}},
		})
	}
	tree := f.Tree.(map[string]any)
	tree["openconfig-interfaces:interfaces"] = map[string]any{"interface": ifs}
	return f
}

// listKeys names the key leaf of the OpenConfig lists the trees use.
var listKeys = map[string]string{
	"interface": "name", "component": "name", "network-instance": "name",
	"vlan": "vlan-id", "subinterface": "index", "address": "ip",
}

func stripPrefix(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// child finds name in a container, with or without a module prefix,
// returning the key as written in the tree.
func child(m map[string]any, name string) (string, any, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if stripPrefix(k) == name {
			return k, v, true
		}
	}
	return "", nil, false
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// match is one node found for a requested path.
type match struct {
	path  []*gnmi.PathElem
	key   string // the last element's name as written in the tree (maybe prefixed)
	value any
}

// find walks elems from node; list elements without keys are wildcards,
// except the last one, which selects the whole list.
func find(node any, elems []*gnmi.PathElem, at []*gnmi.PathElem, key string, style Style) []match {
	if len(elems) == 0 {
		return []match{{path: at, key: key, value: node}}
	}
	m, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	e := elems[0]
	k, v, ok := child(m, e.Name)
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		return find(v, elems[1:], append(clone(at), &gnmi.PathElem{Name: e.Name}), k, style)
	}
	keyName := listKeys[e.Name]
	if len(e.Key) == 0 && len(elems) == 1 && style != Entries {
		return []match{{path: append(clone(at), &gnmi.PathElem{Name: e.Name}), key: k, value: list}}
	}
	var out []match
	for _, entry := range list {
		em, ok := entry.(map[string]any)
		if !ok {
			continue
		}
		kv := scalar(em[keyName])
		if want, ok := e.Key[keyName]; ok && want != kv {
			continue
		}
		p := append(clone(at), &gnmi.PathElem{Name: e.Name, Key: map[string]string{keyName: kv}})
		out = append(out, find(em, elems[1:], p, k, style)...)
	}
	return out
}

func clone(p []*gnmi.PathElem) []*gnmi.PathElem { return append([]*gnmi.PathElem(nil), p...) }
