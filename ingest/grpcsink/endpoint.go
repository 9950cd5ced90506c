package grpcsink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/orbd/orbd/policies"
	"golang.org/x/net/http/httpproxy"
)

// IngestMethod is the unprefixed gRPC method.
const IngestMethod = "/diode.v1.IngesterService/Ingest"

// Endpoint is everything derived from a DiodeConfig (plus the DIODE_*
// environment fallbacks) that is needed to reach Diode; doctor uses it too.
type Endpoint struct {
	Target       string // as configured
	Host, Port   string
	TLS          bool
	Prefix       string // "" or "/diode"
	Method       string // Prefix + IngestMethod
	TokenURL     string
	Proxy        *url.URL // nil: direct
	ProxyFromEnv bool     // Proxy came from HTTPS_PROXY/HTTP_PROXY
	TLSConfig    *tls.Config
	SkipVerify   bool
	CAFile       string
	ClientID     string
	ClientSecret policies.Secret
}

// Addr is host:port of the target.
func (e *Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// ProxyString is the proxy URL with any password redacted ("" if direct).
func (e *Endpoint) ProxyString() string {
	if e.Proxy == nil {
		return ""
	}
	return e.Proxy.Redacted()
}

// Dialer returns the connection dialer for this endpoint.
func (e *Endpoint) Dialer() *ProxyDialer {
	return &ProxyDialer{Proxy: e.Proxy, ProxyTLS: e.TLSConfig}
}

// ResolveEndpoint parses the target, builds the TLS configuration and picks
// the proxy. getenv may be nil (os.Getenv).
func ResolveEndpoint(cfg policies.DiodeConfig, getenv func(string) string) (*Endpoint, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if cfg.Target == "" {
		return nil, fmt.Errorf("diode: no target configured (orb.backends.common.diode.target)")
	}
	u, err := url.Parse(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("diode target %q: %w", cfg.Target, err)
	}
	if u.User != nil {
		// The target is logged and shown in status; credentials never go there.
		return nil, fmt.Errorf("diode target %s: must not carry user:password (use client_id/client_secret)", u.Redacted())
	}
	ep := &Endpoint{Target: cfg.Target, Host: u.Hostname(), Port: u.Port()}
	var httpScheme string
	switch strings.ToLower(u.Scheme) {
	case "grpcs", "https":
		ep.TLS, httpScheme = true, "https"
		if ep.Port == "" {
			ep.Port = "443"
		}
	case "grpc", "http":
		httpScheme = "http"
		if ep.Port == "" {
			ep.Port = "80"
		}
	default:
		return nil, fmt.Errorf("diode target %q: scheme must be grpcs, https, grpc or http", cfg.Target)
	}
	if ep.Host == "" {
		return nil, fmt.Errorf("diode target %q: no host", cfg.Target)
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		ep.Prefix = p
	}
	ep.Method = ep.Prefix + IngestMethod
	ep.TokenURL = httpScheme + "://" + ep.Addr() + ep.Prefix + "/auth/token"

	ep.ClientID = cfg.ClientID
	if ep.ClientID == "" {
		ep.ClientID = getenv("DIODE_CLIENT_ID")
	}
	ep.ClientSecret = cfg.ClientSecret
	if !ep.ClientSecret.IsSet() {
		ep.ClientSecret = policies.Secret(getenv("DIODE_CLIENT_SECRET"))
	}
	ep.CAFile = cfg.CAFile
	if ep.CAFile == "" {
		ep.CAFile = getenv("DIODE_CERT_FILE")
	}
	ep.SkipVerify = cfg.SkipTLSVerify || truthy(getenv("DIODE_SKIP_TLS_VERIFY"))

	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if ep.CAFile != "" {
		pem, err := os.ReadFile(ep.CAFile)
		if err != nil {
			return nil, fmt.Errorf("diode ca_file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("diode ca_file %s: no PEM certificates in it", ep.CAFile)
		}
	}
	// Also used for an https:// proxy, so built even for plaintext targets.
	ep.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: ep.Host, InsecureSkipVerify: ep.SkipVerify}

	if cfg.Proxy.IsSet() {
		pu, err := url.Parse(cfg.Proxy.Reveal())
		if err != nil {
			// url errors echo the input, which may hold a password.
			return nil, fmt.Errorf("diode proxy: not a valid URL")
		}
		if pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
			return nil, fmt.Errorf("diode proxy %s: must be http://host:port or https://host:port", pu.Redacted())
		}
		ep.Proxy = pu
	} else {
		env := httpproxy.Config{
			HTTPProxy:  firstEnv(getenv, "HTTP_PROXY", "http_proxy"),
			HTTPSProxy: firstEnv(getenv, "HTTPS_PROXY", "https_proxy"),
			NoProxy:    firstEnv(getenv, "NO_PROXY", "no_proxy"),
		}
		pu, err := env.ProxyFunc()(&url.URL{Scheme: httpScheme, Host: ep.Addr()})
		if err != nil {
			return nil, fmt.Errorf("diode proxy from environment: %w", err)
		}
		if pu != nil {
			// httpproxy also yields socks5:// URLs; we only speak CONNECT.
			if pu.Scheme != "http" && pu.Scheme != "https" {
				return nil, fmt.Errorf("diode proxy %s from HTTPS_PROXY/HTTP_PROXY: orbd needs an http:// or https:// (CONNECT) proxy", pu.Redacted())
			}
			ep.Proxy, ep.ProxyFromEnv = pu, true
		}
	}
	return ep, nil
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
