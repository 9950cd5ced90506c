package grpcsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Scope is the OAuth2 scope Diode ingestion needs.
const Scope = "diode:ingest"

// TokenClient fetches and caches the bearer token. The cached token is
// reused until margin before its expiry.
type TokenClient struct {
	ep     *Endpoint
	http   *http.Client
	cc     clientcredentials.Config
	margin time.Duration
	now    func() time.Time

	mu      sync.Mutex
	tok     *oauth2.Token
	fetched time.Time
}

// NewTokenClient builds the client; its HTTP transport dials through the
// endpoint's proxy (CONNECT, loopback included) and verifies TLS like the
// gRPC connection.
func NewTokenClient(ep *Endpoint, dialer *ProxyDialer, timeout, margin time.Duration, now func() time.Time) *TokenClient {
	if now == nil {
		now = time.Now
	}
	tr := &http.Transport{
		Proxy:               nil, // the dialer tunnels; env proxies were decided in ResolveEndpoint
		DialContext:         dialer.DialContext,
		TLSClientConfig:     ep.TLSConfig.Clone(),
		TLSHandshakeTimeout: timeout,
		MaxIdleConns:        2,
		IdleConnTimeout:     90 * time.Second,
	}
	tr.TLSClientConfig.ServerName = ""
	return &TokenClient{
		ep:     ep,
		http:   &http.Client{Transport: tr, Timeout: timeout},
		margin: margin,
		now:    now,
		cc: clientcredentials.Config{
			ClientID:     ep.ClientID,
			ClientSecret: ep.ClientSecret.Reveal(),
			TokenURL:     ep.TokenURL,
			Scopes:       []string{Scope},
			AuthStyle:    oauth2.AuthStyleInParams, // form fields, as Diode expects
		},
	}
}

// Token returns a valid access token, fetching a new one when the cached
// one is missing, close to expiry, or force is set. fetched reports a
// network fetch.
func (c *TokenClient) Token(ctx context.Context, force bool) (tok string, fetched bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !force && c.tok != nil && c.tok.AccessToken != "" &&
		(c.tok.Expiry.IsZero() || c.now().Before(c.tok.Expiry.Add(-c.refreshMargin()))) {
		return c.tok.AccessToken, false, nil
	}
	at := c.now()
	t, err := c.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		c.tok = nil
		return "", true, c.explain(err)
	}
	c.tok, c.fetched = t, at
	return t.AccessToken, true, nil
}

// refreshMargin is the configured margin, or half the token's lifetime
// when the margin is not shorter than the lifetime: a server issuing
// tokens shorter than the margin would otherwise cost a token request per
// Ingest call. c.mu is held.
func (c *TokenClient) refreshMargin() time.Duration {
	if life := c.tok.Expiry.Sub(c.fetched); life > 0 && c.margin >= life {
		return life / 2
	}
	return c.margin
}

// CloseIdle closes kept-alive token connections (and their proxy tunnels).
func (c *TokenClient) CloseIdle() { c.http.CloseIdleConnections() }

// Invalidate drops the cached token.
func (c *TokenClient) Invalidate() {
	c.mu.Lock()
	c.tok = nil
	c.mu.Unlock()
}

// TokenError is a failed token request: the URL, the HTTP status if the
// server answered, never the secret.
type TokenError struct {
	URL        string
	StatusCode int    // 0 when no HTTP answer
	Status     string // "401 Unauthorized"
	Code       string // OAuth2 error code, e.g. invalid_client
	Err        error  // transport error when StatusCode is 0
	secret     string
}

func (e *TokenError) Error() string {
	var msg string
	if e.StatusCode != 0 {
		msg = fmt.Sprintf("token request to %s failed: HTTP %s", e.URL, e.Status)
		if e.Code != "" {
			msg += " (" + e.Code + ")"
		}
		if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden || e.Code == "invalid_client" {
			msg += ": check client_id/client_secret (DIODE_CLIENT_ID/DIODE_CLIENT_SECRET)"
		}
	} else {
		msg = fmt.Sprintf("token request to %s failed: %v", e.URL, e.Err)
	}
	if e.secret != "" { // belt and braces: no server or library message may echo it
		msg = strings.ReplaceAll(msg, e.secret, "<redacted>")
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Err }

// Unauthorized reports whether the server refused the credentials.
func (e *TokenError) Unauthorized() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden || e.Code == "invalid_client"
}

func (c *TokenClient) explain(err error) error {
	te := &TokenError{URL: c.ep.TokenURL, secret: c.ep.ClientSecret.Reveal()}
	var re *oauth2.RetrieveError
	var ue *url.Error
	switch {
	case errors.As(err, &re) && re.Response != nil:
		te.StatusCode, te.Status, te.Code = re.Response.StatusCode, re.Response.Status, re.ErrorCode
	case errors.As(err, &ue):
		te.Err = ue.Err
	default:
		te.Err = err
	}
	return te
}
