package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/ingest/diodetest/proxytest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/policies"
)

// fakeResolver answers only localhost; every other name "does not exist",
// so no test ever reaches a real DNS server.
type fakeResolver struct{ asked []string }

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	f.asked = append(f.asked, host)
	if host == "localhost" {
		return []string{"127.0.0.1"}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func receiver(t *testing.T, opts ...diodetest.Option) (*diodetest.Server, string) {
	t.Helper()
	srv, err := diodetest.New(append([]diodetest.Option{diodetest.WithPrefix("/diode")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ca := ""
	if pem := srv.CAPEM(); pem != nil {
		ca = filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(ca, pem, 0o600)
	}
	return srv, ca
}

func cfgFor(target, ca string) policies.DiodeConfig {
	return policies.DiodeConfig{Target: target, CAFile: ca, ClientID: diodetest.DefaultClientID, ClientSecret: diodetest.DefaultClientSecret}
}

func noEnv(string) string { return "" }

// statuses reduces the output to "PASS dns,PASS tcp,…".
func statuses(out string) string {
	var s []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "PASS" || f[0] == "FAIL" || f[0] == "SKIP") {
			s = append(s, f[0]+" "+strings.TrimSuffix(f[1], ":"))
		}
	}
	return strings.Join(s, ",")
}

const allPass = "PASS dns,PASS tcp,PASS tls,PASS token,PASS grpc"

func TestDoctor(t *testing.T) {
	srv, ca := receiver(t)
	plain, _ := receiver(t, diodetest.WithPlaintext(), diodetest.WithoutReflection())
	_, otherCA := receiver(t)
	old, oldCA := receiver(t, diodetest.WithMaxTLSVersion(tls.VersionTLS11))
	closed := peertest.FreeTCPPort(t)
	srvPort, _ := strconv.Atoi(srv.Port())
	refusing := proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{443}})
	authProxy := proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{srvPort}, BasicAuth: "orbd right-pw"})

	for _, tc := range []struct {
		name   string
		cfg    policies.DiodeConfig
		ok     bool
		status string
		want   []string
		never  []string
	}{
		{name: "direct TLS", cfg: cfgFor(srv.URLFor("localhost"), ca), ok: true, status: allPass,
			want: []string{"localhost resolves to 127.0.0.1", "issued by \"CN=diodetest CA,O=orbd test\" verified", "TLS 1.", "reflection at localhost:" + srv.Port() + "/diode lists diode.v1.IngesterService"}},
		{name: "plaintext, no reflection: empty Ingest round trip", cfg: cfgFor(plain.URLFor("localhost"), ""), ok: true,
			status: "PASS dns,PASS tcp,SKIP tls,PASS token,PASS grpc", want: []string{"answered an empty Ingest with InvalidArgument"}},
		{name: "name does not resolve", cfg: cfgFor("grpcs://diode.invalid:"+srv.Port()+"/diode", ca),
			status: "FAIL dns,SKIP tcp,SKIP tls,SKIP token,SKIP grpc", want: []string{"cannot resolve target diode.invalid", "fix: check the target host name"}},
		{name: "closed port", cfg: cfgFor("grpcs://localhost:"+strconv.Itoa(closed)+"/diode", ca),
			status: "PASS dns,FAIL tcp,SKIP tls", want: []string{"connection refused", "open outbound TCP " + strconv.Itoa(closed)}},
		{name: "bad CA", cfg: cfgFor(srv.URLFor("localhost"), otherCA),
			status: "PASS dns,PASS tcp,FAIL tls", want: []string{"issued by \"CN=diodetest CA,O=orbd test\" not trusted", "x509: certificate signed by unknown authority", "ca_file"}},
		{name: "TLS 1.1 only", cfg: cfgFor(old.URLFor("localhost"), oldCA),
			status: "PASS dns,PASS tcp,FAIL tls", want: []string{"protocol version", "TLS 1.2 or newer"}},
		{name: "bad secret", cfg: func() policies.DiodeConfig {
			c := cfgFor(srv.URLFor("localhost"), ca)
			c.ClientSecret = "sup3r-s3cret"
			return c
		}(), status: "PASS dns,PASS tcp,PASS tls,FAIL token", want: []string{"https://localhost:" + srv.Port() + "/diode/auth/token", "401 Unauthorized", "revoked or expired"}, never: []string{"sup3r-s3cret"}},
		{name: "wrong prefix", cfg: cfgFor("grpcs://localhost:"+srv.Port()+"/nope", ca),
			status: "PASS dns,PASS tcp,PASS tls,FAIL token", want: []string{"404 Not Found", "path prefix"}},
		{name: "proxy wants credentials", cfg: func() policies.DiodeConfig {
			c := cfgFor(srv.URLFor("localhost"), ca)
			c.Proxy = policies.Secret(authProxy.URL("orbd:wrong-pw"))
			return c
		}(), status: "PASS dns,FAIL tcp", want: []string{
			fmt.Sprintf("proxy %s refused CONNECT to localhost:%d: 401", authProxy.Addr /* tinyproxy answers 401, not 407 */, srvPort), "the proxy wants credentials"}, never: []string{"wrong-pw"}},
		{name: "proxy refuses the port", cfg: func() policies.DiodeConfig {
			c := cfgFor(srv.URLFor("localhost"), ca)
			c.Proxy = policies.Secret(refusing.URL(""))
			return c
		}(), status: "PASS dns,FAIL tcp", want: []string{
			fmt.Sprintf("proxy %s refused CONNECT to localhost:%d: 403", refusing.Addr, srvPort), "allow CONNECT to localhost:" + srv.Port()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			ok := Run(context.Background(), tc.cfg, &out, Options{Resolver: &fakeResolver{}, Getenv: noEnv})
			s := out.String()
			t.Log("\n" + s)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v:\n%s", ok, tc.ok, s)
			}
			if got := statuses(s); !strings.HasPrefix(got, tc.status) {
				t.Fatalf("checks %q, want prefix %q:\n%s", got, tc.status, s)
			}
			lines := strings.Split(s, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "FAIL") && (i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "      fix: ")) {
					t.Fatalf("FAIL without remediation:\n%s", s)
				}
			}
			if !tc.ok && !strings.Contains(s, "FAIL") {
				t.Fatalf("not ok but no FAIL line:\n%s", s)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Fatalf("output lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(s, w) {
					t.Fatalf("output contains %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestDoctorThroughProxies(t *testing.T) {
	srv, ca := receiver(t)
	p, _ := strconv.Atoi(srv.Port())
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) *proxytest.Proxy
	}{
		{"tinyproxy", func(t *testing.T) *proxytest.Proxy {
			return proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{p}})
		}},
		{"squid", func(t *testing.T) *proxytest.Proxy { return proxytest.Squid(t, p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := tc.start(t)
			cfg := cfgFor(srv.URLFor("localhost"), ca)
			cfg.Proxy = policies.Secret(px.URL(""))
			res := &fakeResolver{}
			var out bytes.Buffer
			if !Run(context.Background(), cfg, &out, Options{Resolver: res, Getenv: noEnv}) {
				t.Fatalf("doctor failed through %s:\n%s", tc.name, out.String())
			}
			s := out.String()
			if statuses(s) != allPass {
				t.Fatalf("checks %s", statuses(s))
			}
			for _, w := range []string{"the proxy resolves the target localhost; proxy host 127.0.0.1 is an IP address",
				"proxy " + px.Addr + " accepted CONNECT localhost:" + srv.Port()} {
				if !strings.Contains(s, w) {
					t.Fatalf("output lacks %q:\n%s", w, s)
				}
			}
			if len(res.asked) != 0 {
				t.Fatalf("doctor resolved %v locally although the proxy resolves names", res.asked)
			}
			px.WaitLog(t, "CONNECT localhost:"+srv.Port())
		})
	}
}

