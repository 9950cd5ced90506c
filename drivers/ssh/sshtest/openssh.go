package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/orbd/orbd/internal/peertest"
)

// OpenSSH is a real OpenSSH sshd started by a test on a free loopback
// port, with its own host key and a throwaway system user.
type OpenSSH struct {
	Port     int
	User     string
	Password string
	// UserKey is a private key authorized for User (key auth tests).
	UserKey     xssh.Signer
	UserKeyFile string // the same key, OpenSSH PEM, no passphrase
	HostKey     xssh.PublicKey
	Dir         string // world-readable temp dir (sockets, configs)

	t       testing.TB
	sshd    string
	cmd     *exec.Cmd
	netconf bool
}

// StartOpenSSH starts sshd for the test (root only: it adds a user).
// With netconf, sshd also runs the yuma123 netconf-subsystem, which
// forwards to a netconfd started by StartNetconfd.
func StartOpenSSH(t testing.TB, netconf bool) *OpenSSH {
	t.Helper()
	peertest.RequireRoot(t, "sshd and useradd")
	sshd := peertest.Require(t, "sshd", "openssh-server")
	if netconf {
		peertest.Require(t, "netconf-subsystem", "netconfd")
	}
	dir, err := os.MkdirTemp("", "orbd-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// netconf-subsystem runs as the test user and must reach the socket
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	o := &OpenSSH{t: t, sshd: sshd, Dir: dir, netconf: netconf,
		User: "orbdt" + hex.EncodeToString(suffix), Password: "Pw-" + hex.EncodeToString(suffix) + "-x9"}
	run(t, "useradd", "-M", "-d", dir, "-s", "/bin/sh", o.User)
	t.Cleanup(func() {
		// -r would remove the shared dir's files; the dir is removed above
		if out, err := exec.Command("userdel", "-f", o.User).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", o.User, err, out)
		}
	})
	chpasswd := exec.Command("chpasswd")
	chpasswd.Stdin = strings.NewReader(o.User + ":" + o.Password + "\n")
	if out, err := chpasswd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	o.UserKey, o.UserKeyFile = writeKey(t, dir, "user_key")
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), xssh.MarshalAuthorizedKey(o.UserKey.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.UserKeyFile, 0o644); err != nil { // read by the test process only, which is root
		t.Fatal(err)
	}
	o.Port = peertest.FreeTCPPort(t)
	o.start(t)
	t.Cleanup(o.stop)
	return o
}

// RestartWithNewHostKey restarts sshd with a different host key on the
// same port (changed-key tests).
func (o *OpenSSH) RestartWithNewHostKey(t testing.TB) {
	t.Helper()
	o.stop()
	os.Remove(filepath.Join(o.Dir, "host_key"))
	o.start(t)
}

func (o *OpenSSH) start(t testing.TB) {
	t.Helper()
	hk := filepath.Join(o.Dir, "host_key")
	if _, err := os.Stat(hk); err != nil {
		s, _ := writeKey(t, o.Dir, "host_key")
		o.HostKey = s.PublicKey()
	}
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin no
AllowUsers %s
MaxStartups 200
MaxSessions 50
LogLevel VERBOSE
`, o.Port, hk, o.Dir, o.Dir, o.User)
	if o.netconf {
		cfg += fmt.Sprintf("Subsystem netconf \"/usr/sbin/netconf-subsystem --ncxserver-sockname=%d@%s/ncx.sock\"\n", o.Port, o.Dir)
	}
	cf := filepath.Join(o.Dir, "sshd_config")
	if err := os.WriteFile(cf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(o.Dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	o.cmd = exec.Command(o.sshd, "-D", "-e", "-f", cf)
	o.cmd.Stdout, o.cmd.Stderr = log, log
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go o.cmd.Wait() //nolint:errcheck // reaped; stop kills it
	waitPort(t, o.Port, func() string { b, _ := os.ReadFile(log.Name()); return string(b) })
}

func (o *OpenSSH) stop() {
	if o.cmd != nil && o.cmd.Process != nil {
		o.cmd.Process.Kill()
		// the listener must be gone before a restart binds the port
		for i := 0; i < 100; i++ {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", o.Port), 100*time.Millisecond)
			if err != nil {
				break
			}
			c.Close()
			time.Sleep(20 * time.Millisecond)
		}
		o.cmd = nil
	}
}

// Log returns sshd's log so far (for failure messages).
func (o *OpenSSH) Log() string {
	b, _ := os.ReadFile(filepath.Join(o.Dir, "sshd.log"))
	return string(b)
}

// StartNetconfd starts yuma123 netconfd (with ietf-system) behind this
// sshd; --port must equal sshd's port and the socket is private to it.
func (o *OpenSSH) StartNetconfd(t testing.TB) {
	t.Helper()
	bin := peertest.Require(t, "netconfd", "netconfd netconfd-module-ietf-system")
	sock := filepath.Join(o.Dir, "ncx.sock")
	log, err := os.Create(filepath.Join(o.Dir, "netconfd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--superuser="+o.User, "--no-startup", fmt.Sprintf("--port=%d", o.Port),
		"--module=ietf-system", "--ncxserver-sockname="+sock)
	cmd.Dir = o.Dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			os.Chmod(sock, 0o777)
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("netconfd exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("netconfd socket %s did not appear: %s", sock, b)
		}
	}
}

func waitPort(t testing.TB, port int, log func() string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("sshd did not listen on %d: %s", port, log())
}

func writeKey(t testing.TB, dir, name string) (xssh.Signer, string) {
	t.Helper()
	_, pk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := xssh.MarshalPrivateKey(pk, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := xssh.NewSignerFromKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}
