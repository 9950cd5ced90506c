package ssh

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Node is a namespace-free element tree. Junos answers the same RPC as
// NETCONF XML and as CLI `| display json`; both become Nodes, so one
// mapping (JunosDevice) serves both transports, and the IETF/OpenConfig
// NETCONF mappings use it too.
type Node struct {
	Name  string
	Space string // XML namespace, "" for JSON
	Text  string
	Attrs map[string]string
	Kids  []*Node
}

// Child returns the first child named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Children returns all children named name.
func (n *Node) Children(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, k := range n.Kids {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// Path follows child names; nil when any step is missing.
func (n *Node) Path(names ...string) *Node {
	for _, s := range names {
		n = n.Child(s)
	}
	return n
}

// Str is the trimmed text at path ("" when missing).
func (n *Node) Str(names ...string) string {
	if m := n.Path(names...); m != nil {
		return strings.TrimSpace(m.Text)
	}
	return ""
}

// Find returns the first node named name in a depth-first walk.
func (n *Node) Find(name string) *Node {
	if n == nil {
		return nil
	}
	if n.Name == name {
		return n
	}
	for _, k := range n.Kids {
		if f := k.Find(name); f != nil {
			return f
		}
	}
	return nil
}

// maxTreeNodes bounds what one reply may allocate.
const maxTreeNodes = 2_000_000

// ParseXMLTree parses an XML document into Nodes (the root is a synthetic
// node holding the top-level elements).
func ParseXMLTree(r io.Reader) (*Node, error) {
	dec := xml.NewDecoder(r)
	root := &Node{}
	stack := []*Node{root}
	count := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxTreeNodes {
				return nil, fmt.Errorf("xml: more than %d elements", maxTreeNodes)
			}
			n := &Node{Name: t.Name.Local, Space: t.Name.Space}
			for _, a := range t.Attr {
				if n.Attrs == nil {
					n.Attrs = map[string]string{}
				}
				n.Attrs[a.Name.Local] = a.Value
			}
			p := stack[len(stack)-1]
			p.Kids = append(p.Kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			cur := stack[len(stack)-1]
			if cur != root {
				cur.Text += string(t)
			}
		}
	}
	if len(stack) != 1 {
		return nil, errors.New("xml: unexpected end of document")
	}
	return root, nil
}

// ParseJunosJSON parses Junos `| display json` output: every element is
// an array of objects, leaves are [{"data": "…"}], attributes sit under
// "attributes".
func ParseJunosJSON(b []byte) (*Node, error) {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexByte(b, '{'); i > 0 {
		b = b[i:]
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("junos json: %w", err)
	}
	root := &Node{}
	addJSON(root, v)
	return root, nil
}

func addJSON(parent *Node, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "data":
			parent.Text = fmt.Sprint(obj[k])
			continue
		case "attributes":
			if m, ok := obj[k].(map[string]any); ok {
				parent.Attrs = map[string]string{}
				for ak, av := range m {
					parent.Attrs[ak] = fmt.Sprint(av)
				}
			}
			continue
		}
		items, ok := obj[k].([]any)
		if !ok {
			items = []any{obj[k]}
		}
		for _, it := range items {
			n := &Node{Name: k}
			switch x := it.(type) {
			case map[string]any:
				addJSON(n, x)
			case nil:
			default:
				n.Text = fmt.Sprint(x)
			}
			parent.Kids = append(parent.Kids, n)
		}
	}
}
