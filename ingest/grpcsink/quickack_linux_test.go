package grpcsink

import (
	"context"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/orbd/orbd/ingest/diodetest/proxytest"
)

// Proxy tunnels re-arm TCP_QUICKACK (see quickack_linux.go); direct
// connections are left alone. The effect itself is a latency, shown by
// BenchmarkDeliver/tls_via_tinyproxy, not asserted here.
func TestProxyTunnelQuickAck(t *testing.T) {
	srv, _ := receiver(t)
	px := proxytest.Tinyproxy(t, proxytest.TinyOptions{ConnectPorts: []int{port(t, srv.Addr())}})
	pu, err := url.Parse(px.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		proxy *url.URL
		want  bool
	}{{"via tinyproxy", pu, true}, {"direct", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := (&ProxyDialer{Proxy: tc.proxy}).DialContext(ctx, "tcp", "localhost:"+srv.Port())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := quickAckActive(c); got != tc.want {
				t.Fatalf("quick-ack on %s = %v, want %v", tc.name, got, tc.want)
			}
			// Our own side never Nagles: Go sets TCP_NODELAY at dial,
			// and the CONNECT exchange does not undo it.
			rc, err := c.(syscall.Conn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			nodelay := -1
			rc.Control(func(fd uintptr) {
				nodelay, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			})
			if nodelay != 1 {
				t.Fatalf("TCP_NODELAY = %d on the %s connection", nodelay, tc.name)
			}
		})
	}
}
