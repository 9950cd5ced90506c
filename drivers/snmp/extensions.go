package snmp

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
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
			return nil, fmt.Errorf("lookup_extensions_dir: %s: %s", path, strings.TrimSpace(yaml.FormatError(err, false, true)))
		}
		for k, model := range doc.Devices {
			oid, ok := normalizeOID(k)
			if !ok {
				return nil, fmt.Errorf("lookup_extensions_dir: %s: devices key %q: not a numeric OID", path, k)
			}
			if strings.TrimSpace(model) == "" {
				return nil, fmt.Errorf("lookup_extensions_dir: %s: devices %q: empty model", path, k)
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
