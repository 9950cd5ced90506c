// Package peertest finds the real protocol peers tests run against
// (snmpd, sshd, tinyproxy…). When a peer is missing the test fails if
// ORBD_REQUIRE_PEERS=1 (CI and `make test` set it) and skips otherwise,
// both with the package to install.
package peertest

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of binary, or fails/skips naming the Debian package.
func Require(t testing.TB, binary, debPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(binary); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := dir + "/" + binary
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := binary + " not found: apt-get install " + debPackage
	if os.Getenv("ORBD_REQUIRE_PEERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// RequireRoot fails or skips when the test needs root (useradd, sshd).
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "needs root: " + why
	if os.Getenv("ORBD_REQUIRE_PEERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreeTCPPort returns a currently free loopback TCP port.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeUDPPort returns a currently free loopback UDP port.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
