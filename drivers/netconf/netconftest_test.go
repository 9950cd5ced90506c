package netconf_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers/netconf"
	"github.com/orbd/orbd/drivers/netconf/netconftest"
	"github.com/orbd/orbd/drivers/ssh"
	"github.com/orbd/orbd/policies"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func start(t *testing.T, dev netconftest.Device) *netconftest.Server {
	t.Helper()
	s, err := netconftest.Start("127.0.0.1:0", dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func conn(s *netconftest.Server, pw string) ssh.Conn {
	return ssh.Conn{Host: "127.0.0.1", Port: s.Port(), Username: "admin", Password: policies.Secret(pw),
		HostKeyCallback: ssh.HostKeys{Policy: ssh.HostKeyInsecure}.Callback()}
}

// TestModels discovers the Junos, OpenConfig and IETF profiles in both framings
// and compares with golden files (the same for either framing).
func TestModels(t *testing.T) {
	for _, tc := range []struct {
		profile, model string
		rpcs           []string
	}{
		{"junos-mx", netconf.ModelJunos, []string{"get-software-information", "get-interface-information", "get-chassis-inventory", "get-system-uptime-information", "get-configuration"}},
		{"openconfig-spine", netconf.ModelOpenConfig, []string{"get__system", "get__interfaces", "get__components", "get-config"}},
		{"ietf-router", netconf.ModelIETF, []string{"get__system", "get__interfaces", "get__hardware", "get-config"}},
	} {
		for _, base11 := range []bool{false, true} {
			t.Run(tc.profile+map[bool]string{false: "/base1.0", true: "/base1.1"}[base11], func(t *testing.T) {
				s := start(t, netconftest.Device{Profile: tc.profile, Password: "pw", Base11: base11, ChunkSize: 700})
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := netconf.Open(ctx, conn(s, "pw"))
				if err != nil {
					t.Fatal(err)
				}
				if c.Chunked() != base11 {
					t.Fatalf("chunked = %v, want %v", c.Chunked(), base11)
				}
				if m := netconf.PickModel(c.Capabilities); m != tc.model {
					t.Fatalf("model %q, want %q", m, tc.model)
				}
				c.Close()
				d, err := netconf.Discover(ctx, netconf.Params{Conn: conn(s, "pw"), CaptureConfig: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tc.rpcs {
					if s.RPCCount(r) != 1 {
						t.Errorf("rpc %s answered %d times, want 1", r, s.RPCCount(r))
					}
				}
				if strings.Contains(d.Config, "$6$") {
					t.Errorf("config keeps a password hash:\n%s", d.Config)
				}
				d.MgmtAddress = d.MgmtAddress.Unmap()
				got, _ := json.MarshalIndent(d, "", "  ")
				got = append(got, '\n')
				path := filepath.Join("testdata", "golden", tc.profile+".json")
				if *update {
					os.MkdirAll(filepath.Dir(path), 0o755)
					os.WriteFile(path, got, 0o644)
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if string(got) != string(want) {
					t.Errorf("differs from %s:\n%s", path, got)
				}
			})
		}
	}
}

func TestNetconftestFailures(t *testing.T) {
	// an rpc-error is ErrRPC (optional RPCs such as the Junos uptime are
	// skipped on it) and names the server's tag and message
	plain := start(t, netconftest.Device{Profile: "junos-mx", Password: "pw"})
	ctx0, cancel0 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel0()
	c, err := netconf.Open(ctx0, conn(plain, "pw"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec("<get-bogus-information/>")
	c.Close()
	if !errors.Is(err, netconf.ErrRPC) || !strings.Contains(err.Error(), "operation-not-supported") || !strings.Contains(err.Error(), "get-bogus-information") {
		t.Fatalf("unknown rpc: err = %v, want ErrRPC naming the rpc", err)
	}
	s := start(t, netconftest.Device{Profile: "junos-mx", Password: "pw", Base11: true, Delay: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = netconf.Discover(ctx, netconf.Params{Conn: conn(s, "pw")})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("slow server: err = %v, want deadline exceeded", err)
	}
	_, err = netconf.Discover(context.Background(), netconf.Params{Conn: conn(s, "nope")})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong password: err = %v", err)
	}
}
