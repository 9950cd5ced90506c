package policies

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// LoadOptions injects the environment so tests and reloads are hermetic.
type LoadOptions struct {
	// Getenv resolves ${NAME}; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// ReadFile resolves ${file:/path}; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Available reports whether this build has a driver for a backend; nil
	// means all. Policies of an unavailable backend are an error.
	Available func(backend string) bool
}

// Backends lists every backend name orbd knows, in documentation order.
var Backends = []string{BackendSNMP, BackendDevice, BackendGNMI, BackendVCenter, BackendController}

// file layout types: only the walker sees these.
type fileDoc struct {
	Orb *orbDoc `yaml:"orb"`
}

type orbDoc struct {
	Labels        map[string]string `yaml:"labels"`
	ConfigManager configManager     `yaml:"config_manager"`
	Agent         AgentConfig       `yaml:"agent"`
	Backends      rawNode           `yaml:"backends"`
	Policies      rawNode           `yaml:"policies"`
}

type configManager struct {
	Active string `yaml:"active"`
}

type commonDoc struct {
	Diode DiodeConfig `yaml:"diode"`
}

const (
	agentPath = "orb.agent"
	diodePath = "orb.backends.common.diode"
)

// policyType is the Go type of each backend's policy block.
func policyType(backend string) reflect.Type {
	switch backend {
	case BackendSNMP:
		return reflect.TypeFor[SNMPPolicy]()
	case BackendDevice:
		return reflect.TypeFor[DevicePolicy]()
	case BackendGNMI:
		return reflect.TypeFor[GNMIPolicy]()
	case BackendVCenter:
		return reflect.TypeFor[VCenterPolicy]()
	case BackendController:
		return reflect.TypeFor[ControllerPolicy]()
	}
	return nil
}

// orbIndex knows where every key of the whole file lives, so a key put at the
// wrong level is reported with the right place.
var orbIndex = sync.OnceValue(func() keyRoot {
	idx := buildIndex(reflect.TypeFor[fileDoc]())
	add := func(t reflect.Type, prefix string) {
		for k, locs := range schemaIndex(t) {
			for _, l := range locs {
				idx[k] = append(idx[k], join(prefix, l))
			}
		}
	}
	add(reflect.TypeFor[commonDoc](), "orb.backends.common")
	for _, b := range Backends {
		add(policyType(b), "orb.policies."+b+".<name>")
	}
	return keyRoot{index: idx}
})

// fileResult is one file, decoded but not yet merged.
type fileResult struct {
	d        *decoder
	labels   map[string]string
	agent    AgentConfig
	diode    DiodeConfig
	backends map[string]bool
	policies []*Policy
	fatal    bool // the file as a whole could not be read or parsed
}

// policyMeta remembers where a policy came from, for validation messages.
type policyMeta struct {
	d    *decoder
	path string // orb.policies.<backend>.<name>
}

