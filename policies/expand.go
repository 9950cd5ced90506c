package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// expander replaces ${NAME} (environment) and ${file:/path} (file contents,
// trailing newlines trimmed) in one scalar. It runs after YAML parsing, so a
// value can never add keys or lists. $$ is a literal $; any other $ is kept
// as is, so passwords containing $ need no escaping unless followed by {.
type expander struct {
	getenv   func(string) (string, bool)
	readFile func(string) ([]byte, error)
	baseDir  string // relative ${file:} paths are relative to the config file
}

// expand returns the expanded string and whether anything was substituted.
func (x *expander) expand(s string) (string, bool, error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	subst := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, fmt.Errorf(`unterminated "${" (write $$ for a literal $)`)
			}
			ref := s[i+2 : i+2+end]
			v, err := x.lookup(ref)
			if err != nil {
				return "", false, err
			}
			b.WriteString(v)
			subst = true
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), subst, nil
}

func (x *expander) lookup(ref string) (string, error) {
	if path, ok := strings.CutPrefix(ref, "file:"); ok {
		if path == "" {
			return "", fmt.Errorf("${file:} needs a path")
		}
		if !filepath.IsAbs(path) && x.baseDir != "" {
			path = filepath.Join(x.baseDir, path)
		}
		data, err := x.readFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("cannot read file %q: %v", path, err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	if !validEnvName(ref) {
		return "", fmt.Errorf("invalid variable name %q in ${...} (write $$ for a literal $)", ref)
	}
	v, ok := x.getenv(ref)
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set", ref)
	}
	return v, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
