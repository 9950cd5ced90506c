package gnmi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	gnmidrv "github.com/orbd/orbd/drivers/gnmi"
	"github.com/orbd/orbd/drivers/gnmi/gnmitest"
	"github.com/orbd/orbd/internal/ingesttest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/internal/testutil"
	"github.com/orbd/orbd/policies"
)

func start(t testing.TB, o gnmitest.Options) *gnmitest.Server {
	t.Helper()
	s, err := gnmitest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// entry is a scope entry for s: plaintext unless edited.
func entry(s *gnmitest.Server, edit func(*policies.GNMITarget)) policies.GNMITarget {
	e := policies.GNMITarget{Host: s.Host, Port: s.Port, TLS: policies.GNMITLS{Insecure: true}}
	if edit != nil {
		edit(&e)
	}
	return e
}

func newDriver(t testing.TB, timeout time.Duration, entries ...policies.GNMITarget) drivers.Driver {
	t.Helper()
	spec, ok := drivers.Lookup(policies.BackendGNMI)
	if !ok {
		t.Fatal("gnmi_discovery not registered")
	}
	p := &policies.Policy{
		Backend: policies.BackendGNMI, Name: "p", TargetTimeout: timeout,
		GNMI: &policies.GNMIPolicy{Scope: policies.GNMIScope{Targets: entries}},
	}
	d, err := spec.New(p, drivers.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// discoverOne expands the single entry and discovers its single target.
func discoverOne(t testing.TB, e policies.GNMITarget, timeout time.Duration) (*drivers.Inventory, drivers.Target, error) {
	t.Helper()
	d := newDriver(t, timeout, e)
	ts, err := d.Targets(context.Background())
	if err != nil || len(ts) != 1 {
		t.Fatalf("targets = %v, %v; want one", ts, err)
	}
	inv, err := d.Discover(context.Background(), ts[0])
	return inv, ts[0], err
}

func TestFlavoursGolden(t *testing.T) {
	containerStyle := gnmitest.Arista()
	containerStyle.Style = gnmitest.Container
	listStyle := gnmitest.Arista()
	listStyle.Style = gnmitest.List
	junosEntries := gnmitest.Junos()
	junosEntries.Style = gnmitest.Entries
	junosInvalidPath := gnmitest.Junos()
	junosInvalidPath.MissingPathError = "invalid-argument"
	cases := []struct {
		name, golden string
		flavour      gnmitest.Flavour
	}{
		{"arista", "arista-eos.json", gnmitest.Arista()},
		// The same tree shaped differently must give the same inventory.
		{"arista as whole lists", "arista-eos.json", listStyle},
		{"arista in parent containers", "arista-eos.json", containerStyle},
		{"junos", "junos.json", gnmitest.Junos()},
		{"junos per entry", "junos.json", junosEntries},
		// No VLAN branch, answered InvalidArgument once JSON is known to
		// work: a missing subtree, not a failed target.
		{"junos missing path as InvalidArgument", "junos.json", junosInvalidPath},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, gnmitest.Options{Flavour: c.flavour})
			inv, _, err := discoverOne(t, entry(s, nil), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			testutil.GoldenJSON(t, filepath.Join("testdata", c.golden), inv)

			// Through the ingest mapping, entity by entity.
			counts, ents := ingesttest.Map(t, inv)
			_, ifs, addrs := inv.Counts()
			ingesttest.CheckCounts(t, counts, map[string]int{
				"device": 1, "interface": ifs, "ip_address": addrs, "vlan": len(inv.Devices[0].VLANs)})
			testutil.Golden(t, filepath.Join("testdata", strings.TrimSuffix(c.golden, ".json")+".entities.json"), ents)
		})
	}
}

func TestEncodingFallback(t *testing.T) {
	refusesIETF := gnmitest.Arista() // advertises JSON_IETF, then refuses it
	refusesIETF.Accepted = []gnmi.Encoding{gnmi.Encoding_JSON}
	unimplIETF := refusesIETF
	unimplIETF.EncodingError = "unimplemented"
	onlyIETF := gnmitest.Arista()
	onlyIETF.Advertised = []gnmi.Encoding{gnmi.Encoding_JSON_IETF}

	all := func(enc string) []string {
		out := []string{"Capabilities"}
		for _, p := range gnmidrv.Paths {
			out = append(out, "Get "+enc+" "+p)
		}
		return out
	}
	fallback := append([]string{"Capabilities", "Get JSON_IETF /system/state"}, all("JSON")[1:]...)
	cases := []struct {
		name    string
		flavour gnmitest.Flavour
		want    []string
		golden  string
	}{
		{"JSON_IETF advertised and served", gnmitest.Arista(), all("JSON_IETF"), "arista-eos.json"},
		{"only JSON advertised", gnmitest.Junos(), all("JSON"), "junos.json"},
		{"JSON_IETF refused with InvalidArgument", refusesIETF, fallback, "arista-eos.json"},
		{"JSON_IETF refused with Unimplemented", unimplIETF, fallback, "arista-eos.json"},
		{"only JSON_IETF advertised", onlyIETF, all("JSON_IETF"), "arista-eos.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, gnmitest.Options{Flavour: c.flavour})
			inv, _, err := discoverOne(t, entry(s, nil), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Requests(); !slices.Equal(got, c.want) {
				t.Fatalf("requests:\n got %q\nwant %q", got, c.want)
			}
			testutil.GoldenJSON(t, filepath.Join("testdata", c.golden), inv)
		})
	}
}

func TestTLS(t *testing.T) {
	tlsSrv := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), TLS: true})
	mtls := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), MutualTLS: true})
	other := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), TLS: true}) // another CA
	cases := []struct {
		name    string
		srv     *gnmitest.Server
		tls     policies.GNMITLS
		wantErr string
	}{
		{"ca verifies server", tlsSrv, policies.GNMITLS{CA: tlsSrv.CAFile}, ""},
		{"skip_verify", tlsSrv, policies.GNMITLS{SkipVerify: true}, ""},
		{"wrong ca", tlsSrv, policies.GNMITLS{CA: other.CAFile}, "certificate signed by unknown authority"},
		{"system roots", tlsSrv, policies.GNMITLS{}, "certificate signed by unknown authority"},
		{"plaintext to a TLS server", tlsSrv, policies.GNMITLS{Insecure: true}, "capabilities: rpc error: code = Unavailable"},
		{"mutual TLS", mtls, policies.GNMITLS{CA: mtls.CAFile, Cert: mtls.ClientCertFile, Key: mtls.ClientKeyFile}, ""},
		{"mutual TLS without a client certificate", mtls, policies.GNMITLS{CA: mtls.CAFile}, "capabilities: rpc error: code = Unavailable"},
		{"client certificate from another CA", mtls, policies.GNMITLS{CA: mtls.CAFile, Cert: other.ClientCertFile, Key: other.ClientKeyFile}, "capabilities: rpc error: code = Unavailable"},
		{"missing ca file", tlsSrv, policies.GNMITLS{CA: "/nonexistent/ca.pem"}, "tls.ca: open /nonexistent/ca.pem"},
		{"cert without key", tlsSrv, policies.GNMITLS{Cert: mtls.ClientCertFile}, "tls.cert and tls.key go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, _, err := discoverOne(t, entry(c.srv, func(e *policies.GNMITarget) { e.TLS = c.tls }), 10*time.Second)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if inv.Devices[0].Name != "leaf1" {
					t.Fatalf("device %q; want leaf1", inv.Devices[0].Name)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v; want it to contain %q", err, c.wantErr)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	s := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), Username: "admin", Password: "s3cret-pw"})
	cases := []struct {
		user, pass, wantErr string
	}{
		{"admin", "s3cret-pw", ""},
		{"admin", "wrong-pw", "capabilities: rpc error: code = Unauthenticated desc = authentication failed"},
		{"", "", "capabilities: rpc error: code = Unauthenticated"},
	}
	for _, c := range cases {
		t.Run(c.user+"/"+c.pass, func(t *testing.T) {
			_, _, err := discoverOne(t, entry(s, func(e *policies.GNMITarget) {
				e.Username, e.Password = c.user, policies.Secret(c.pass)
			}), 10*time.Second)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := c.wantErr
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v; want prefix %q", err, want)
			}
			if c.pass != "" && strings.Contains(err.Error(), c.pass) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// A swept address (CIDR or range) gets the password only over TLS that
// verifies the server: the driver refuses before sending anything.
func TestPasswordToSweptTargetNeedsVerifiedTLS(t *testing.T) {
	plain := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), Username: "admin", Password: "pw"})
	tlsSrv := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), TLS: true, Username: "admin", Password: "pw"})
	cases := []struct {
		name    string
		srv     *gnmitest.Server
		host    string
		tls     policies.GNMITLS
		refused bool
	}{
		{"CIDR, plaintext", plain, "127.0.0.1/32", policies.GNMITLS{Insecure: true}, true},
		{"range, plaintext", plain, "127.0.0.1-1", policies.GNMITLS{Insecure: true}, true},
		{"CIDR, TLS without verification", tlsSrv, "127.0.0.1/32", policies.GNMITLS{SkipVerify: true}, true},
		{"CIDR, verified TLS", tlsSrv, "127.0.0.1/32", policies.GNMITLS{CA: tlsSrv.CAFile}, false},
		{"single address, plaintext", plain, "127.0.0.1", policies.GNMITLS{Insecure: true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(c.srv.Requests())
			_, _, err := discoverOne(t, entry(c.srv, func(e *policies.GNMITarget) {
				e.Host, e.TLS, e.Username, e.Password = c.host, c.tls, "admin", "pw"
			}), 10*time.Second)
			if !c.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := fmt.Sprintf("refusing to send the password to an address swept from %q without TLS that verifies the server", c.host)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v; want prefix %q", err, want)
			}
			if n := len(c.srv.Requests()) - before; n != 0 {
				t.Fatalf("the target received %d RPCs; want none", n)
			}
		})
	}
}

