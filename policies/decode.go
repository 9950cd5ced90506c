package policies

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// decoder walks a goccy/go-yaml AST into the structs of this package using
// their yaml tags. Unlike a stock unmarshaller it keeps going after an error
// so that one Load reports every problem, and it records where each key path
// was written so validation can point at it.
type decoder struct {
	file    string
	x       *expander
	errs    []*Error
	set     map[string]bool // key paths present (non-null) in the file
	bad     map[string]bool // paths whose value failed to decode or expand
	keyPos  map[string]Pos  // where the key of a path is
	valPos  map[string]Pos  // where the value of a path starts
	anchors map[string]ast.Node
	roots   []keyRoot         // where to look when a key is unknown here
	merging map[ast.Node]bool // << sources being expanded, to catch cycles
	merges  int
	values  int
}

const (
	maxMerges = 10000
	maxValues = 250000
)

// rawNode lets the walker hand a subtree back undecoded (orb.backends,
// orb.policies), whose keys are data rather than schema.
type rawNode struct {
	node ast.Node
	path string
}

var (
	rawNodeType  = reflect.TypeFor[rawNode]()
	durationType = reflect.TypeFor[Duration]()
	secondsType  = reflect.TypeFor[Seconds]()
	secretType   = reflect.TypeFor[Secret]()
)

func newDecoder(file string, x *expander) *decoder {
	return &decoder{
		file:    file,
		x:       x,
		set:     map[string]bool{},
		bad:     map[string]bool{},
		keyPos:  map[string]Pos{},
		valPos:  map[string]Pos{},
		anchors: map[string]ast.Node{},
		merging: map[ast.Node]bool{},
	}
}

func (d *decoder) pos(n ast.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	// A block mapping's own token is its first ':'; point at its first key.
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		return d.pos(m.Values[0].Key)
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		return d.pos(mv.Key)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: tk.Position.Line, Column: tk.Position.Column}
}

func (d *decoder) errorf(p Pos, path, format string, args ...any) {
	d.bad[path] = true
	d.errs = append(d.errs, &Error{Pos: p, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
	}
	return path + "." + key
}

// collectAnchors records every &anchor so *alias can be resolved anywhere.
func (d *decoder) collectAnchors(n ast.Node) {
	ast.Walk(visitorFunc(func(n ast.Node) {
		if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
			d.anchors[a.Name.GetToken().Value] = a.Value
		}
	}), n)
}

type visitorFunc func(ast.Node)

func (f visitorFunc) Visit(n ast.Node) ast.Visitor {
	if n != nil {
		f(n)
	}
	return f
}

// resolve strips anchors and tags and follows aliases.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 32 {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.AliasNode:
			t, ok := d.anchors[x.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = t
		default:
			return n
		}
	}
	return n
}

type entry struct {
	key     string
	keyNode ast.Node
	val     ast.Node
}

// entries lists a mapping's keys in order, reporting duplicates and folding
// in YAML merge keys (<<: *base) that are not overridden.
func (d *decoder) entries(n ast.Node, path string) []entry {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	}
	seen := map[string]Pos{}
	var out, merged []entry
	for _, mv := range values {
		if mv.Key.IsMergeKey() {
			src := d.resolve(mv.Value)
			if seq, ok := src.(*ast.SequenceNode); ok {
				for _, it := range seq.Values {
					merged = append(merged, d.mergeSource(it, path)...)
				}
			} else {
				merged = append(merged, d.mergeSource(src, path)...)
			}
			continue
		}
		var kn ast.Node = mv.Key
		if k, ok := kn.(*ast.MappingKeyNode); ok {
			kn = k.Value
		}
		key := ""
		if tk := kn.GetToken(); tk != nil {
			key = tk.Value
		}
		p := d.pos(kn)
		if first, dup := seen[key]; dup {
			d.errorf(p, join(path, key), "duplicate key %q (first at line %d)", key, first.Line)
			continue
		}
		seen[key] = p
		out = append(out, entry{key: key, keyNode: kn, val: mv.Value})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = d.pos(e.keyNode)
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) mergeSource(n ast.Node, path string) []entry {
	n = d.resolve(n)
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		// A mapping that merges itself, directly or through others, would
		// never end; many merges of merges could blow up. Bound both.
		if d.merging[n] {
			d.errorf(d.pos(n), path, "<< merge key refers to the mapping that contains it")
			return nil
		}
		if d.merges++; d.merges > maxMerges {
			if d.merges == maxMerges+1 {
				d.errorf(d.pos(n), path, "more than %d << merges in one file", maxMerges)
			}
			return nil
		}
		d.merging[n] = true
		defer delete(d.merging, n)
		return d.entries(n, path)
	}
	d.errorf(d.pos(n), path, "<< merge key needs a mapping, got %s", describe(n))
	return nil
}

