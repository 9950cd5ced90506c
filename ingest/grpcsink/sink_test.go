package grpcsink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/ingest/spool"
	"github.com/orbd/orbd/policies"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// Endpoint resolution only: the proxy addresses (RFC 5737) are parsed, never dialled.
func TestResolveEndpoint(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name, target, proxy string
		env                 map[string]string
		addr, method, token string
		tls                 bool
		wantProxy, wantErr  string
	}{
		{name: "grpcs default port", target: "grpcs://acme.cloud.netboxapp.com/diode", addr: "acme.cloud.netboxapp.com:443", tls: true,
			method: "/diode/diode.v1.IngesterService/Ingest", token: "https://acme.cloud.netboxapp.com:443/diode/auth/token"},
		{name: "https alias", target: "https://h:8443", addr: "h:8443", tls: true, method: IngestMethod, token: "https://h:8443/auth/token"},
		{name: "grpc plaintext 80", target: "grpc://h/", addr: "h:80", method: IngestMethod, token: "http://h:80/auth/token"},
		{name: "http alias", target: "http://h:8080/a/b", addr: "h:8080", method: "/a/b" + IngestMethod, token: "http://h:8080/a/b/auth/token"},
		{name: "bad scheme", target: "tcp://h", wantErr: "scheme"},
		{name: "no host", target: "grpcs:///diode", wantErr: "no host"},
		{name: "credentials in target", target: "grpcs://u:secretpw@h/diode", wantErr: "must not carry user:password"},
		{name: "explicit proxy beats env", target: "grpcs://h", proxy: "http://u:pw@198.51.100.1:3128",
			env: map[string]string{"HTTPS_PROXY": "http://other:1"}, addr: "h:443", tls: true, method: IngestMethod, token: "https://h:443/auth/token", wantProxy: "http://u:xxxxx@198.51.100.1:3128"},
		{name: "env proxy for https", target: "grpcs://diode.example.com", env: map[string]string{"HTTPS_PROXY": "http://198.51.100.1:3128"},
			addr: "diode.example.com:443", tls: true, method: IngestMethod, token: "https://diode.example.com:443/auth/token", wantProxy: "http://198.51.100.1:3128"},
		{name: "env NO_PROXY", target: "grpcs://diode.example.com", env: map[string]string{"HTTPS_PROXY": "http://198.51.100.1:3128", "NO_PROXY": ".example.com"},
			addr: "diode.example.com:443", tls: true, method: IngestMethod, token: "https://diode.example.com:443/auth/token"},
		{name: "env HTTP_PROXY for plaintext", target: "grpc://diode.example.com", env: map[string]string{"HTTPS_PROXY": "http://198.51.100.1:1", "http_proxy": "http://198.51.100.2:2"},
			addr: "diode.example.com:80", method: IngestMethod, token: "http://diode.example.com:80/auth/token", wantProxy: "http://198.51.100.2:2"},
		{name: "env proxy skips loopback (usual meaning)", target: "grpcs://localhost:9", env: map[string]string{"HTTPS_PROXY": "http://198.51.100.1:3128"},
			addr: "localhost:9", tls: true, method: IngestMethod, token: "https://localhost:9/auth/token"},
		{name: "proxy bad scheme", target: "grpcs://h", proxy: "socks5://u:secretpw@h:1", wantErr: "must be http"},
		{name: "env proxy bad scheme", target: "grpcs://diode.example.com", env: map[string]string{"HTTPS_PROXY": "socks5://u:secretpw@198.51.100.1:1080"}, wantErr: "CONNECT) proxy"},
		{name: "env proxy without scheme means http", target: "grpcs://diode.example.com", env: map[string]string{"https_proxy": "198.51.100.1:3128"},
			addr: "diode.example.com:443", tls: true, method: IngestMethod, token: "https://diode.example.com:443/auth/token", wantProxy: "http://198.51.100.1:3128"},
		{name: "env NO_PROXY=* disables", target: "grpcs://diode.example.com", env: map[string]string{"HTTPS_PROXY": "http://198.51.100.1:3128", "no_proxy": "*"},
			addr: "diode.example.com:443", tls: true, method: IngestMethod, token: "https://diode.example.com:443/auth/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := ResolveEndpoint(policies.DiodeConfig{Target: tc.target, Proxy: policies.Secret(tc.proxy)}, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secretpw") {
					t.Fatalf("error leaks the proxy password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Addr() != tc.addr || ep.Method != tc.method || ep.TokenURL != tc.token || ep.TLS != tc.tls || ep.ProxyString() != tc.wantProxy {
				t.Fatalf("got addr %s method %s token %s tls %v proxy %q", ep.Addr(), ep.Method, ep.TokenURL, ep.TLS, ep.ProxyString())
			}
			if ep.TLSConfig.MinVersion != tls.VersionTLS12 {
				t.Fatal("TLS minimum below 1.2")
			}
		})
	}
}

