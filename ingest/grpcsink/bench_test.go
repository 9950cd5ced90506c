package grpcsink

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/ingest/diodetest/proxytest"
	"github.com/orbd/orbd/policies"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// SyscallConn keeps the socket reachable for the tunnel's TCP_QUICKACK, so
// the benchmark measures the production path.
func (c countConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

// BenchmarkDeliver measures entities/s from Send (spool + fsync) to the
// receiver's acknowledgement, as a ratio to the dry-run protojson encode
// rate of the same requests in the same run, plus bytes per entity: the
// protobuf payload and what was actually written to the socket (TLS,
// HTTP/2 and CONNECT included).
func BenchmarkDeliver(b *testing.B) {
	for _, tc := range []struct {
		name  string
		proxy func(b *testing.B, port int) *proxytest.Proxy
	}{
		{"tls", nil},
		{"tls_via_tinyproxy", func(b *testing.B, p int) *proxytest.Proxy {
			return proxytest.Tinyproxy(b, proxytest.TinyOptions{ConnectPorts: []int{p}})
		}},
		{"tls_via_squid", func(b *testing.B, p int) *proxytest.Proxy { return proxytest.Squid(b, p) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv, ca := receiver(b)
			cfg := config(b, srv.URLFor("localhost"), ca)
			if tc.proxy != nil {
				px := tc.proxy(b, port(b, srv.Addr()))
				cfg.Proxy = policies.Secret(px.URL(""))
			}
			var wire atomic.Int64
			h := newSink(b, cfg, func(o *Options) {
				o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					var d net.Dialer
					c, err := d.DialContext(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return countConn{c, &wire}, nil
				}
			})
			reqs := make([]*diodepb.IngestRequest, 8)
			size, ents := 0, 0
			for i := range reqs {
				reqs[i] = diodetest.SampleRequest(i, 1000)
				size += proto.Size(reqs[i])
				ents += len(reqs[i].Entities)
			}
			// Warm up: token and connection.
			sendAll(b, h.sink, reqs[:1])
			waitFor(b, "warm-up", h.drained)
			wire.Store(0)

			b.ResetTimer()
			enc := protojson.MarshalOptions{UseProtoNames: true, Indent: "  "}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := enc.Marshal(reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
			}
			encode := time.Since(start)

			start = time.Now()
			for i := 0; i < b.N; i++ {
				if err := h.sink.Send(context.Background(), reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
			}
			waitFor(b, "delivery", h.drained)
			deliver := time.Since(start)
			b.StopTimer()

			perReq := float64(ents) / float64(len(reqs))
			total := perReq * float64(b.N)
			encRate, delRate := total/encode.Seconds(), total/deliver.Seconds()
			b.ReportMetric(delRate, "entities/s")
			b.ReportMetric(encRate, "dryrun_encode_entities/s")
			b.ReportMetric(delRate/encRate, "ratio_to_dryrun")
			b.ReportMetric(float64(size)/float64(ents), "proto_bytes/entity")
			b.ReportMetric(float64(wire.Load())/total, "wire_bytes/entity")
		})
	}
}
