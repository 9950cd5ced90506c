// Package doctor runs `orbd doctor`: the NetBox Cloud connectivity checks
// for the configured Diode target, in order, each printed as
//
//	PASS  <check>: detail
//	FAIL  <check>: detail
//	      fix: remediation from NetBox Cloud's troubleshooting guidance
//
// (SKIP for checks that cannot run after an earlier failure or do not apply):
// DNS resolution (when a proxy is set the proxy resolves the target, so the
// proxy's name is resolved instead), TCP reachability (directly, or via
// CONNECT through the proxy), TLS version and certificate verification
// (naming the issuer on failure, hinting at ca_file for SSL-inspecting
// proxies), the OAuth2 token request, and a gRPC round trip (reflection
// listing, else an Ingest with zero entities, which a live ingester rejects
// with InvalidArgument: that counts as a successful round trip).
//
//	ok := doctor.Run(ctx, cfg.Diode, os.Stdout, doctor.Options{Logger: log})
//
// It reuses grpcsink's endpoint resolution, CONNECT dialer and token client,
// so it tests exactly the path delivery takes.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest/grpcsink"
	"github.com/orbd/orbd/policies"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// Resolver resolves host names; tests inject one so no real name is looked up.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options are optional dependencies.
type Options struct {
	Logger   *slog.Logger
	Resolver Resolver            // nil: net.DefaultResolver
	Getenv   func(string) string // nil: os.Getenv (DIODE_*, HTTPS_PROXY…)
	Timeout  time.Duration       // per check; default 10s
}

type run struct {
	w    io.Writer
	o    Options
	ep   *grpcsink.Endpoint
	ok   bool
	addr map[string][]string // resolved hosts
}

func (r *run) pass(check, format string, a ...any) {
	fmt.Fprintf(r.w, "PASS  %s: %s\n", check, fmt.Sprintf(format, a...))
}

func (r *run) fail(check, fix, format string, a ...any) {
	r.ok = false
	fmt.Fprintf(r.w, "FAIL  %s: %s\n", check, fmt.Sprintf(format, a...))
	if fix != "" {
		fmt.Fprintf(r.w, "      fix: %s\n", fix)
	}
	if r.o.Logger != nil {
		r.o.Logger.Debug("doctor check failed", "check", check)
	}
}

func (r *run) skip(check, why string) { fmt.Fprintf(r.w, "SKIP  %s: %s\n", check, why) }

// Run prints one line per check and reports whether all passed.
func Run(ctx context.Context, cfg policies.DiodeConfig, w io.Writer, o Options) (ok bool) {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	r := &run{w: w, o: o, ok: true, addr: map[string][]string{}}
	ep, err := grpcsink.ResolveEndpoint(cfg, o.Getenv)
	if err != nil {
		r.fail("config", "fix orb.backends.common.diode in the config file (target: grpcs://<name>.cloud.netboxapp.com/diode)", "%v", err)
		return false
	}
	r.ep = ep
	via := "direct"
	if ep.Proxy != nil {
		via = "via proxy " + ep.ProxyString()
		if ep.ProxyFromEnv {
			via += " (from HTTPS_PROXY/HTTP_PROXY)"
		}
	}
	fmt.Fprintf(w, "orbd doctor: target %s (%s), token %s, %s\n", ep.Target, ep.Addr(), ep.TokenURL, via)

	steps := []struct {
		name string
		fn   func(context.Context) bool
	}{
		{"dns", r.dns}, {"tcp", r.tcp}, {"tls", r.tls}, {"token", r.token}, {"grpc", r.grpc},
	}
	for i, s := range steps {
		cctx, cancel := context.WithTimeout(ctx, o.Timeout)
		good := s.fn(cctx)
		cancel()
		if !good {
			for _, rest := range steps[i+1:] {
				r.skip(rest.name, "not attempted after the "+s.name+" failure")
			}
			break
		}
	}
	return r.ok
}

func (r *run) dns(ctx context.Context) bool {
	host, what := r.ep.Host, "target"
	if r.ep.Proxy != nil {
		host, what = r.ep.Proxy.Hostname(), "proxy"
	}
	if ip := net.ParseIP(host); ip != nil {
		r.addr[host] = []string{host}
		r.dnsPass(what, host, "is an IP address, nothing to resolve")
		return true
	}
	addrs, err := r.o.Resolver.LookupHost(ctx, host)
	if err != nil || len(addrs) == 0 {
		if err == nil {
			err = errors.New("no addresses")
		}
		fix := "check the target host name and this machine's DNS servers (/etc/resolv.conf); a NetBox Cloud target looks like grpcs://<name>.cloud.netboxapp.com/diode"
		if what == "proxy" {
			fix = "check the proxy host name in proxy: (or HTTPS_PROXY) and this machine's DNS servers"
		}
		r.fail("dns", fix, "cannot resolve %s %s: %v", what, host, err)
		return false
	}
	r.addr[host] = addrs
	r.dnsPass(what, host, "resolves to "+strings.Join(addrs, ", "))
	return true
}

