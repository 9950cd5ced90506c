package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// maxAttempts bounds the tries of one request answered 429/503.
	maxAttempts = 5
	// maxBody bounds one response body; a controller page of 500 devices
	// is a few MB, so this only stops a runaway or hostile server.
	maxBody = 64 << 20
	// maxBackoff caps the wait when a 429/503 carries no Retry-After.
	maxBackoff = 30 * time.Second
)

// statusError is a non-2xx answer that the caller may want to interpret
// (401 means credentials, 404 an endpoint this controller version lacks).
type statusError struct {
	Code    int
	Request string // "GET /path?query"
	Snippet string
}

func (e *statusError) Error() string {
	if e.Snippet == "" {
		return fmt.Sprintf("%s: unexpected status %d %s", e.Request, e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("%s: unexpected status %d %s: %s", e.Request, e.Code, http.StatusText(e.Code), e.Snippet)
}

func statusCode(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// client is the HTTP side shared by both kinds: base URL, retries,
// bounded bodies and JSON decoding with errors naming the request.
type client struct {
	kind string
	base *url.URL
	hc   *http.Client
	log  *slog.Logger
	m    *metrics
	now  func() time.Time
}

// response is a fully read answer.
type response struct {
	Body   []byte
	Header http.Header
}

// do sends one request, retrying 429 and 503 after Retry-After. hdr adds
// headers (credentials) to every attempt; secrets never reach the error.
func (c *client) do(ctx context.Context, method, path string, q url.Values, hdr func(h http.Header)) (*response, error) {
	reqName := method + " " + path
	if len(q) > 0 {
		reqName += "?" + q.Encode()
	}
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + path
	u.RawQuery = q.Encode()
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", reqName, err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "orbd-controller-discovery")
		if hdr != nil {
			hdr(req.Header)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("%s: %w", reqName, ctxErr)
			}
			return nil, fmt.Errorf("%s: %w", reqName, unwrapURLError(err))
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		c.m.requests.WithLabelValues(c.kind, strconv.Itoa(resp.StatusCode)).Inc()
		if rerr != nil {
			return nil, fmt.Errorf("%s: read response: %w", reqName, rerr)
		}
		if len(body) > maxBody {
			return nil, fmt.Errorf("%s: response larger than %d bytes", reqName, maxBody)
		}
		code := resp.StatusCode
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			if attempt >= maxAttempts {
				return nil, fmt.Errorf("%s: still %d %s after %d attempts", reqName, code, http.StatusText(code), attempt)
			}
			wait := retryAfter(resp.Header.Get("Retry-After"), c.now(), attempt)
			if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
				return nil, fmt.Errorf("%s: %d %s asks to retry in %s, after the run deadline", reqName, code, http.StatusText(code), wait.Round(time.Millisecond))
			}
			c.m.retries.WithLabelValues(c.kind, strconv.Itoa(code)).Inc()
			c.log.LogAttrs(ctx, slog.LevelInfo, "controller asked to retry later",
				slog.String("request", reqName), slog.Int("status", code),
				slog.Duration("wait", wait), slog.Int("attempt", attempt))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%s: waiting to retry after %d: %w", reqName, code, ctx.Err())
			case <-t.C:
			}
			continue
		}
		if code < 200 || code > 299 {
			return nil, &statusError{Code: code, Request: reqName, Snippet: snippet(body)}
		}
		return &response{Body: body, Header: resp.Header}, nil
	}
}

// getJSON does a GET and decodes the body into v.
func (c *client) getJSON(ctx context.Context, path string, q url.Values, hdr func(http.Header), v any) (*response, error) {
	resp, err := c.do(ctx, http.MethodGet, path, q, hdr)
	if err != nil {
		return nil, err
	}
	if err := decode(resp.Body, v); err != nil {
		name := "GET " + path
		if len(q) > 0 {
			name += "?" + q.Encode()
		}
		return nil, fmt.Errorf("%s: decode response: %w", name, err)
	}
	return resp, nil
}

func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("empty body")
	}
	return json.Unmarshal(body, v)
}

// retryAfter reads Retry-After as delay-seconds or an HTTP date; without
// it the wait doubles from 1s per attempt, capped.
func retryAfter(v string, now time.Time, attempt int) time.Duration {
	v = strings.TrimSpace(v)
	if v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	d := time.Second << (attempt - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d
}

// snippet keeps the start of an error body, on one line, for the message.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// unwrapURLError drops url.Error's "Get \"https://…\":" prefix: the
// request is already named, and the URL would repeat the query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tlsConfig adds ca_file to the system roots, or skips verification when
// insecure is set.
func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		cfg.InsecureSkipVerify = true //nolint:gosec // operator asked for it in scope.insecure
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// newTransport builds the transport of one policy. proxy nil means direct.
func newTransport(tc *tls.Config, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   15 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
