// Package proxytest starts real HTTP CONNECT proxies (tinyproxy, squid) on
// loopback for tests, each with its own config, log and pid files in a temp
// dir, and stops them in t.Cleanup. A missing binary skips the test, or fails
// it under ORBD_REQUIRE_PEERS=1 (internal/peertest).
package proxytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orbd/orbd/internal/peertest"
)

// Proxy is a running proxy.
type Proxy struct {
	Name string
	Addr string // 127.0.0.1:PORT
	// CAPEM is the self-signed certificate of an https:// proxy (SquidHTTPS).
	CAPEM  []byte
	scheme string
	logs   []string
	out    *syncBuf
}

// URL is http[s]://[user:pass@]Addr.
func (p *Proxy) URL(userinfo string) string {
	scheme := p.scheme
	if scheme == "" {
		scheme = "http"
	}
	if userinfo != "" {
		return scheme + "://" + userinfo + "@" + p.Addr
	}
	return scheme + "://" + p.Addr
}

// Log returns everything the proxy logged so far.
func (p *Proxy) Log() string {
	var b strings.Builder
	b.WriteString(p.out.String())
	for _, f := range p.logs {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// WaitLog waits (bounded) until the log contains s; squid writes its access
// log only when a tunnel closes.
func (p *Proxy) WaitLog(t testing.TB, s string) string {
	t.Helper()
	return p.WaitLogCount(t, s, 1)
}

// WaitLogCount waits (bounded) until s occurs n times in the log.
func (p *Proxy) WaitLogCount(t testing.TB, s string, n int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := p.Log()
		if strings.Count(l, s) >= n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s log never showed %q:\n%s", p.Name, s, l)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TinyOptions configure tinyproxy.
type TinyOptions struct {
	ConnectPorts []int  // ports CONNECT may reach; tinyproxy allows all if empty
	BasicAuth    string // "user pass" → BasicAuth line
}

// Tinyproxy starts tinyproxy on a free loopback port.
func Tinyproxy(t testing.TB, o TinyOptions) *Proxy {
	t.Helper()
	bin := peertest.Require(t, "tinyproxy", "tinyproxy")
	dir := t.TempDir()
	port := peertest.FreeTCPPort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, "Port %d\nListen 127.0.0.1\nTimeout 60\nLogLevel Info\nPidFile %q\nMaxClients 50\nAllow 127.0.0.1\n", port, filepath.Join(dir, "tinyproxy.pid"))
	for _, p := range o.ConnectPorts {
		fmt.Fprintf(&conf, "ConnectPort %d\n", p)
	}
	if o.BasicAuth != "" {
		fmt.Fprintf(&conf, "BasicAuth %s\n", o.BasicAuth)
	}
	if os.Geteuid() == 0 {
		conf.WriteString("User nobody\nGroup nogroup\n")
	}
	cfg := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// In the foreground (-d) tinyproxy logs to stderr.
	return start(t, "tinyproxy", port, exec.Command(bin, "-d", "-c", cfg), nil)
}

// Squid starts squid on a free loopback port, allowing CONNECT from
// 127.0.0.1 to the given ports only.
func Squid(t testing.TB, connectPorts ...int) *Proxy {
	t.Helper()
	return squid(t, false, connectPorts)
}

// SquidHTTPS is Squid listening with TLS (an https:// proxy URL), with a
// self-signed certificate for 127.0.0.1 in Proxy.CAPEM.
func SquidHTTPS(t testing.TB, connectPorts ...int) *Proxy {
	t.Helper()
	return squid(t, true, connectPorts)
}

func squid(t testing.TB, withTLS bool, connectPorts []int) *Proxy {
	t.Helper()
	bin := peertest.Require(t, "squid", "squid")
	// Not t.TempDir(): its parent is 0700 root, which squid's unprivileged
	// user cannot traverse.
	dir, err := os.MkdirTemp("", "orbd-squid-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := peertest.FreeTCPPort(t)
	var ports []string
	for _, p := range connectPorts {
		ports = append(ports, strconv.Itoa(p))
	}
	access := filepath.Join(dir, "access.log")
	cache := filepath.Join(dir, "cache.log")
	listen := fmt.Sprintf("http_port 127.0.0.1:%d", port)
	var caPEM []byte
	if withTLS {
		certPEM, keyPEM, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, keyPEM, 0o644); err != nil { // read by squid's unprivileged user; test-only key
			t.Fatal(err)
		}
		listen = fmt.Sprintf("https_port 127.0.0.1:%d tls-cert=%s tls-key=%s", port, cert, key)
		caPEM = certPEM
	}
	conf := fmt.Sprintf(`%s
pid_filename %s
cache_log %s
access_log stdio:%s
cache deny all
cache_mem 8 MB
coredump_dir %s
netdb_filename none
pinger_enable off
dns_nameservers 127.0.0.1
hosts_file /etc/hosts
shutdown_lifetime 0 seconds
acl SSL_ports port %s
acl CONNECT method CONNECT
acl localclient src 127.0.0.1/32
http_access allow CONNECT localclient SSL_ports
http_access deny all
`, listen, filepath.Join(dir, "squid.pid"), cache, access, dir, strings.Join(ports, " "))
	if os.Geteuid() == 0 {
		// squid refuses to keep running as root; its files must be writable
		// by the unprivileged user.
		u, err := user.Lookup("proxy")
		if err != nil {
			u, err = user.Lookup("nobody")
		}
		if err != nil {
			t.Fatalf("squid as root needs a 'proxy' or 'nobody' user: %v", err)
		}
		conf += "cache_effective_user " + u.Username + "\n"
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{access, cache} {
			os.WriteFile(f, nil, 0o644)
			os.Chown(f, uid, gid)
		}
	}
	cfg := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "squid", port, exec.Command(bin, "-N", "-f", cfg), []string{access, cache})
	if withTLS {
		p.scheme, p.CAPEM = "https", caPEM
	}
	return p
}

func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "proxytest squid"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

func start(t testing.TB, name string, port int, cmd *exec.Cmd, logs []string) *Proxy {
	t.Helper()
	p := &Proxy{Name: name, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), logs: logs, out: &syncBuf{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its own process group only
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("%s exited at start:\n%s", name, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s:\n%s", name, p.Addr, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
