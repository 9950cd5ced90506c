package snmp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// loadExtensions reads every *.yaml/*.yml file of dir, each of the form
// `devices: {".1.3.6.1.4.1.9.1.1208": "WS-C2960X-48FPD-L"}`, into one
// sysObjectID → model table. Later files (by name) win on duplicates.
func loadExtensions(dir string) (map[string]string, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lookup_extensions_dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := map[string]string{}
	for _, n := range names {
		path := filepath.Join(dir, n)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("lookup_extensions_dir: %w", err)
		}
		var doc struct {
			Devices map[string]string `yaml:"devices"`
		}
		if err := yaml.UnmarshalWithOptions(b, &doc, yaml.DisallowUnknownField()); err != nil {
			var ye interface {
				GetToken() *token.Token
				GetMessage() string
			}
			if errors.As(err, &ye) && ye.GetToken() != nil {
				pos := ye.GetToken().Position
				return nil, fmt.Errorf("lookup_extensions_dir: %s:%d:%d: %s", path, pos.Line, pos.Column, ye.GetMessage())
			}
			return nil, fmt.Errorf("lookup_extensions_dir: %s: %s", path, strings.TrimSpace(yaml.FormatError(err, false, false)))
		}
		lines := keyLines(b)
		for k, model := range doc.Devices {
			at := path
			if l, ok := lines[k]; ok {
				at = fmt.Sprintf("%s:%d", path, l)
			}
			oid, ok := normalizeOID(k)
			if !ok {
				return nil, fmt.Errorf("lookup_extensions_dir: %s: devices key %q: not a numeric OID", at, k)
			}
			if strings.TrimSpace(model) == "" {
				return nil, fmt.Errorf("lookup_extensions_dir: %s: devices %q: empty model", at, k)
			}
			out[oid] = strings.TrimSpace(model)
		}
	}
	return out, nil
}

// normalizeOID returns s with one leading dot if it is a numeric OID.
func normalizeOID(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return "", false
	}
	for _, p := range strings.Split(s, ".") {
		if p == "" || strings.Trim(p, "0123456789") != "" || len(p) > 10 {
			return "", false
		}
	}
	return "." + s, true
}

// keyLines maps each key under "devices" to its line, for errors. The
// document already decoded, so a parse failure here only loses lines.
func keyLines(b []byte) map[string]int {
	out := map[string]int{}
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return out
	}
	p, err := yaml.PathString("$.devices")
	if err != nil {
		return out
	}
	n, err := p.FilterFile(f)
	if err != nil {
		return out
	}
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	}
	for _, v := range values {
		if tk := v.Key.GetToken(); tk != nil {
			out[tk.Value] = tk.Position.Line
		}
	}
	return out
}
