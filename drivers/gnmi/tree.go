package gnmi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
)

// The tree is generic JSON (map[string]any, []any, string, json.Number,
// bool) with module prefixes stripped from every key, so that
// "openconfig-interfaces:interfaces" and "interfaces" are the same node.

// grafter adds updates to one tree, indexing keyed list entries so that
// a target sending one update per entry costs O(n), not O(n²).
type grafter struct {
	tree map[string]any
	idx  map[string]*listIndex // list path (with ancestors' keys) → entries
}

type listIndex struct {
	n     int // len(list) when indexed; a list grown by a merge is reindexed
	byKey map[string]map[string]any
}

func newGrafter(tree map[string]any) *grafter {
	return &grafter{tree: tree, idx: map[string]*listIndex{}}
}

// graftNotification adds every update of n to tree (a one-off grafter).
func graftNotification(tree map[string]any, n *gnmi.Notification) error {
	return newGrafter(tree).add(n)
}

// add grafts every update of n.
func (g *grafter) add(n *gnmi.Notification) error {
	prefix := n.GetPrefix().GetElem()
	for _, u := range n.GetUpdate() {
		v, ok, err := typedValue(u.GetVal())
		if err != nil {
			return fmt.Errorf("update %s: %w", pathString(u.GetPath()), err)
		}
		if !ok {
			continue
		}
		elems := append(append([]*gnmi.PathElem(nil), prefix...), u.GetPath().GetElem()...)
		g.graft(g.tree, "", elems, normalize(v))
	}
	return nil
}

// typedValue decodes the value kinds targets send for JSON Gets: JSON
// blobs, and scalars for leaves.
func typedValue(tv *gnmi.TypedValue) (any, bool, error) {
	var raw []byte
	switch v := tv.GetValue().(type) {
	case *gnmi.TypedValue_JsonIetfVal:
		raw = v.JsonIetfVal
	case *gnmi.TypedValue_JsonVal:
		raw = v.JsonVal
	case *gnmi.TypedValue_StringVal:
		return v.StringVal, true, nil
	case *gnmi.TypedValue_AsciiVal:
		return v.AsciiVal, true, nil
	case *gnmi.TypedValue_BoolVal:
		return v.BoolVal, true, nil
	case *gnmi.TypedValue_IntVal:
		return json.Number(fmt.Sprint(v.IntVal)), true, nil
	case *gnmi.TypedValue_UintVal:
		return json.Number(fmt.Sprint(v.UintVal)), true, nil
	default:
		return nil, false, nil // bytes, protos, leaf-lists: nothing we map
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, false, fmt.Errorf("bad JSON value: %w", err)
	}
	return out, true, nil
}

func stripPrefix(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// normalize strips module prefixes from keys, recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			k = stripPrefix(k)
			out[k] = merge(out[k], normalize(val))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	}
	return v
}

// graft puts v at elems below node (at is node's path, for the index).
// Keyed elements select (or create) the list entry whose key leaves match,
// so per-entry updates and whole-list updates end up in the same shape.
func (g *grafter) graft(node map[string]any, at string, elems []*gnmi.PathElem, v any) {
	if len(elems) == 0 {
		if m, ok := v.(map[string]any); ok {
			for k, val := range m {
				node[k] = merge(node[k], val)
			}
		}
		return
	}
	e := elems[0]
	name := stripPrefix(e.GetName())
	at += "/" + name
	if len(e.GetKey()) == 0 {
		if len(elems) == 1 {
			node[name] = merge(node[name], v)
			return
		}
		child, ok := node[name].(map[string]any)
		if !ok {
			child = map[string]any{}
			node[name] = child
		}
		g.graft(child, at, elems[1:], v)
		return
	}
	keyNames := make([]string, 0, len(e.GetKey()))
	for k := range e.GetKey() {
		keyNames = append(keyNames, stripPrefix(k))
	}
	slices.Sort(keyNames)
	want := make(map[string]string, len(e.GetKey()))
	for k, kv := range e.GetKey() {
		want[stripPrefix(k)] = kv
	}
	key := canonicalKey(keyNames, func(k string) string { return want[k] })

	list, _ := node[name].([]any)
	li := g.idx[at]
	if li == nil || li.n != len(list) {
		li = &listIndex{n: len(list), byKey: make(map[string]map[string]any, len(list))}
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				li.byKey[canonicalKey(keyNames, func(k string) string { return str(m[k]) })] = m
			}
		}
		g.idx[at] = li
	}
	entry := li.byKey[key]
	if entry == nil {
		entry = map[string]any{}
		for k, kv := range want {
			entry[k] = kv
		}
		list = append(list, entry)
		node[name] = list
		li.byKey[key] = entry
		li.n = len(list)
	}
	g.graft(entry, at+"["+key+"]", elems[1:], v)
}

func canonicalKey(names []string, value func(string) string) string {
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + value(k))
	}
	return b.String()
}

// merge combines two decoded values: containers merge key by key, lists
// concatenate, and otherwise the newer value wins.
func merge(old, v any) any {
	if old == nil {
		return v
	}
	switch o := old.(type) {
	case map[string]any:
		if m, ok := v.(map[string]any); ok {
			for k, val := range m {
				o[k] = merge(o[k], val)
			}
			return o
		}
	case []any:
		if l, ok := v.([]any); ok {
			return append(o, l...)
		}
	}
	return v
}

func pathString(p *gnmi.Path) string {
	var b strings.Builder
	for _, e := range p.GetElem() {
		b.WriteString("/" + e.GetName())
		for k, v := range e.GetKey() {
			fmt.Fprintf(&b, "[%s=%s]", k, v)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// Accessors over the generic tree. Missing or mistyped nodes read as zero.

func obj(v any, path ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, p := range path {
		m, _ = m[p].(map[string]any)
	}
	return m
}

func list(v any, path ...string) []any {
	if len(path) == 0 {
		l, _ := v.([]any)
		return l
	}
	m := obj(v, path[:len(path)-1]...)
	switch x := m[path[len(path)-1]].(type) {
	case []any:
		return x
	case map[string]any:
		return []any{x} // a one-entry list some targets send as an object
	}
	return nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

// leaf reads the first non-empty of state/<name>, config/<name>, <name>:
// operational state wins over intended config.
func leaf(m map[string]any, name string) any {
	for _, c := range []map[string]any{obj(m, "state"), obj(m, "config"), m} {
		if v, ok := c[name]; ok && str(v) != "" {
			return v
		}
	}
	return nil
}

func leafStr(m map[string]any, name string) string { return strings.TrimSpace(str(leaf(m, name))) }

func leafInt(m map[string]any, name string) (int64, bool) {
	var n int64
	_, err := fmt.Sscan(str(leaf(m, name)), &n)
	return n, err == nil
}

func leafBool(m map[string]any, name string) *bool {
	switch x := leaf(m, name).(type) {
	case bool:
		return &x
	case string:
		b := strings.EqualFold(x, "true")
		if b || strings.EqualFold(x, "false") {
			return &b
		}
	}
	return nil
}