func TestUnimplementedGet(t *testing.T) {
	s := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), UnimplementedGet: true})
	_, _, err := discoverOne(t, entry(s, nil), 10*time.Second)
	want := "get /system/state: rpc error: code = Unimplemented desc = method Get not implemented (encodings tried: json_ietf, json)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestHangingTargetTimesOut(t *testing.T) {
	s := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), Hang: true})
	_, _, err := discoverOne(t, entry(s, nil), 300*time.Millisecond)
	want := "timed out after 300ms: capabilities: rpc error: code = DeadlineExceeded"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v\nwant prefix %s", err, want)
	}
}

func TestTargets(t *testing.T) {
	d := newDriver(t, 0,
		policies.GNMITarget{Host: "127.0.0.1"},
		policies.GNMITarget{Host: "127.0.0.8/30", Port: 50051},
		policies.GNMITarget{Host: "127.0.0.20-22"},
		policies.GNMITarget{Host: "gnmi.example.com", NetboxID: 7},
	)
	ts, err := d.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range ts {
		got = append(got, fmt.Sprintf("%s entry=%d swept=%v id=%d", tg, tg.Entry, tg.Swept, tg.NetboxID))
	}
	want := []string{
		"127.0.0.1:9339 entry=0 swept=false id=0",
		"127.0.0.9:50051 entry=1 swept=true id=0",
		"127.0.0.10:50051 entry=1 swept=true id=0",
		"127.0.0.20:9339 entry=2 swept=true id=0",
		"127.0.0.21:9339 entry=2 swept=true id=0",
		"127.0.0.22:9339 entry=2 swept=true id=0",
		"gnmi.example.com:9339 entry=3 swept=false id=7",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("targets:\n got %q\nwant %q", got, want)
	}

	bad := newDriver(t, 0, policies.GNMITarget{Host: "10.0.0.0/8"})
	if _, err := bad.Targets(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "scope.targets[0].host: CIDR") {
		t.Fatalf("err = %v; want a bounded-CIDR error", err)
	}
}

