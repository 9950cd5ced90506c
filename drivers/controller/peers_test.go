package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/controller/controllertest"
	"github.com/orbd/orbd/ingest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

// tinyproxy runs a real HTTP CONNECT proxy on loopback that only allows
// CONNECT to connectPort; it returns the proxy URL and its log path.
func tinyproxy(t *testing.T, connectPort int) (*url.URL, string) {
	t.Helper()
	bin := peertest.Require(t, "tinyproxy", "tinyproxy")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // tinyproxy may drop to nobody
		t.Fatal(err)
	}
	port := peertest.FreeTCPPort(t)
	logPath := filepath.Join(dir, "tinyproxy.log")
	conf := fmt.Sprintf("Listen 127.0.0.1\nPort %d\nAllow 127.0.0.1\nConnectPort %d\nLogFile %q\nLogLevel Info\nPidFile %q\nTimeout 30\nMaxClients 8\n",
		port, connectPort, logPath, filepath.Join(dir, "tinyproxy.pid"))
	confPath := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", confPath)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not listen on %s: %v\n%s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &url.URL{Scheme: "http", Host: addr}, logPath
}

// TestMistThroughProxy sends Mist traffic through tinyproxy, configured
// by scope.proxy or by the agent's cloud proxy, and checks the proxy's log
// for the CONNECT. Loopback targets prove the proxy is a fixed choice:
// ProxyFromEnvironment would have bypassed it.
func TestMistThroughProxy(t *testing.T) {
	for _, viaScope := range []bool{true, false} {
		name := "deps.CloudProxy"
		if viaScope {
			name = "scope.proxy"
		}
		t.Run(name, func(t *testing.T) {
			m := startMist(t, controllertest.Options{TLS: true})
			port := m.URL()[strings.LastIndexByte(m.URL(), ':')+1:]
			var mport int
			fmt.Sscan(port, &mport)
			proxy, logPath := tinyproxy(t, mport)
			sc := mistScope(m)
			sc.CAFile = writeCA(t, m)
			deps := drivers.Deps{}
			if viaScope {
				sc.Proxy = policies.Secret(proxy.String())
			} else {
				deps.CloudProxy = proxy
			}
			inv, err := discover(t, newDriver(t, policyFor(sc), deps))
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Devices) != 6 {
				t.Errorf("%d devices through the proxy, want 6", len(inv.Devices))
			}
			logb, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			want := "CONNECT 127.0.0.1:" + port
			if !strings.Contains(string(logb), want) {
				t.Errorf("tinyproxy log has no %q:\n%s", want, logb)
			}
		})
	}
	t.Run("dead proxy is not bypassed", func(t *testing.T) {
		m := startMist(t, controllertest.Options{})
		sc := mistScope(m)
		sc.Proxy = policies.Secret(fmt.Sprintf("http://user:pr0xy-pw@127.0.0.1:%d", peertest.FreeTCPPort(t)))
		_, err := discover(t, newDriver(t, policyFor(sc), drivers.Deps{}))
		if err == nil || !strings.Contains(err.Error(), "proxyconnect") {
			t.Fatalf("err = %v, want a proxyconnect failure", err)
		}
		if strings.Contains(err.Error(), "pr0xy-pw") {
			t.Errorf("error leaks the proxy password: %v", err)
		}
		if n := len(m.Requests()); n != 0 {
			t.Errorf("%d requests reached Mist directly", n)
		}
	})
}

// TestDemo runs each demo through the real config loader and the
// registered driver, then checks stop really stops the server.
func TestDemo(t *testing.T) {
	for _, tc := range []struct {
		name string
		demo func(context.Context) (string, func(), error)
		devs int
	}{
		{"catalyst", controllertest.DemoCatalyst, 7},
		{"mist", controllertest.DemoMist, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, stop, err := tc.demo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			p := testutil.LoadPolicy(t, policies.BackendController, "demo_"+tc.name, body)
			if p.Controller == nil {
				t.Fatalf("policy %s has no controller block", p.Key())
			}
			spec, ok := drivers.Lookup(policies.BackendController)
			if !ok {
				t.Fatal("not registered")
			}
			drv, err := spec.New(p, drivers.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.(drivers.Closer).Close()
			ts, err := drv.Targets(context.Background())
			if err != nil || len(ts) != 1 || !strings.HasPrefix(ts[0].Host, "127.0.0.") {
				t.Fatalf("targets %v, %v", ts, err)
			}
			inv, err := drv.Discover(context.Background(), ts[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Devices) != tc.devs {
				t.Errorf("%d devices, want %d", len(inv.Devices), tc.devs)
			}
			stop()
			if _, err := drv.Discover(context.Background(), ts[0]); err == nil {
				t.Error("discover still works after stop")
			}
		})
	}
}

// TestEntitiesGolden maps each kind's inventory through ingest, the one
// mapping every driver shares, and pins the Diode entities.
func TestEntitiesGolden(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		sc   func(t *testing.T) policies.ControllerScope
	}{
		{"catalyst", func(t *testing.T) policies.ControllerScope {
			return catalystScope(startCatalyst(t, controllertest.Options{}))
		}},
		{"mist", func(t *testing.T) policies.ControllerScope { return mistScope(startMist(t, controllertest.Options{})) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := discover(t, newDriver(t, policyFor(tc.sc(t)), drivers.Deps{}))
			if err != nil {
				t.Fatal(err)
			}
			ents := ingest.Entities(inv, policies.Defaults{}, ingest.MapOptions{Now: now})
			var all []any
			for _, e := range ents {
				b, err := protojson.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := json.Unmarshal(b, &v); err != nil { // normalise protojson's unstable spacing
					t.Fatal(err)
				}
				all = append(all, v)
			}
			testutil.GoldenJSON(t, filepath.Join("testdata", tc.name+".entities.golden.json"), all)
			// Each device, interface and address becomes one entity.
			dv, ifs, ad := inv.Counts()
			kinds := map[string]int{}
			for _, v := range all {
				for k := range v.(map[string]any) {
					if k != "timestamp" {
						kinds[k]++
					}
				}
			}
			if kinds["device"] != dv || kinds["interface"] != ifs || kinds["ipAddress"] != ad {
				t.Errorf("entity kinds %v; want %d devices, %d interfaces, %d ipAddresses", kinds, dv, ifs, ad)
			}
		})
	}
}