func TestEnvCredentialFallbacks(t *testing.T) {
	ep, err := ResolveEndpoint(policies.DiodeConfig{Target: "grpcs://h"}, func(k string) string {
		return map[string]string{"DIODE_CLIENT_ID": "id", "DIODE_CLIENT_SECRET": "s3", "DIODE_SKIP_TLS_VERIFY": "true"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if ep.ClientID != "id" || ep.ClientSecret.Reveal() != "s3" || !ep.SkipVerify || !ep.TLSConfig.InsecureSkipVerify {
		t.Fatalf("env fallbacks not applied: %+v", ep)
	}
}

func TestDeliverDirect(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []diodetest.Option
	}{
		{"tls", nil},
		{"plaintext", []diodetest.Option{diodetest.WithPlaintext()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ca := receiver(t, tc.opts...)
			h := newSink(t, config(t, srv.URL(), ca))
			want := requests(0, 10, 5)
			sendAll(t, h.sink, want)
			waitFor(t, "drain", h.drained)
			sameRequests(t, srv.Requests(), want)
			if len(srv.ValidationErrors()) != 0 {
				t.Fatalf("receiver found invalid requests: %v", srv.ValidationErrors())
			}
			ents := 0
			for _, r := range want {
				ents += len(r.Entities)
			}
			if got := h.counter(t, "orbd_diode_entities_sent_total"); got != float64(ents) {
				t.Fatalf("entities_sent = %v, want %d", got, ents)
			}
			if got := h.counter(t, "orbd_diode_requests_total", "result", "ok"); got != 10 {
				t.Fatalf("requests ok = %v", got)
			}
			if h.counter(t, "orbd_diode_last_success_timestamp_seconds") == 0 {
				t.Fatal("last success not set")
			}
			if srv.TokenRequests() != 1 || h.counter(t, "orbd_diode_token_refreshes_total") != 1 {
				t.Fatalf("token fetched %d times, want 1 (cached)", srv.TokenRequests())
			}
			st := h.sink.Status()
			if !st.Connected || st.EntitiesSent != int64(ents) || st.LastSuccess == nil || st.SpoolRequests != 0 {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// Nothing the server would refuse on every retry may enter the spool:
// Validate (id, 1..1000 entities, …) and the 3 MiB size limit.
func TestInvalidRequestRefusedAtSend(t *testing.T) {
	srv, ca := receiver(t)
	h := newSink(t, config(t, srv.URL(), ca))
	big := strings.Repeat("x", 10000) // 334 devices × 10 kB > 3 MiB
	for _, tc := range []struct {
		name string
		req  func() *diodepb.IngestRequest
		want string
	}{
		{"bad id", func() *diodepb.IngestRequest { r := diodetest.SampleRequest(1, 1); r.Id = "not-a-uuid"; return r }, "Validate"},
		{"no entities", func() *diodepb.IngestRequest { r := diodetest.SampleRequest(1, 1); r.Entities = nil; return r }, "Validate"},
		{"1001 entities", func() *diodepb.IngestRequest { return diodetest.SampleRequest(1, 1001) }, "Validate"},
		{"over 3 MiB", func() *diodepb.IngestRequest {
			r := diodetest.SampleRequest(1, 1000)
			for _, e := range r.Entities {
				if d := e.GetDevice(); d != nil {
					d.Comments = &big
				}
			}
			return r
		}, "over the 3145728-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			if tc.want != "Validate" {
				if err := req.Validate(); err != nil {
					t.Fatalf("control: request should pass Validate: %v", err)
				}
			}
			err := h.sink.Send(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send = %v, want an error with %q", err, tc.want)
			}
			if recs, _, _ := h.sink.spool.Depth(); recs != 0 {
				t.Fatal("refused request was spooled")
			}
		})
	}
	// Control: the largest request that fits is accepted.
	sendAll(t, h.sink, []*diodepb.IngestRequest{diodetest.SampleRequest(2, 1000)})
	waitFor(t, "delivery", h.drained)
}

// skip_tls_verify / DIODE_SKIP_TLS_VERIFY warns at every start (each New),
// before any delivery.
func TestSkipVerifyWarnsAtEveryStart(t *testing.T) {
	srv, _ := receiver(t)
	for _, tc := range []struct {
		name string
		cfg  bool
		env  string
		want bool
	}{{"config", true, "", true}, {"env", false, "true", true}, {"env 1", false, "1", true}, {"off", false, "", false}, {"env false", false, "false", false}} {
		t.Run(tc.name, func(t *testing.T) {
			for start := 1; start <= 2; start++ {
				cfg := config(t, srv.URL(), "")
				cfg.SkipTLSVerify = tc.cfg
				h := newSink(t, cfg, func(o *Options) {
					o.Getenv = func(k string) string {
						if k == "DIODE_SKIP_TLS_VERIFY" {
							return tc.env
						}
						return ""
					}
				})
				if got := strings.Contains(h.logs.String(), "verification is DISABLED"); got != tc.want {
					t.Fatalf("start %d: warning logged = %v, want %v:\n%s", start, got, tc.want, h.logs.String())
				}
				closeSink(t, h)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv, ca := receiver(t)
	other, otherCA := receiver(t) // a CA that did not sign srv's certificate
	_ = other
	old, _ := receiver(t, diodetest.WithMaxTLSVersion(tls.VersionTLS11))

	t.Run("ca_file verifies", func(t *testing.T) {
		h := newSink(t, config(t, srv.URLFor("localhost"), ca))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "delivery", h.drained)
	})
	t.Run("wrong CA fails clearly", func(t *testing.T) {
		before, tokBefore := len(srv.Requests()), srv.TokenRequests()
		h := newSink(t, config(t, srv.URL(), otherCA))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "an error", func() bool { return h.sink.Status().LastError != "" })
		msg := h.sink.Status().LastError
		for _, want := range []string{"certificate signed by unknown authority", "ca_file"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error %q lacks %q", msg, want)
			}
		}
		if len(srv.Requests()) != before || srv.TokenRequests() != tokBefore {
			t.Fatal("data or credentials reached an unverified server")
		}
	})
	t.Run("no CA at all fails", func(t *testing.T) {
		h := newSink(t, config(t, srv.URL(), ""))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "an error", func() bool { return strings.Contains(h.sink.Status().LastError, "x509") })
	})
	t.Run("skip verify warns and delivers", func(t *testing.T) {
		cfg := config(t, srv.URL(), "")
		cfg.SkipTLSVerify = true
		h := newSink(t, cfg)
		n := len(srv.Requests())
		sendAll(t, h.sink, requests(50, 1, 1))
		waitFor(t, "delivery", h.drained)
		if len(srv.Requests()) != n+1 {
			t.Fatal("not delivered")
		}
		if !strings.Contains(h.logs.String(), "verification is DISABLED") {
			t.Fatal("no warning for skipped verification")
		}
	})
	t.Run("TLS 1.1 server refused", func(t *testing.T) {
		// Control: the old server does speak TLS 1.1 to a client that allows it.
		c, err := tls.Dial("tcp", old.Addr(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err != nil {
			t.Fatalf("control handshake at TLS 1.1: %v", err)
		}
		c.Close()
		_, oldCA := "", filepath.Join(t.TempDir(), "old.pem")
		os.WriteFile(oldCA, old.CAPEM(), 0o600)
		h := newSink(t, config(t, old.URL(), oldCA))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "an error", func() bool { return h.sink.Status().LastError != "" })
		if msg := h.sink.Status().LastError; !strings.Contains(msg, "protocol version") || !strings.Contains(msg, "TLS 1.2") {
			t.Fatalf("error %q does not say the TLS version is refused", msg)
		}
		if len(old.Requests()) != 0 {
			t.Fatal("delivered over TLS 1.1")
		}
	})
}

func TestBadSecret(t *testing.T) {
	srv, ca := receiver(t)
	cfg := config(t, srv.URL(), ca)
	cfg.ClientSecret = "hunter2-very-secret"
	h := newSink(t, cfg)
	sendAll(t, h.sink, requests(0, 1, 1))
	waitFor(t, "an error", func() bool { return h.sink.Status().LastError != "" })
	msg := h.sink.Status().LastError
	for _, want := range []string{h.sink.Endpoint().TokenURL, "401 Unauthorized", "client_secret"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
	st, _ := json.Marshal(h.sink.Status())
	if strings.Contains(msg, "hunter2") || strings.Contains(h.logs.String(), "hunter2") || strings.Contains(string(st), "hunter2") {
		t.Fatal("the secret leaked into an error, a log line or the status")
	}
	if recs, _, _ := h.sink.spool.Depth(); recs != 1 {
		t.Fatal("request left the spool without delivery")
	}
}

func TestReauth(t *testing.T) {
	t.Run("Unauthenticated once", func(t *testing.T) {
		srv, ca := receiver(t)
		h := newSink(t, config(t, srv.URL(), ca))
		srv.UnauthenticatedOnce()
		want := requests(0, 3, 2)
		sendAll(t, h.sink, want)
		waitFor(t, "drain", h.drained)
		sameRequests(t, srv.Requests(), want)
		if srv.TokenRequests() != 2 || h.counter(t, "orbd_diode_token_refreshes_total") != 2 {
			t.Fatalf("tokens fetched %d, want 2 (initial + one re-auth)", srv.TokenRequests())
		}
		if got := h.counter(t, "orbd_diode_requests_total", "result", "unauthenticated"); got != 1 {
			t.Fatalf("unauthenticated answers counted %v", got)
		}
		if h.counter(t, "orbd_diode_retries_total") != 0 {
			t.Fatal("re-auth went through backoff")
		}
	})
	t.Run("token expired server-side", func(t *testing.T) {
		srv, ca := receiver(t)
		h := newSink(t, config(t, srv.URL(), ca))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "drain", h.drained)
		srv.ExpireTokens()
		sendAll(t, h.sink, requests(1, 2, 1))
		waitFor(t, "drain", h.drained)
		if srv.TokenRequests() != 2 || srv.Unauthenticated() != 1 || len(srv.Requests()) != 3 {
			t.Fatalf("tokens %d, unauthenticated %d, requests %d", srv.TokenRequests(), srv.Unauthenticated(), len(srv.Requests()))
		}
	})
	t.Run("refused again after re-auth: backoff with fresh tokens", func(t *testing.T) {
		srv, ca := receiver(t)
		h := newSink(t, config(t, srv.URL(), ca))
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "drain", h.drained)
		for i := 0; i < 3; i++ { // three refusals in a row
			srv.UnauthenticatedOnce()
		}
		sendAll(t, h.sink, requests(1, 1, 1))
		waitFor(t, "drain", h.drained)
		// 1 initial + a new token after each refusal.
		if srv.Unauthenticated() != 3 || srv.TokenRequests() != 1+3 {
			t.Fatalf("tokens %d after %d refusals: a refused token was reused", srv.TokenRequests(), srv.Unauthenticated())
		}
		if h.counter(t, "orbd_diode_retries_total") < 1 {
			t.Fatal("second refusal did not go through backoff")
		}
	})
	t.Run("token shorter than the margin is reused for half its life", func(t *testing.T) {
		srv, ca := receiver(t, diodetest.WithTokenTTL(40*time.Second))
		var skew atomic.Int64
		h := newSink(t, config(t, srv.URL(), ca), func(o *Options) {
			o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		})
		for i := 0; i < 3; i++ {
			sendAll(t, h.sink, requests(i, 1, 1))
			waitFor(t, "drain", h.drained)
		}
		if srv.TokenRequests() != 1 {
			t.Fatalf("a 40s token was fetched %d times for 3 calls within seconds (1-minute margin)", srv.TokenRequests())
		}
		skew.Store(int64(21 * time.Second))
		sendAll(t, h.sink, requests(3, 1, 1))
		waitFor(t, "drain", h.drained)
		if srv.TokenRequests() != 2 || srv.Unauthenticated() != 0 {
			t.Fatalf("tokens %d, unauthenticated %d: want a refresh after half the lifetime", srv.TokenRequests(), srv.Unauthenticated())
		}
	})
	t.Run("expired token refreshed before expiry", func(t *testing.T) {
		// TTL 90s with the 1-minute margin: a token is reused until 30s
		// of its life passed; a fake clock moves past that.
		srv, ca := receiver(t, diodetest.WithTokenTTL(90*time.Second))
		var skew atomic.Int64 // fake clock offset, read by the sender goroutine
		h := newSink(t, config(t, srv.URL(), ca), func(o *Options) {
			o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		})
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "drain", h.drained)
		sendAll(t, h.sink, requests(1, 1, 1))
		waitFor(t, "drain", h.drained)
		if srv.TokenRequests() != 1 {
			t.Fatalf("token refetched too early: %d", srv.TokenRequests())
		}
		skew.Store(int64(31 * time.Second))
		sendAll(t, h.sink, requests(2, 1, 1))
		waitFor(t, "drain", h.drained)
		if srv.TokenRequests() != 2 || srv.Unauthenticated() != 0 {
			t.Fatalf("tokens %d, unauthenticated answers %d: want a proactive refresh", srv.TokenRequests(), srv.Unauthenticated())
		}
	})
}

func TestRetries(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.Internal} {
		t.Run(code.String(), func(t *testing.T) {
			srv, ca := receiver(t)
			h := newSink(t, config(t, srv.URL(), ca))
			srv.FailNext(code, 3)
			want := requests(0, 2, 2)
			sendAll(t, h.sink, want)
			waitFor(t, "drain", h.drained)
			sameRequests(t, srv.Requests(), want)
			if got := h.counter(t, "orbd_diode_retries_total"); got != 3 {
				t.Fatalf("retries = %v, want 3", got)
			}
			if h.counter(t, "orbd_diode_resent_after_lost_ack_total") != 0 {
				t.Fatal("answered failures counted as lost acks")
			}
		})
	}
	t.Run("DeadlineExceeded", func(t *testing.T) {
		srv, ca := receiver(t)
		h := newSink(t, config(t, srv.URL(), ca), func(o *Options) { o.CallTimeout = 300 * time.Millisecond })
		// Token first, so the slow answer hits the Ingest call.
		sendAll(t, h.sink, requests(0, 1, 1))
		waitFor(t, "drain", h.drained)
		srv.SetDelay(time.Second)
		sendAll(t, h.sink, requests(1, 1, 1))
		waitFor(t, "a retry", func() bool { return h.counter(t, "orbd_diode_retries_total") >= 1 })
		srv.SetDelay(0)
		waitFor(t, "drain", h.drained)
		if !strings.Contains(h.logs.String(), "DeadlineExceeded") {
			t.Fatal("deadline not logged")
		}
	})
	t.Run("rejected entities counted, not resent", func(t *testing.T) {
		srv, ca := receiver(t)
		h := newSink(t, config(t, srv.URL(), ca))
		srv.RejectEntitiesNext("device r0-sw0: site not found", "interface x: bad type")
		sendAll(t, h.sink, requests(0, 2, 2))
		waitFor(t, "drain", h.drained)
		if got := h.counter(t, "orbd_diode_rejected_entities_total"); got != 2 {
			t.Fatalf("rejected = %v", got)
		}
		if len(srv.Requests()) != 2 {
			t.Fatalf("resent a partially rejected request: %d requests", len(srv.Requests()))
		}
		logs := h.logs.String()
		for _, w := range []string{"request_id=" + srv.Requests()[0].GetId(), `first_error="device r0-sw0: site not found"`, "rejected=2"} {
			if !strings.Contains(logs, w) {
				t.Fatalf("log lacks %q:\n%s", w, logs)
			}
		}
	})
}

// A request the server calls bad is not retried (it would fail forever and
// block the spool behind it): logged with its id and the server's reason,
// counted, removed; the next request still goes.
func TestRejectedRequestDroppedAndCounted(t *testing.T) {
	for _, code := range []codes.Code{codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition} {
		t.Run(code.String(), func(t *testing.T) {
			srv, ca := receiver(t)
			h := newSink(t, config(t, srv.URL(), ca))
			srv.FailNext(code, 1)
			reqs := requests(0, 2, 4) // 4 and 5 entities
			sendAll(t, h.sink, reqs)
			waitFor(t, "drain", h.drained)
			sameRequests(t, srv.Requests(), reqs[1:])
			tries := 0
			for _, a := range srv.Attempts() {
				if a.ID == reqs[0].GetId() {
					tries++
				}
			}
			if tries != 1 {
				t.Fatalf("rejected request attempted %d times, want 1", tries)
			}
			if got := h.counter(t, "orbd_diode_requests_total", "result", "rejected"); got != 1 {
				t.Fatalf("requests_total{rejected} = %v", got)
			}
			if got := h.counter(t, "orbd_diode_rejected_entities_total"); got != 4 {
				t.Fatalf("rejected entities = %v, want 4", got)
			}
			if st := h.sink.Status(); st.RequestsRejected != 1 || st.RejectedEntities != 4 || !strings.Contains(st.LastError, "injected "+code.String()) {
				t.Fatalf("status %+v", st)
			}
			logs := h.logs.String()
			for _, w := range []string{"level=ERROR", "REJECTED", "request_id=" + reqs[0].GetId(), "injected " + code.String()} {
				if !strings.Contains(logs, w) {
					t.Fatalf("log lacks %q:\n%s", w, logs)
				}
			}
		})
	}
}

func TestJitter(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{{1, 50 * time.Millisecond, 100 * time.Millisecond}, {2, 100 * time.Millisecond, 200 * time.Millisecond},
		{5, 800 * time.Millisecond, 1600 * time.Millisecond}, {6, time.Second, max}, {40, time.Second, max}, {1000, time.Second, max}} {
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := jitter(base, max, tc.n)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("jitter(n=%d) = %v, want in [%v, %v]", tc.n, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("jitter(n=%d) barely varies: %d distinct values in 200", tc.n, len(seen))
		}
	}
}

func TestOutageExactlyOnceInOrder(t *testing.T) {
	srv, ca := receiver(t)
	h := newSink(t, config(t, srv.URL(), ca))
	want := requests(0, 30, 4)
	sendAll(t, h.sink, want[:5])
	waitFor(t, "first deliveries", h.drained)

	srv.Down()
	sendAll(t, h.sink, want[5:])
	waitFor(t, "retries during the outage", func() bool { return h.counter(t, "orbd_diode_retries_total") >= 3 })
	if st := h.sink.Status(); st.SpoolRequests != 25 || st.LastError == "" {
		t.Fatalf("during outage: %+v", st)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drain after the outage", h.drained)
	sameRequests(t, srv.Requests(), want)
	if h.counter(t, "orbd_diode_resent_after_lost_ack_total") != 0 {
		t.Fatal("resends counted without a lost ack")
	}
}

func TestLostAckResentAndCounted(t *testing.T) {
	srv, ca := receiver(t)
	h := newSink(t, config(t, srv.URL(), ca))
	want := requests(0, 4, 3)
	srv.DropNext(1)
	sendAll(t, h.sink, want)
	waitFor(t, "drain", h.drained)
	got := srv.Requests()
	// The first request was ingested, its answer lost, and it was sent again.
	sameRequests(t, got[1:], want)
	if got[0].Id != want[0].Id {
		t.Fatalf("order %s", ids(got))
	}
	if n := h.counter(t, "orbd_diode_resent_after_lost_ack_total"); n != 1 {
		t.Fatalf("resent_after_lost_ack = %v, want 1", n)
	}
	if h.sink.Status().ResentAfterLostAck != 1 {
		t.Fatal("status does not show the resend")
	}
}

func TestCloseLeavesRestInSpool(t *testing.T) {
	srv, ca := receiver(t)
	cfg := config(t, srv.URL(), ca)
	srv.Down()
	reg := prometheus.NewRegistry()
	sp, err := spool.Open(cfg.SpoolDir, 0, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Spool: sp, Getenv: noEnv, BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := requests(0, 3, 1)
	sendAll(t, s, want)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), want[0]); err == nil {
		t.Fatal("Send after Close accepted")
	}
	if recs, _, _ := sp.Depth(); recs != 3 {
		t.Fatalf("spool holds %d after a bounded Close, want 3", recs)
	}
	sp.Close()

	// Next start delivers them; Close drains while the receiver is up.
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	h := newSink(t, cfg)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := h.sink.Close(ctx2); err != nil {
		t.Fatal(err)
	}
	sameRequests(t, srv.Requests(), want)
}

func TestSpoolCapDropsOldestEndToEnd(t *testing.T) {
	srv, ca := receiver(t)
	srv.Down()
	cfg := config(t, srv.URL(), ca)
	cfg.SpoolMaxBytes = 6 * 1024
	h := newSink(t, cfg)
	var want []*diodepb.IngestRequest
	for i := 0; i < 20; i++ {
		want = append(want, diodetest.SampleRequest(i, 3))
	}
	sendAll(t, h.sink, want)
	dropped := h.counter(t, "orbd_spool_dropped_entities_total")
	if dropped == 0 {
		t.Fatal("cap never hit")
	}
	if !strings.Contains(h.logs.String(), "SPOOL FULL") {
		t.Fatal("drop not logged loudly")
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drain", h.drained)
	got := srv.Requests()
	if float64(len(got)*3)+dropped != 60 {
		t.Fatalf("received %d requests, dropped %v entities: does not add up to 60 entities", len(got), dropped)
	}
	sameRequests(t, got, want[len(want)-len(got):]) // the newest survive, in order
}
