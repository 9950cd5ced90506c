package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/orbd/orbd/internal/sshserver"
)

// TestAcceptNewConcurrent records the keys of 8 hosts from 32 workers at
// once (4 racing per host, as a pool of workers would on a first run):
// every check succeeds and known_hosts ends with exactly one line per host.
func TestAcceptNewConcurrent(t *testing.T) {
	const hosts, perHost = 8, 4
	file := filepath.Join(t.TempDir(), "state", "known_hosts")
	keys := make([]xssh.PublicKey, hosts)
	for i := range keys {
		s, err := sshserver.NewHostKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = s.PublicKey()
	}
	addr := func(i int) (string, net.Addr) {
		a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2200 + i}
		return a.String(), a
	}
	check := func(policy string, i int, key xssh.PublicKey) error {
		h, a := addr(i)
		return HostKeys{Policy: policy, File: file}.Callback()(h, a, key)
	}
	var wg sync.WaitGroup
	errs := make(chan error, hosts*perHost)
	for w := 0; w < hosts*perHost; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(HostKeyAcceptNew, w%hosts, keys[w%hosts]); err != nil {
				errs <- fmt.Errorf("host %d: %w", w%hosts, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var names []string
	for _, l := range lines {
		names = append(names, strings.Fields(l)[0])
	}
	sort.Strings(names)
	var want []string
	for i := 0; i < hosts; i++ {
		want = append(want, fmt.Sprintf("[127.0.0.1]:%d", 2200+i))
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("known_hosts hosts = %v, want each of %v once", names, want)
	}
	// what was recorded satisfies strict; another key for host 3 fails
	// that host only, naming its line
	for i := 0; i < hosts; i++ {
		if err := check(HostKeyStrict, i, keys[i]); err != nil {
			t.Errorf("strict, host %d: %v", i, err)
		}
	}
	var hk *HostKeyError
	if err := check(HostKeyAcceptNew, 3, keys[4]); !errors.As(err, &hk) || hk.Unknown || lines[hk.Line-1] == "" || !strings.HasPrefix(lines[hk.Line-1], "[127.0.0.1]:2203 ") {
		t.Fatalf("changed key of host 3: %v", err)
	}
	if err := check(HostKeyAcceptNew, 2, keys[2]); err != nil {
		t.Fatalf("host 2 after host 3 changed: %v", err)
	}
}

// BenchmarkHostKeyKnown checks an already recorded key from parallel
// workers against a known_hosts of 5,000 hosts (accept-new's common case).
func BenchmarkHostKeyKnown(b *testing.B) {
	file := filepath.Join(b.TempDir(), "known_hosts")
	k, err := sshserver.NewHostKey()
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := 0; i < 5000; i++ {
		sb.WriteString(knownhostsLine(fmt.Sprintf("[127.0.%d.%d]:22", i/250, i%250+1), k.PublicKey()))
	}
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	cb := HostKeys{Policy: HostKeyAcceptNew, File: file}.Callback()
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 19, 250), Port: 22}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := cb("127.0.19.250:22", remote, k.PublicKey()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func knownhostsLine(host string, k xssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(host)}, k) + "\n"
}