// isNull reports an absent value (key: with nothing, or ~/null).
func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// decode fills v from n. A null value is treated as absent.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string, depth int) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if depth > 40 {
		d.errorf(d.pos(n), path, "nested too deeply")
		return
	}
	// Aliases can make a small file decode into a huge one; stop early.
	if d.values++; d.values > maxValues {
		if d.values == maxValues+1 {
			d.errorf(d.pos(n), path, "file expands to more than %d values (through aliases?)", maxValues)
		}
		return
	}
	d.set[path] = true
	d.valPos[path] = d.pos(n)
	t := v.Type()
	switch {
	case t == rawNodeType:
		v.Set(reflect.ValueOf(rawNode{node: n, path: path}))
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.decode(n, nv.Elem(), path, depth+1)
		v.Set(nv)
	case t.Kind() == reflect.Struct:
		if !isMapping(n) {
			d.typeError(n, path, "a mapping")
			return
		}
		fi := fieldsOf(t)
		for _, e := range d.entries(n, path) {
			kp := join(path, e.key)
			idx, ok := fi.byKey[e.key]
			if !ok {
				d.unknownKey(e, path, fi.keys)
				continue
			}
			d.keyPos[kp] = d.pos(e.keyNode)
			d.decode(e.val, v.Field(idx), kp, depth+1)
		}
	case t.Kind() == reflect.Map:
		if !isMapping(n) {
			d.typeError(n, path, "a mapping of "+listNoun(path, t.Elem()))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		for _, e := range d.entries(n, path) {
			kp := join(path, e.key)
			d.keyPos[kp] = d.pos(e.keyNode)
			ev := reflect.New(t.Elem()).Elem()
			d.decode(e.val, ev, kp, depth+1)
			v.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), ev)
		}
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.typeError(n, path, "a list of "+listNoun(path, t.Elem()))
			return
		}
		s := reflect.MakeSlice(t, len(seq.Values), len(seq.Values))
		for i, it := range seq.Values {
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.keyPos[ip] = d.pos(it)
			d.decode(it, s.Index(i), ip, depth+1)
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// decodeScalar expands ${...} in string scalars, then converts to v's type,
// so "port: ${PORT}" works and a secret never turns into YAML structure.
func (d *decoder) decodeScalar(n ast.Node, v reflect.Value, path string) {
	t := v.Type()
	want := kindNoun(t)
	var text string
	expandable := false
	switch x := n.(type) {
	case *ast.StringNode:
		text, expandable = x.Value, true
	case *ast.LiteralNode:
		text, expandable = x.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		text = x.GetToken().Value
	default:
		d.typeError(n, path, want)
		return
	}
	expanded := false
	if expandable {
		s, subst, err := d.x.expand(text)
		if err != nil {
			d.errorf(d.pos(n), path, "%v", err)
			return
		}
		text, expanded = s, subst
	}
	// got describes a bad value without echoing secrets or expanded values.
	got := func() string {
		if expanded || t == secretType {
			return "a value that is not one (after ${} expansion)"
		}
		return strconv.Quote(text)
	}
	switch {
	case t == durationType:
		dur, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			d.errorf(d.pos(n), path, "expected %s, got %s", want, got())
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.String:
		v.SetString(text)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			d.errorf(d.pos(n), path, "expected %s, got %s", want, got())
			return
		}
		v.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, t.Bits())
		if err != nil {
			d.errorf(d.pos(n), path, "expected %s, got %s", want, got())
			return
		}
		v.SetInt(i)
	case t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(d.pos(n), path, "expected %s, got %s", want, got())
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(d.pos(n), path, "internal: no decoder for %s", t)
	}
}

func (d *decoder) typeError(n ast.Node, path, want string) {
	d.errorf(d.pos(n), path, "expected %s, got %s", want, describe(n))
}

