package grpcsink

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orbd/orbd/ingest/diodetest"
	"go.uber.org/goleak"
)

// Close must stop the sender, the connection and the token transport.
func TestCloseLeaksNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := diodetest.New(diodetest.WithPrefix("/diode"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, srv.CAPEM(), 0o600)
	s, err := New(config(t, srv.URL(), ca), Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, requests(0, 3, 2))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 3 {
		t.Fatalf("Close did not drain: %d delivered", len(srv.Requests()))
	}
}