// Load reads, expands, merges, defaults and validates config files. Each
// path is a file or a directory of *.yaml/*.yml (sorted). Later files win per
// policy; orb.labels merge key by key; orb.agent and the diode block merge
// field by field where a later file sets the key. On any problem it returns
// nil and an Errors value listing all of them.
func Load(paths []string, opts LoadOptions) (*Config, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	var errs []*Error
	files, ferrs := listFiles(paths)
	errs = append(errs, ferrs...)

	orb := orbIndex()
	var results []*fileResult
	for _, f := range files {
		r := loadFile(f, opts, orb)
		errs = append(errs, r.d.errs...)
		results = append(results, r)
	}

	cfg := &Config{Files: files, Labels: map[string]string{}, Backends: map[string]bool{}}
	// glob holds the merged positions of orb.agent and diode keys; a key no
	// file wrote is reported against the last file, the one that would win.
	glob := newDecoder("", nil)
	if len(files) > 0 {
		glob.file = files[len(files)-1]
	}
	byKey := map[string]*Policy{}
	meta := map[*Policy]policyMeta{}
	for _, r := range results {
		for k, v := range r.labels {
			cfg.Labels[k] = v
		}
		mergeFields(reflect.ValueOf(&cfg.Agent).Elem(), reflect.ValueOf(r.agent), agentPath, r.d, glob)
		mergeFields(reflect.ValueOf(&cfg.Diode).Elem(), reflect.ValueOf(r.diode), diodePath, r.d, glob)
		for _, k := range []string{"orb", agentPath, "orb.backends", "orb.backends.common", diodePath} {
			if pos, ok := r.d.keyPos[k]; ok {
				glob.keyPos[k] = pos
			}
		}
		for b := range r.d.bad {
			if under(b, agentPath) || under(b, diodePath) {
				glob.bad[b] = true
			}
		}
		for b := range r.backends {
			cfg.Backends[b] = true
		}
		for _, p := range r.policies {
			byKey[p.Key()] = p
			meta[p] = policyMeta{d: r.d, path: "orb.policies." + p.Backend + "." + p.Name}
		}
	}
	for _, p := range byKey {
		cfg.Policies = append(cfg.Policies, p)
	}
	sort.Slice(cfg.Policies, func(i, j int) bool {
		a, b := cfg.Policies[i], cfg.Policies[j]
		if a.Backend != b.Backend {
			return a.Backend < b.Backend
		}
		return a.Name < b.Name
	})

	// A file that could not be read as a whole leaves the merged view
	// incomplete; checks across files would only add misleading errors.
	whole := len(ferrs) == 0 && len(files) > 0
	for _, r := range results {
		whole = whole && !r.fatal
	}
	applyGlobalDefaults(cfg, glob, opts.Getenv)
	if whole {
		errs = append(errs, validateGlobal(cfg, glob)...)
	}
	for _, p := range cfg.Policies {
		m := meta[p]
		c := &checker{d: m.d, prefix: m.path}
		if whole && !cfg.Backends[p.Backend] {
			errs = append(errs, &Error{Pos: p.Source, Path: m.path, Msg: fmt.Sprintf(
				"backend %s is not enabled: add \"%s: {}\" under orb.backends (orb-agent requires it)", p.Backend, p.Backend)})
		}
		if opts.Available != nil && !opts.Available(p.Backend) {
			errs = append(errs, &Error{Pos: p.Source, Path: m.path, Msg: fmt.Sprintf(
				"backend %s is not available yet in this build", p.Backend)})
		}
		normalise(p, c)
		validatePolicy(p, c)
		errs = append(errs, c.errs...)
		p.Fingerprint = fingerprint(p)
	}
	if len(files) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{Msg: "no config files given"})
	}
	if len(errs) > 0 {
		sortErrors(errs, files)
		return nil, Errors(errs)
	}
	return cfg, nil
}

// listFiles expands directories into their sorted *.yaml/*.yml files.
func listFiles(paths []string) ([]string, []*Error) {
	var files []string
	var errs []*Error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: p}, Msg: fmt.Sprintf("cannot read config: %v", unwrapPath(err))})
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: p}, Msg: fmt.Sprintf("cannot read config directory: %v", unwrapPath(err))})
			continue
		}
		n := 0
		for _, e := range ents { // ReadDir sorts by name
			ext := filepath.Ext(e.Name())
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			errs = append(errs, &Error{Pos: Pos{File: p}, Msg: "directory has no *.yaml or *.yml files"})
		}
	}
	return files, errs
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func loadFile(file string, opts LoadOptions, orb keyRoot) *fileResult {
	x := &expander{getenv: opts.Getenv, readFile: opts.ReadFile, baseDir: filepath.Dir(file)}
	d := newDecoder(file, x)
	d.roots = []keyRoot{orb}
	r := &fileResult{d: d, backends: map[string]bool{}}
	data, err := os.ReadFile(file)
	if err != nil {
		d.errorf(Pos{File: file}, "", "cannot read config: %v", unwrapPath(err))
		r.fatal = true
		return r
	}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.syntaxError(err)
		r.fatal = true
		return r
	}
	var body ast.Node
	for i, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorf(d.pos(doc.Body), "", "only one YAML document per file is allowed (document %d)", i+1)
			r.fatal = true
			return r
		}
		body = doc.Body
	}
	if body == nil || isNull(body) {
		d.errorf(Pos{File: file, Line: 1, Column: 1}, "", "empty config: expected a mapping with key orb")
		r.fatal = true
		return r
	}
	d.collectAnchors(body)
	var doc fileDoc
	d.decode(body, reflect.ValueOf(&doc).Elem(), "", 0)
	if doc.Orb == nil {
		if len(d.errs) == 0 {
			d.errorf(d.pos(body), "", "missing top-level key orb")
		}
		r.fatal = true
		return r
	}
	o := doc.Orb
	r.labels, r.agent = o.Labels, o.Agent
	if o.ConfigManager.Active != "" && o.ConfigManager.Active != "local" {
		d.errorf(d.valPos["orb.config_manager.active"], "orb.config_manager.active", "only \"local\" is supported (got %q)", o.ConfigManager.Active)
	}
	if o.Backends.node != nil {
		d.backends(o.Backends, r)
	}
	if o.Policies.node != nil {
		d.policies(o.Policies, r, orb)
	}
	if d.values > maxValues { // the error is reported; validating the bulk adds nothing
		r.policies, r.fatal = nil, true
	}
	return r
}

