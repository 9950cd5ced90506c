package netconf_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers/netconf"
	"github.com/orbd/orbd/drivers/ssh"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
	"github.com/orbd/orbd/policies"
)

// Real yuma123 netconfd behind a real OpenSSH sshd.

func TestNetconfd(t *testing.T) {
	o := sshtest.StartOpenSSH(t, true)
	o.StartNetconfd(t)
	conn := ssh.Conn{Host: "127.0.0.1", Port: o.Port, Username: o.User, Password: policies.Secret(o.Password),
		HostKeyCallback: ssh.HostKeys{Policy: ssh.HostKeyInsecure}.Callback()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("capabilities and framing", func(t *testing.T) {
		c, err := netconf.Open(ctx, conn)
		if err != nil {
			t.Fatalf("%v\nsshd log:\n%s", err, o.Log())
		}
		defer c.Close()
		var sys, base11 bool
		for _, cp := range c.Capabilities {
			sys = sys || strings.HasPrefix(cp, "urn:ietf:params:xml:ns:yang:ietf-system?")
			base11 = base11 || cp == "urn:ietf:params:netconf:base:1.1"
		}
		if !sys || !base11 {
			t.Fatalf("capabilities lack ietf-system (%v) or base:1.1 (%v): %v", sys, base11, c.Capabilities)
		}
		if !c.Chunked() {
			t.Fatal("both sides announce base:1.1 but the session is not chunked")
		}
		if got := netconf.PickModel(c.Capabilities); got != netconf.ModelIETF {
			t.Fatalf("model = %q, want ietf", got)
		}
		// a chunked round trip with a reply big enough to matter
		r, err := c.Exec(`<get/>`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Find("system-state") == nil {
			t.Fatalf("get returned no system-state")
		}
	})

	t.Run("hostname", func(t *testing.T) {
		// with --no-startup nothing is configured: no hostname, a clear error
		_, err := netconf.Discover(ctx, netconf.Params{Conn: conn})
		if err == nil || !strings.Contains(err.Error(), "no /system/hostname") {
			t.Fatalf("unconfigured hostname: err = %v", err)
		}
		c, err := netconf.Open(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		// netconfd's target is the candidate datastore: edit, then commit
		_, err = c.Exec(`<edit-config><target><candidate/></target><config><system xmlns="urn:ietf:params:xml:ns:yang:ietf-system"><hostname>nc-lab-01</hostname></system></config></edit-config>`)
		if err == nil {
			_, err = c.Exec(`<commit/>`)
		}
		c.Close()
		if err != nil {
			t.Fatalf("set hostname: %v", err)
		}
		d, err := netconf.Discover(ctx, netconf.Params{Conn: conn, CaptureConfig: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != "nc-lab-01" {
			t.Fatalf("name = %q, want nc-lab-01", d.Name)
		}
		if !strings.Contains(d.Config, "hostname nc-lab-01") {
			t.Fatalf("running config lacks the hostname:\n%s", d.Config)
		}
	})

	t.Run("auth failure", func(t *testing.T) {
		bad := conn
		bad.Password = "wrong-password"
		_, err := netconf.Discover(ctx, netconf.Params{Conn: bad})
		if !errors.Is(err, ssh.ErrAuth) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
	})
}
