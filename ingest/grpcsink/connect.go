package grpcsink

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ProxyDialer opens TCP connections either directly or through an HTTP
// CONNECT proxy. It sends the target NAME to the proxy (the proxy resolves
// it), speaks TLS to an https:// proxy, and authenticates with
// Proxy-Authorization: Basic when the proxy URL carries user:password.
// Unlike grpc-go's and net/http's environment handling it applies to every
// address it is given, loopback included: an explicit proxy is obeyed.
//
// The same dialer carries the gRPC connection (grpc.WithContextDialer), the
// token request (http.Transport.DialContext) and `orbd doctor`.
type ProxyDialer struct {
	// Proxy is the proxy URL; nil dials directly.
	Proxy *url.URL
	// ProxyTLS verifies an https:// proxy (ServerName is set per dial).
	ProxyTLS *tls.Config
	// Dial opens the raw TCP connection (to the target or the proxy);
	// nil uses a net.Dialer with a 30s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ConnectError is a proxy answering CONNECT with something other than 200.
type ConnectError struct {
	Proxy      string // host:port, never credentials
	Target     string
	StatusCode int
	Status     string // "407 Proxy Authentication Required"
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("proxy %s refused CONNECT to %s: %s", e.Proxy, e.Target, e.Status)
}

// ProxyAddr is the proxy's host:port with the scheme's default port.
func ProxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func (d *ProxyDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Dial != nil {
		return d.Dial(ctx, network, addr)
	}
	nd := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return nd.DialContext(ctx, network, addr)
}

// DialContext connects to addr (host:port), tunnelling through the proxy if
// one is set.
func (d *ProxyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Proxy == nil {
		return d.dial(ctx, network, addr)
	}
	paddr := ProxyAddr(d.Proxy)
	conn, err := d.dial(ctx, "tcp", paddr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s unreachable: %w", paddr, err)
	}
	conn = quickAck(conn) // see quickack_linux.go: proxies relay with Nagle on
	// Bound the handshake by ctx: a silent proxy must not hang us.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	fail := func(err error) (net.Conn, error) {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return nil, err
	}
	if d.Proxy.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if d.ProxyTLS != nil {
			cfg = d.ProxyTLS.Clone()
		}
		cfg.ServerName = d.Proxy.Hostname()
		cfg.NextProtos = nil // CONNECT is HTTP/1.1
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("proxy %s: TLS handshake: %w", paddr, err))
		}
		conn = tc
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := d.Proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(conn); err != nil {
		return fail(fmt.Errorf("proxy %s: send CONNECT %s: %w", paddr, addr, err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(fmt.Errorf("proxy %s: read answer to CONNECT %s: %w", paddr, addr, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(&ConnectError{Proxy: paddr, Target: addr, StatusCode: resp.StatusCode, Status: resp.Status})
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 { // the target spoke first; keep those bytes
		return &bufConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// IsConnectError reports whether err is a proxy refusing CONNECT.
func IsConnectError(err error) (*ConnectError, bool) {
	var ce *ConnectError
	ok := errors.As(err, &ce)
	return ce, ok
}
