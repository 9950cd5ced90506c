package ssh_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers/ssh"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
	"github.com/orbd/orbd/policies"
)

// Real OpenSSH: authentication and the host key policies.

func dialRun(t *testing.T, c ssh.Conn) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl, err := ssh.Dial(ctx, c)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output("id -un")
	return strings.TrimSpace(string(out)), err
}

func TestOpenSSHAuth(t *testing.T) {
	o := sshtest.StartOpenSSH(t, false)
	insecure := ssh.HostKeys{Policy: ssh.HostKeyInsecure}.Callback()
	base := ssh.Conn{Host: "127.0.0.1", Port: o.Port, Username: o.User, HostKeyCallback: insecure}
	pw := base
	pw.Password = policies.Secret(o.Password)
	key := base
	key.KeyFile = o.UserKeyFile
	wrong := base
	wrong.Password = "not-the-password"
	for _, tc := range []struct {
		name    string
		c       ssh.Conn
		wantErr error
	}{
		{"password", pw, nil},
		{"key", key, nil},
		{"wrong password", wrong, ssh.ErrAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who, err := dialRun(t, tc.c)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "not-the-password") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nsshd log:\n%s", err, o.Log())
			}
			if who != o.User {
				t.Fatalf("logged in as %q, want %q", who, o.User)
			}
		})
	}
}

func TestOpenSSHHostKeyPolicies(t *testing.T) {
	o := sshtest.StartOpenSSH(t, false)
	kh := filepath.Join(t.TempDir(), "state", "known_hosts")
	conn := func(policy string) ssh.Conn {
		return ssh.Conn{Host: "127.0.0.1", Port: o.Port, Username: o.User, Password: policies.Secret(o.Password),
			HostKeyCallback: ssh.HostKeys{Policy: policy, File: kh}.Callback()}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.Port)

	// strict with nothing recorded: refused, and nothing written
	_, err := dialRun(t, conn(ssh.HostKeyStrict))
	var hk *ssh.HostKeyError
	if !errors.As(err, &hk) || !hk.Unknown {
		t.Fatalf("strict, unknown key: err = %v, want unknown HostKeyError", err)
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatalf("strict created %s", kh)
	}
	// accept-new records it
	if _, err := dialRun(t, conn(ssh.HostKeyAcceptNew)); err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	b, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", o.Port); !strings.HasPrefix(string(b), want) || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("known_hosts = %q, want one line starting %q", b, want)
	}
	// the recorded key satisfies strict, and accept-new does not append twice
	if _, err := dialRun(t, conn(ssh.HostKeyStrict)); err != nil {
		t.Fatalf("strict, recorded key: %v", err)
	}
	if _, err := dialRun(t, conn(ssh.HostKeyAcceptNew)); err != nil {
		t.Fatalf("accept-new again: %v", err)
	}
	if b2, _ := os.ReadFile(kh); string(b2) != string(b) {
		t.Fatalf("known_hosts changed on a known key: %q", b2)
	}
	// a changed key fails under both policies with the line number
	o.RestartWithNewHostKey(t)
	want := fmt.Sprintf("host key for %s changed (%s line 1); remove that line if the change is expected", addr, kh)
	for _, pol := range []string{ssh.HostKeyAcceptNew, ssh.HostKeyStrict} {
		_, err = dialRun(t, conn(pol))
		if err == nil || err.Error() != want {
			t.Fatalf("%s, changed key: err = %v, want %q", pol, err, want)
		}
	}
	// insecure still connects
	if _, err := dialRun(t, conn(ssh.HostKeyInsecure)); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}