func TestProbe(t *testing.T) {
	s := start(t, gnmitest.Options{Flavour: gnmitest.Arista(), Username: "admin", Password: "pw"})
	d := newDriver(t, 0, entry(s, nil)).(drivers.Prober)
	if err := d.Probe(context.Background(), drivers.Target{Host: s.Host, Port: s.Port, Swept: true}); err != nil {
		t.Fatalf("probe of a listening target: %v", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("probe sent %d RPCs; want a bare TCP connect", n)
	}
	closed := peertest.FreeTCPPort(t)
	err := d.Probe(context.Background(), drivers.Target{Host: "127.0.0.1", Port: closed, Swept: true})
	if !errors.Is(err, drivers.ErrNoAnswer) {
		t.Fatalf("probe of a closed port: %v; want ErrNoAnswer", err)
	}
}

func TestDemo(t *testing.T) {
	body, stop, err := gnmitest.Demo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	p := testutil.LoadPolicy(t, policies.BackendGNMI, "demo_gnmi", body)
	spec, _ := drivers.Lookup(policies.BackendGNMI)
	d, err := spec.New(p, drivers.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := d.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		if !strings.HasPrefix(tg.Host, "127.") {
			t.Fatalf("demo target %s is not on loopback", tg)
		}
		inv, err := d.Discover(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, inv.Devices[0].Name)
	}
	if !slices.Equal(names, []string{"leaf1", "mx1"}) {
		t.Fatalf("demo devices %q; want leaf1, mx1", names)
	}
}

// TestRequestMetrics reads orbd_gnmi_requests_total from the registry the
// driver was given: every RPC is counted under its gRPC status code, and
// no policy label is added (the agent's scoped registerer does that).
func TestRequestMetrics(t *testing.T) {
	refusesIETF := gnmitest.Arista()
	refusesIETF.Accepted = []gnmi.Encoding{gnmi.Encoding_JSON}
	n := len(gnmidrv.Paths)
	cases := []struct {
		name    string
		opts    gnmitest.Options
		timeout time.Duration
		want    map[string]float64
	}{
		{"served", gnmitest.Options{Flavour: gnmitest.Arista()}, 10 * time.Second,
			map[string]float64{"Capabilities/OK": 1, "Get/OK": float64(n)}},
		{"JSON_IETF refused", gnmitest.Options{Flavour: refusesIETF}, 10 * time.Second,
			map[string]float64{"Capabilities/OK": 1, "Get/InvalidArgument": 1, "Get/OK": float64(n)}},
		{"Get unimplemented", gnmitest.Options{Flavour: gnmitest.Arista(), UnimplementedGet: true}, 10 * time.Second,
			map[string]float64{"Capabilities/OK": 1, "Get/Unimplemented": 2}},
		{"hanging target", gnmitest.Options{Flavour: gnmitest.Arista(), Hang: true}, 300 * time.Millisecond,
			map[string]float64{"Capabilities/DeadlineExceeded": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, c.opts)
			reg := prometheus.NewRegistry()
			spec, _ := drivers.Lookup(policies.BackendGNMI)
			d, err := spec.New(&policies.Policy{
				Backend: policies.BackendGNMI, Name: "p", TargetTimeout: c.timeout,
				GNMI: &policies.GNMIPolicy{Scope: policies.GNMIScope{Targets: []policies.GNMITarget{entry(s, nil)}}},
			}, drivers.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: reg})
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := d.Targets(context.Background())
			_, _ = d.Discover(context.Background(), ts[0]) // outcome checked elsewhere
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, mf := range mfs {
				if mf.GetName() != "orbd_gnmi_requests_total" {
					t.Fatalf("unexpected metric %s", mf.GetName())
				}
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					if len(labels) != 2 {
						t.Fatalf("labels %v; want rpc and code only", labels)
					}
					got[labels["rpc"]+"/"+labels["code"]] = m.GetCounter().GetValue()
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("orbd_gnmi_requests_total = %v; want %v", got, c.want)
			}
		})
	}
}
