package grpcsink

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"
	"github.com/orbd/orbd/ingest/diodetest"
	"github.com/orbd/orbd/policies"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"
)

// receiver starts a TLS receiver with a prefix and writes its CA to a file.
func receiver(t testing.TB, opts ...diodetest.Option) (*diodetest.Server, string) {
	t.Helper()
	srv, err := diodetest.New(append([]diodetest.Option{diodetest.WithPrefix("/diode")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	caFile := ""
	if pem := srv.CAPEM(); pem != nil {
		caFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caFile, pem, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return srv, caFile
}

func config(t testing.TB, target, caFile string) policies.DiodeConfig {
	return policies.DiodeConfig{
		Target: target, ClientID: diodetest.DefaultClientID, ClientSecret: diodetest.DefaultClientSecret,
		CAFile: caFile, SpoolDir: t.TempDir(),
	}
}

// logBuf is a concurrency-safe slog sink so tests can assert on log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type harness struct {
	sink *Sink
	reg  *prometheus.Registry
	logs *logBuf
}

// noEnv keeps the test process's proxy variables out of the sink.
func noEnv(string) string { return "" }

func newSink(t testing.TB, cfg policies.DiodeConfig, mod ...func(*Options)) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &logBuf{}}
	o := Options{
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:    h.reg,
		Version:     "0.1.0",
		Getenv:      noEnv,
		CallTimeout: 5 * time.Second,
		BackoffBase: 10 * time.Millisecond,
		BackoffMax:  200 * time.Millisecond,
	}
	for _, f := range mod {
		f(&o)
	}
	s, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	h.sink = s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		s.Close(ctx)
	})
	return h
}

func (h *harness) counter(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := true
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				ok = ok && found
			}
			if ok {
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

var _ = testutil.ToFloat64

// waitFor polls cond; the timeout only bounds a hung test, it asserts no speed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) drained() bool {
	recs, _, _ := h.sink.spool.Depth()
	return recs == 0
}

func sendAll(t testing.TB, s *Sink, reqs []*diodepb.IngestRequest) {
	t.Helper()
	for _, r := range reqs {
		if err := s.Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func requests(from, n, entities int) []*diodepb.IngestRequest {
	var out []*diodepb.IngestRequest
	for i := from; i < from+n; i++ {
		out = append(out, diodetest.SampleRequest(i, entities+i%3))
	}
	return out
}

// sameRequests fails unless got equals want in order and content.
func sameRequests(t testing.TB, got, want []*diodepb.IngestRequest) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("received %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("request %d differs: got id %s, want %s", i, got[i].GetId(), want[i].GetId())
		}
	}
}

func ids(reqs []*diodepb.IngestRequest) string {
	var b bytes.Buffer
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s ", r.GetId()[:8])
	}
	return b.String()
}
