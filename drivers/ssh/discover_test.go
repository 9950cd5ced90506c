package ssh_test

import (
	"context"
	"path/filepath"
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
			t.Logf("%+v", d)
		})
	}
}
