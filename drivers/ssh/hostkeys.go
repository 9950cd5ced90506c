package ssh

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host key policies (optional_args.host_key_policy).
const (
	HostKeyStrict    = "strict"     // only keys already in known_hosts
	HostKeyAcceptNew = "accept-new" // trust on first use, record it; the default
	HostKeyInsecure  = "insecure"   // accept anything (warned by the caller)
)

// ValidHostKeyPolicy reports whether p is a known policy ("" = accept-new).
func ValidHostKeyPolicy(p string) bool {
	switch p {
	case "", HostKeyStrict, HostKeyAcceptNew, HostKeyInsecure:
		return true
	}
	return false
}

// HostKeys checks server keys against a known_hosts file under a policy.
// It is safe for concurrent use by many targets and processes: the file is
// re-read under an flock for every check, and new keys are appended with
// one O_APPEND write while holding the lock.
type HostKeys struct {
	Policy string // "" = accept-new
	File   string // known_hosts path
}

// HostKeyError is a host key that must not be trusted.
type HostKeyError struct {
	Addr    string
	File    string
	Line    int  // known_hosts line of the recorded key (changed keys)
	Unknown bool // strict policy, key not recorded
}

func (e *HostKeyError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("host key for %s is not in %s (host_key_policy strict); add it or use accept-new", e.Addr, e.File)
	}
	return fmt.Sprintf("host key for %s changed (%s line %d); remove that line if the change is expected", e.Addr, e.File, e.Line)
}

// Callback returns the ssh.HostKeyCallback for this policy.
func (h HostKeys) Callback() xssh.HostKeyCallback {
	if h.Policy == HostKeyInsecure {
		return xssh.InsecureIgnoreHostKey() //nolint:gosec // chosen by the operator, warned every run
	}
	return func(hostname string, remote net.Addr, key xssh.PublicKey) error {
		return h.check(hostname, remote, key)
	}
}

func (h HostKeys) check(hostname string, remote net.Addr, key xssh.PublicKey) error {
	if h.File == "" {
		return errors.New("host key check: no known_hosts file configured")
	}
	strict := h.Policy == HostKeyStrict
	if !strict && h.recorded(hostname, remote, key) {
		return nil
	}
	flag := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if strict {
		flag = os.O_RDONLY
	}
	if !strict {
		if err := os.MkdirAll(filepath.Dir(h.File), 0o700); err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
	}
	f, err := os.OpenFile(h.File, flag, 0o600)
	if err != nil {
		if strict && errors.Is(err, fs.ErrNotExist) {
			return &HostKeyError{Addr: hostname, File: h.File, Unknown: true}
		}
		return fmt.Errorf("known_hosts: %w", err)
	}
	defer f.Close()
	how := syscall.LOCK_EX
	if strict {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		return fmt.Errorf("known_hosts: lock %s: %w", h.File, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway

	cb, err := knownhosts.New(h.File)
	if err != nil {
		return fmt.Errorf("known_hosts %s: %w", h.File, err)
	}
	err = cb(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			return fmt.Errorf("host key for %s is revoked in %s line %d", hostname, re.Revoked.Filename, re.Revoked.Line)
		}
		return fmt.Errorf("host key check %s: %w", hostname, err)
	}
	if len(ke.Want) > 0 {
		return &HostKeyError{Addr: hostname, File: h.File, Line: ke.Want[0].Line}
	}
	if strict {
		return &HostKeyError{Addr: hostname, File: h.File, Unknown: true}
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("known_hosts: record %s: %w", hostname, err)
	}
	return nil
}

// recorded reports whether key is already in the file for hostname, under
// a shared lock: the common case of accept-new, so that concurrent workers
// do not queue behind one exclusive lock just to read. Anything else (new
// host, changed key, no file) goes to the exclusive path, which checks
// again before it appends.
func (h HostKeys) recorded(hostname string, remote net.Addr, key xssh.PublicKey) bool {
	f, err := os.Open(h.File)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) != nil {
		return false
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway
	cb, err := knownhosts.New(h.File)
	return err == nil && cb(hostname, remote, key) == nil
}