// syntaxError turns a goccy parse error into one positioned Error. The
// message is goccy's without its source excerpt.
func (d *decoder) syntaxError(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Pos{File: d.file}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
		d.errorf(p, "", "YAML syntax error: %s", ye.GetMessage())
		return
	}
	d.errorf(Pos{File: d.file}, "", "YAML syntax error: %v", err)
}

func (d *decoder) backends(r rawNode, res *fileResult) {
	if !isMapping(r.node) {
		d.typeError(r.node, r.path, "a mapping of backends")
		return
	}
	for _, e := range d.entries(r.node, r.path) {
		kp := join(r.path, e.key)
		d.keyPos[kp] = d.pos(e.keyNode)
		if e.key == "common" {
			var c commonDoc
			d.decode(e.val, reflect.ValueOf(&c).Elem(), kp, 1)
			res.diode = c.Diode
			continue
		}
		if policyType(e.key) == nil {
			d.unknownName(e, kp, "backend", append([]string{"common"}, Backends...))
			continue
		}
		res.backends[e.key] = true
		v := d.resolve(e.val)
		if isNull(v) {
			continue
		}
		if !isMapping(v) {
			d.typeError(v, kp, "an empty mapping ({})")
			continue
		}
		for _, s := range d.entries(v, kp) {
			d.errorf(d.pos(s.keyNode), join(kp, s.key), "orbd takes no settings for backend %s; put them in the policy config", e.key)
		}
	}
}

func (d *decoder) unknownName(e entry, path, what string, known []string) {
	if s := suggest(e.key, known); s != "" {
		d.errorf(d.pos(e.keyNode), path, "unknown %s %q; did you mean %q?", what, e.key, s)
		return
	}
	d.errorf(d.pos(e.keyNode), path, "unknown %s %q; known: %s", what, e.key, strings.Join(known, ", "))
}

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (d *decoder) policies(r rawNode, res *fileResult, orb keyRoot) {
	if !isMapping(r.node) {
		d.typeError(r.node, r.path, "a mapping of backends to policies")
		return
	}
	for _, be := range d.entries(r.node, r.path) {
		bp := join(r.path, be.key)
		d.keyPos[bp] = d.pos(be.keyNode)
		pt := policyType(be.key)
		if pt == nil {
			d.unknownName(be, bp, "backend", Backends)
			continue
		}
		v := d.resolve(be.val)
		if isNull(v) {
			continue
		}
		if !isMapping(v) {
			d.typeError(v, bp, "a mapping of policy names to policies")
			continue
		}
		for _, pe := range d.entries(v, bp) {
			pp := join(bp, pe.key)
			d.keyPos[pp] = d.pos(pe.keyNode)
			switch {
			case pe.key == "":
				d.errorf(d.pos(pe.keyNode), pp, "policy name is empty")
				continue
			case !policyNameRE.MatchString(pe.key):
				d.errorf(d.pos(pe.keyNode), pp, "policy name %q may only contain letters, digits, _, . and -", pe.key)
				continue
			}
			ptr := reflect.New(pt)
			d.roots = []keyRoot{{prefix: pp, index: schemaIndex(pt)}, orb}
			d.decode(pe.val, ptr.Elem(), pp, 1)
			d.roots = []keyRoot{orb}
			p := &Policy{Backend: be.key, Name: pe.key, Source: d.pos(pe.keyNode)}
			switch x := ptr.Interface().(type) {
			case *SNMPPolicy:
				p.SNMP = x
			case *DevicePolicy:
				p.Device = x
			case *GNMIPolicy:
				p.GNMI = x
			case *VCenterPolicy:
				p.VCenter = x
			case *ControllerPolicy:
				p.Controller = x
			}
			res.policies = append(res.policies, p)
		}
	}
}

// mergeFields copies each top-level field of src that file d set into dst,
// with its recorded positions, so later files override key by key.
func mergeFields(dst, src reflect.Value, prefix string, d, glob *decoder) {
	fi := fieldsOf(dst.Type())
	for _, k := range fi.keys {
		kp := join(prefix, k)
		if !d.set[kp] {
			continue
		}
		dst.Field(fi.byKey[k]).Set(src.Field(fi.byKey[k]))
		for _, m := range []struct{ from, to map[string]Pos }{{d.keyPos, glob.keyPos}, {d.valPos, glob.valPos}} {
			for p := range m.to {
				if under(p, kp) {
					delete(m.to, p)
				}
			}
			for p, pos := range m.from {
				if under(p, kp) {
					m.to[p] = pos
				}
			}
		}
		for p := range glob.set {
			if under(p, kp) {
				delete(glob.set, p)
			}
		}
		for p := range d.set {
			if under(p, kp) {
				glob.set[p] = true
			}
		}
	}
}

// under reports whether path p is prefix or inside it.
func under(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || p[len(prefix)] == '.' || p[len(prefix)] == '['
}