// describe names a node's YAML type for error messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	case *ast.AliasNode:
		return "an unknown alias"
	}
	return "a " + n.Type().String()
}

// kindNoun says what a Go type expects, in config words.
func kindNoun(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 30s"
	case t == secondsType:
		return "a number of seconds"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Pointer:
		return kindNoun(t.Elem())
	}
	return "a mapping"
}

// listNoun names the items of a list for "expected a list of …".
func listNoun(path string, elem reflect.Type) string {
	key := path[strings.LastIndex(path, ".")+1:]
	switch key {
	case "targets":
		return "targets"
	case "scope":
		return "devices"
	case "interface_patterns":
		return "patterns ({match, type})"
	case "port_scan_ports":
		return "port numbers"
	}
	switch elem.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Int:
		return "integers"
	}
	return "mappings"
}

// fieldInfo maps yaml keys to struct field indexes.
type fieldInfo struct {
	byKey map[string]int
	keys  []string // sorted, for messages
}

var fieldCache sync.Map // reflect.Type → *fieldInfo; derived from types, not state

func fieldsOf(t reflect.Type) *fieldInfo {
	if fi, ok := fieldCache.Load(t); ok {
		return fi.(*fieldInfo)
	}
	fi := &fieldInfo{byKey: map[string]int{}}
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		key, _, _ := strings.Cut(tag, ",")
		if key == "" || key == "-" {
			continue
		}
		fi.byKey[key] = i
		fi.keys = append(fi.keys, key)
	}
	sort.Strings(fi.keys)
	fieldCache.Store(t, fi)
	return fi
}

// keyRoot is a schema subtree, used to say where a misplaced key belongs.
type keyRoot struct {
	prefix string
	index  map[string][]string // key → relative parent paths ("config", "scope.targets[]")
}

var indexCache sync.Map // reflect.Type → map[string][]string; read-only once built

// schemaIndex maps every key under t to the relative paths it may appear at.
// The result is shared: callers must not modify it.
func schemaIndex(t reflect.Type) map[string][]string {
	if idx, ok := indexCache.Load(t); ok {
		return idx.(map[string][]string)
	}
	idx := buildIndex(t)
	indexCache.Store(t, idx)
	return idx
}

func buildIndex(t reflect.Type) map[string][]string {
	idx := map[string][]string{}
	var walk func(t reflect.Type, rel string, depth int)
	walk = func(t reflect.Type, rel string, depth int) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == rawNodeType || depth > 8 {
			return
		}
		fi := fieldsOf(t)
		for _, k := range fi.keys {
			idx[k] = append(idx[k], rel)
			ft := t.Field(fi.byKey[k]).Type
			sub := join(rel, k)
			if ft.Kind() == reflect.Slice {
				ft, sub = ft.Elem(), sub+"[]"
			}
			walk(ft, sub, depth+1)
		}
	}
	walk(t, "", 0)
	return idx
}

// unknownKey reports a key the schema does not have at path: misplaced if it
// exists elsewhere nearby, else a spelling suggestion, else the allowed keys.
func (d *decoder) unknownKey(e entry, path string, allowed []string) {
	p, kp := d.pos(e.keyNode), join(path, e.key)
	for _, r := range d.roots {
		locs := r.index[e.key]
		if len(locs) == 0 || len(locs) > 3 {
			continue
		}
		full := make([]string, len(locs))
		for i, l := range locs {
			full[i] = join(r.prefix, l)
		}
		d.errorf(p, kp, "key %q does not belong here; it goes under %s", e.key, strings.Join(full, " or "))
		return
	}
	if s := suggest(e.key, allowed); s != "" {
		d.errorf(p, kp, "unknown key %q; did you mean %q?", e.key, s)
		return
	}
	if len(allowed) == 0 {
		d.errorf(p, kp, "unknown key %q; nothing is allowed here", e.key)
		return
	}
	d.errorf(p, kp, "unknown key %q; allowed: %s", e.key, strings.Join(allowed, ", "))
}

// suggest returns the closest candidate within a small edit distance.
func suggest(s string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if dd := levenshtein(strings.ToLower(s), strings.ToLower(c)); dd < bestD && dd <= len(c)/2 {
			best, bestD = c, dd
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