func (r *run) dnsPass(what, host, detail string) {
	if what == "proxy" {
		r.pass("dns", "the proxy resolves the target %s; proxy host %s %s", r.ep.Host, host, detail)
		return
	}
	r.pass("dns", "%s %s", host, detail)
}

// dialer resolves names through the injected resolver (already done by the
// dns check) and then dials, directly or through the proxy.
func (r *run) dialer() *grpcsink.ProxyDialer {
	d := r.ep.Dialer()
	d.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, ok := r.addr[host]
		if !ok {
			if ips, err = r.o.Resolver.LookupHost(ctx, host); err != nil {
				return nil, err
			}
		}
		var last error
		for _, ip := range ips {
			nd := net.Dialer{}
			c, err := nd.DialContext(ctx, network, net.JoinHostPort(ip, port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		if last == nil {
			last = fmt.Errorf("no addresses for %s", host)
		}
		return nil, last
	}
	return d
}

func (r *run) tcp(ctx context.Context) bool {
	c, err := r.dialer().DialContext(ctx, "tcp", r.ep.Addr())
	if err != nil {
		if ce, ok := grpcsink.IsConnectError(err); ok {
			fix := fmt.Sprintf("ask the proxy administrators to allow CONNECT to %s (allow-list the NetBox Cloud host and port %s)", r.ep.Addr(), r.ep.Port)
			if ce.StatusCode == 407 || ce.StatusCode == 401 {
				fix = "the proxy wants credentials: put user:password in proxy: (http://user:password@proxy:port) and check them"
			}
			r.fail("tcp", fix, "%v", err)
			return false
		}
		fix := fmt.Sprintf("open outbound TCP %s to %s in the firewall/security group; if outbound traffic must use a proxy, set proxy: in the config (or HTTPS_PROXY)", r.ep.Port, r.ep.Host)
		if r.ep.Proxy != nil {
			fix = "check that the proxy in proxy: (or HTTPS_PROXY) is running and reachable from this machine"
			var cve *tls.CertificateVerificationError
			if errors.As(err, &cve) {
				fix = "the https:// proxy's own certificate is not trusted: put the CA that signed it (PEM) in ca_file (or DIODE_CERT_FILE), or use an http:// proxy URL"
			}
		}
		r.fail("tcp", fix, "%s: %v", r.ep.Addr(), err)
		return false
	}
	local, remote := c.LocalAddr(), c.RemoteAddr()
	c.Close()
	if r.ep.Proxy != nil {
		r.pass("tcp", "proxy %s accepted CONNECT %s (tunnel %s → %s)", grpcsink.ProxyAddr(r.ep.Proxy), r.ep.Addr(), local, remote)
	} else {
		r.pass("tcp", "connected to %s (%s)", r.ep.Addr(), remote)
	}
	return true
}

func (r *run) tls(ctx context.Context) bool {
	if !r.ep.TLS {
		r.skip("tls", "plaintext target ("+r.ep.Target+"); NetBox Cloud needs grpcs:// on 443")
		return true
	}
	raw, err := r.dialer().DialContext(ctx, "tcp", r.ep.Addr())
	if err != nil {
		r.fail("tls", "the connection that passed the tcp check failed on retry: check for an unstable network path, proxy or firewall session limits", "connect %s: %v", r.ep.Addr(), err)
		return false
	}
	defer raw.Close()
	cfg := r.ep.TLSConfig.Clone()
	cfg.NextProtos = []string{"h2"}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		var cve *tls.CertificateVerificationError
		switch {
		case errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0:
			leaf := cve.UnverifiedCertificates[0]
			r.fail("tls", "if an SSL-inspecting proxy sits in the path it re-signs NetBox Cloud's certificate: put its CA certificate (PEM) in ca_file (or DIODE_CERT_FILE)",
				"certificate for %s issued by %q not trusted: %v", certName(leaf), leaf.Issuer.String(), cve.Err)
		case strings.Contains(err.Error(), "protocol version"):
			r.fail("tls", "the server (or a proxy in the path) offers only TLS older than 1.2; orbd requires TLS 1.2 or newer", "%s: %v", r.ep.Addr(), err)
		default:
			r.fail("tls", "check that the target port speaks TLS (grpcs://) and that no middlebox interferes", "%s: %v", r.ep.Addr(), err)
		}
		return false
	}
	st := tc.ConnectionState()
	leaf := st.PeerCertificates[0]
	verified := "verified"
	if r.ep.SkipVerify {
		verified = "NOT verified (skip_tls_verify / DIODE_SKIP_TLS_VERIFY is set)"
	}
	r.pass("tls", "%s, certificate for %s issued by %q %s", tls.VersionName(st.Version), certName(leaf), leaf.Issuer.String(), verified)
	return true
}

func certName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

func (r *run) tokenClient() *grpcsink.TokenClient {
	return grpcsink.NewTokenClient(r.ep, r.dialer(), r.o.Timeout, time.Minute, nil)
}

func (r *run) token(ctx context.Context) bool {
	if r.ep.ClientID == "" || !r.ep.ClientSecret.IsSet() {
		r.fail("token", "set client_id and client_secret (or DIODE_CLIENT_ID/DIODE_CLIENT_SECRET) from NetBox Cloud's Diode client credentials", "no client credentials configured")
		return false
	}
	if _, _, err := r.tokenClient().Token(ctx, true); err != nil {
		var te *grpcsink.TokenError
		fix := "the token endpoint must be reachable through the same path; check the target's path prefix (e.g. /diode)"
		if errors.As(err, &te) && te.Unauthorized() {
			fix = "check the client_id/client_secret in NetBox Cloud (Diode → client credentials): they may be mistyped, revoked or expired; create new ones if needed"
		} else if errors.As(err, &te) && te.StatusCode == 404 {
			fix = "no token endpoint at " + r.ep.TokenURL + ": check the path prefix in target (e.g. grpcs://<name>.cloud.netboxapp.com/diode)"
		}
		r.fail("token", fix, "%v", err)
		return false
	}
	r.pass("token", "%s issued a token for client %s (scope %s)", r.ep.TokenURL, r.ep.ClientID, grpcsink.Scope)
	return true
}

func (r *run) grpc(ctx context.Context) bool {
	tok, _, err := r.tokenClient().Token(ctx, true)
	if err != nil {
		r.fail("grpc", "the token endpoint that answered the token check failed on retry: check that the client credentials are not being revoked and the path is stable", "token: %v", err)
		return false
	}
	conn, err := grpcsink.NewConn(r.ep, r.dialer())
	if err != nil {
		r.fail("grpc", "fix the target in orb.backends.common.diode (grpcs://<name>.cloud.netboxapp.com/diode)", "%v", err)
		return false
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)

	// Reflection first: harmless and shows what is served.
	if services, err := listServices(ctx, rpb.NewServerReflectionClient(conn)); err == nil {
		for _, s := range services {
			if s == "diode.v1.IngesterService" {
				r.pass("grpc", "reflection at %s lists diode.v1.IngesterService", r.ep.Addr()+r.ep.Prefix)
				return true
			}
		}
	}
	// Otherwise an Ingest with zero entities: the ingester must reject it.
	_, err = diodepb.NewIngesterServiceClient(conn).Ingest(ctx, &diodepb.IngestRequest{})
	switch status.Code(err) {
	case codes.InvalidArgument:
		r.pass("grpc", "%s answered an empty Ingest with InvalidArgument, as a live ingester does", r.ep.Method)
		return true
	case codes.OK:
		r.pass("grpc", "%s accepted an empty Ingest", r.ep.Method)
		return true
	case codes.Unimplemented:
		r.fail("grpc", "no Diode ingester at "+r.ep.Method+": check the path prefix in target (NetBox Cloud: /diode)", "%v", err)
	case codes.Unauthenticated, codes.PermissionDenied:
		r.fail("grpc", "the token was refused by the ingester: check that the client credentials belong to this NetBox instance and carry scope diode:ingest", "%v", err)
	default:
		r.fail("grpc", "check firewall/proxy rules for long-lived HTTP/2 (gRPC) connections to "+r.ep.Addr(), "%s: %v", r.ep.Method, err)
	}
	return false
}

func listServices(ctx context.Context, c rpb.ServerReflectionClient) ([]string, error) {
	st, err := c.ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer st.CloseSend()
	if err := st.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		return nil, err
	}
	resp, err := st.Recv()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		out = append(out, s.GetName())
	}
	return out, nil
}
