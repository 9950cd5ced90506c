package grpcsink

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbd/orbd/ingest/diodetest/proxytest"
	"github.com/orbd/orbd/policies"
)

func port(t testing.TB, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func closeSink(t testing.TB, h *harness) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// The explicit proxy carries the token request and the gRPC connection,
// even to a loopback target, and the proxy sees the target NAME.
func TestDeliverThroughProxy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, targetPort int) *proxytest.Proxy
	}{
		{"tinyproxy", func(t *testing.T, p int) *proxytest.Proxy {
			return proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{p}})
		}},
		{"squid", func(t *testing.T, p int) *proxytest.Proxy { return proxytest.Squid(t, p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ca := receiver(t)
			px := tc.start(t, port(t, srv.Addr()))
			cfg := config(t, srv.URLFor("localhost"), ca)
			cfg.Proxy = policies.Secret(px.URL(""))
			h := newSink(t, cfg)
			want := requests(0, 5, 10)
			sendAll(t, h.sink, want)
			waitFor(t, "drain", h.drained)
			sameRequests(t, srv.Requests(), want)
			closeSink(t, h) // squid logs a tunnel when it closes
			connect := fmt.Sprintf("CONNECT localhost:%s", srv.Port())
			// Two tunnels: the token request and the gRPC connection.
			log := px.WaitLogCount(t, connect, 2)
			if strings.Contains(log, "CONNECT 127.0.0.1:"+srv.Port()) {
				t.Fatal("the target was resolved locally instead of by the proxy")
			}
		})
	}
}

func TestProxyBasicAuth(t *testing.T) {
	srv, ca := receiver(t)
	px := proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{port(t, srv.Addr())}, BasicAuth: "orbd s3cretpw"})

	t.Run("good credentials", func(t *testing.T) {
		cfg := config(t, srv.URLFor("localhost"), ca)
		cfg.Proxy = policies.Secret(px.URL("orbd:s3cretpw"))
		h := newSink(t, cfg)
		sendAll(t, h.sink, requests(0, 2, 3))
		waitFor(t, "drain", h.drained)
		st, _ := json.Marshal(h.sink.Status())
		if strings.Contains(string(st), "s3cretpw") || !strings.Contains(string(st), "orbd:xxxxx@") {
			t.Fatalf("status shows the proxy password or no proxy: %s", st)
		}
		if strings.Contains(h.logs.String(), "s3cretpw") {
			t.Fatal("proxy password logged")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := config(t, srv.URLFor("localhost"), ca)
		cfg.Proxy = policies.Secret(px.URL("orbd:wrong"))
		h := newSink(t, cfg)
		sendAll(t, h.sink, requests(10, 1, 1))
		waitFor(t, "an error", func() bool { return h.sink.Status().LastError != "" })
		// tinyproxy answers 401 where RFC 9110 says 407; the message
		// carries the proxy's own status line either way.
		msg := h.sink.Status().LastError
		prefix := fmt.Sprintf("proxy %s refused CONNECT to localhost:%s: ", px.Addr, srv.Port())
		if !strings.Contains(msg, prefix+"407 Proxy Authentication Required") && !strings.Contains(msg, prefix+"401 Unauthorized") {
			t.Fatalf("error %q lacks %q + 401/407", msg, prefix)
		}
		if strings.Contains(msg, "wrong") {
			t.Fatal("proxy password in the error")
		}
	})
}

func TestProxyRefusesPort(t *testing.T) {
	srv, ca := receiver(t)
	px := proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{443}})
	cfg := config(t, srv.URLFor("localhost"), ca)
	cfg.Proxy = policies.Secret(px.URL(""))
	h := newSink(t, cfg)
	sendAll(t, h.sink, requests(0, 1, 1))
	waitFor(t, "an error", func() bool { return h.sink.Status().LastError != "" })
	want := fmt.Sprintf("proxy %s refused CONNECT to localhost:%s: 403", px.Addr, srv.Port())
	if msg := h.sink.Status().LastError; !strings.Contains(msg, want) {
		t.Fatalf("error %q lacks %q", msg, want)
	}
	if len(srv.Requests()) != 0 {
		t.Fatal("delivered around the proxy")
	}
}

// An https:// proxy: TLS to the proxy (verified with its CA from ca_file),
// CONNECT inside it, then TLS to Diode inside the tunnel.
func TestDeliverThroughHTTPSProxy(t *testing.T) {
	srv, ca := receiver(t)
	px := proxytest.SquidHTTPS(t, port(t, srv.Addr()))
	both := filepath.Join(t.TempDir(), "cas.pem")
	receiverCA, _ := os.ReadFile(ca)
	if err := os.WriteFile(both, append(receiverCA, px.CAPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config(t, srv.URLFor("localhost"), both)
	cfg.Proxy = policies.Secret(px.URL(""))
	h := newSink(t, cfg)
	want := requests(0, 3, 5)
	sendAll(t, h.sink, want)
	waitFor(t, "drain", h.drained)
	sameRequests(t, srv.Requests(), want)
	closeSink(t, h)
	px.WaitLogCount(t, "CONNECT localhost:"+srv.Port(), 2)

	// Without the proxy's CA the TLS handshake with the proxy itself fails.
	cfg2 := config(t, srv.URLFor("localhost"), ca)
	cfg2.Proxy = policies.Secret(px.URL(""))
	h2 := newSink(t, cfg2)
	sendAll(t, h2.sink, requests(9, 1, 1))
	waitFor(t, "an error", func() bool { return h2.sink.Status().LastError != "" })
	if msg := h2.sink.Status().LastError; !strings.Contains(msg, "proxy "+px.Addr+": TLS handshake") || !strings.Contains(msg, "x509") {
		t.Fatalf("error %q does not blame the proxy's certificate", msg)
	}
}