// An https:// proxy: TLS to the proxy itself must verify with ca_file.
func TestDoctorThroughHTTPSProxy(t *testing.T) {
	srv, ca := receiver(t)
	p, _ := strconv.Atoi(srv.Port())
	px := proxytest.SquidHTTPS(t, p)
	receiverCA, _ := os.ReadFile(ca)
	both := filepath.Join(t.TempDir(), "both.pem")
	if err := os.WriteFile(both, append(receiverCA, px.CAPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ca, status string
		ok               bool
		want             []string
	}{
		{"proxy CA in ca_file", both, allPass, true, []string{"proxy " + px.Addr + " accepted CONNECT localhost:" + srv.Port()}},
		{"proxy CA missing", ca, "PASS dns,FAIL tcp,SKIP tls", false, []string{"TLS handshake", "x509", "fix: the https:// proxy's own certificate is not trusted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfgFor(srv.URLFor("localhost"), tc.ca)
			cfg.Proxy = policies.Secret(px.URL(""))
			var out bytes.Buffer
			ok := Run(context.Background(), cfg, &out, Options{Resolver: &fakeResolver{}, Getenv: noEnv})
			s := out.String()
			if ok != tc.ok || !strings.HasPrefix(statuses(s), tc.status) {
				t.Fatalf("ok %v, checks %s:\n%s", ok, statuses(s), s)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Fatalf("output lacks %q:\n%s", w, s)
				}
			}
		})
	}
}
