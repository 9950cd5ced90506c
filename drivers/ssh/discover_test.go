package ssh_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers/ssh"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
)

func startDevice(t *testing.T, dev sshtest.Device) *sshtest.Server {
	t.Helper()
	s, err := sshtest.Start("127.0.0.1:0", dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func params(t *testing.T, s *sshtest.Server, platform string) ssh.Params {
	return ssh.Params{
		Conn: ssh.Conn{Host: "127.0.0.1", Port: s.Port(), Username: "admin", Password: "pw",
			HostKeyCallback: ssh.HostKeys{File: filepath.Join(t.TempDir(), "known_hosts")}.Callback()},
		Platform: platform, Secret: "en",
	}
}

func TestDiscoverSmoke(t *testing.T) {
	for _, pl := range []string{"iosxe", "eos"} {
		t.Run(pl, func(t *testing.T) {
			s := startDevice(t, sshtest.Device{Platform: pl, Password: "pw", EnableSecret: "en"})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p := params(t, s, pl)
			p.CaptureConfig = true
			d, err := ssh.Discover(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			// show running-config is refused at ">": a config means enable worked
			want := sshtest.Profiles[pl].Hostname
			if d.Name != want || len(d.Interfaces) == 0 || !strings.Contains(d.Config, "hostname "+want) {
				t.Fatalf("got %q with %d interfaces and config %q; want %q with its running config", d.Name, len(d.Interfaces), d.Config, want)
			}
		})
	}
}

// TestDetectAll logs in to every emulated platform without naming it.
func TestDetectAll(t *testing.T) {
	for pl, want := range map[string]string{"iosxe": "sw-core-01", "nxos": "nx-leaf-01", "eos": "eos-leaf-02", "iosxr": "pe1", "junos": "mx-edge-01"} {
		t.Run(pl, func(t *testing.T) {
			s := startDevice(t, sshtest.Device{Platform: pl, Password: "pw", Banner: "*** lab device ***\nUnauthorized access prohibited"})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got, err := ssh.Detect(ctx, params(t, s, "").Conn)
			if err != nil || got != pl {
				t.Fatalf("Detect = %q, %v; want %q", got, err, pl)
			}
			d, err := ssh.Discover(ctx, params(t, s, ""))
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != want || len(d.Interfaces) == 0 {
				t.Fatalf("name %q with %d interfaces, want %q", d.Name, len(d.Interfaces), want)
			}
		})
	}
}

// TestPaging checks the emulator itself: output pauses at --More-- until
// paging is turned off, like a real terminal session.
func TestPaging(t *testing.T) {
	s := startDevice(t, sshtest.Device{Platform: "iosxe", Password: "pw"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ssh.Dial(ctx, params(t, s, "").Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	// a stuck emulator fails the test instead of hanging it
	guard := time.AfterFunc(10*time.Second, func() { c.Close() })
	defer guard.Stop()
	// readUntil returns the output up to and including marker; what came
	// after it in the same read is kept for the next call, so a prompt
	// that trails one command's output is not taken for the next one's
	var pending []byte
	readUntil := func(marker string) string {
		b := pending
		buf := make([]byte, 4096)
		for !strings.Contains(string(b), marker) {
			n, err := out.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %q: %v; got %q", marker, err, b)
			}
			b = append(b, buf[:n]...)
		}
		end := strings.Index(string(b), marker) + len(marker)
		pending = append([]byte(nil), b[end:]...)
		return string(b[:end])
	}
	readUntil("sw-core-01>")
	in.Write([]byte("show interfaces\n"))
	first := readUntil("--More--")
	if strings.Contains(first, "Loopback0") {
		t.Fatal("whole output before --More--")
	}
	in.Write([]byte("q"))
	readUntil("sw-core-01>")
	in.Write([]byte("terminal length 0\n"))
	readUntil("sw-core-01>")
	in.Write([]byte("show interfaces\n"))
	all := readUntil("Loopback0")
	if strings.Contains(all, "--More--") {
		t.Fatal("paging still on after terminal length 0")
	}
	readUntil("sw-core-01>")
	in.Write([]byte("show bogus\n"))
	if got := readUntil("sw-core-01>"); !strings.Contains(got, "% Invalid input detected at '^' marker.") {
		t.Fatalf("unknown command: %q", got)
	}
}
