// Package controllertest runs in-process Catalyst Center and Juniper Mist
// API servers, like net/http/httptest, for tests and the demo lab. They
// serve realistic responses from embedded testdata (7 Catalyst devices in
// 2 sites with their interfaces; a Mist org with 2 sites, 3 APs, 2
// switches and a gateway), check credentials, page the way the real APIs
// do, and can inject 429/503 answers with Retry-After and malformed JSON.
// Every request is recorded with its arrival time so tests can check
// retry spacing from the server's side.
package controllertest

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed testdata
var fixtures embed.FS

// Fixture returns an embedded testdata file, e.g. "catalyst/interface.json".
func Fixture(name string) ([]byte, error) {
	return fixtures.ReadFile("testdata/" + name)
}

// Request is one request as the server saw it.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Time     time.Time // arrival
	Status   int       // status answered
}

// Options shape a server.
type Options struct {
	// TLS serves HTTPS with httptest's self-signed certificate (valid for
	// 127.0.0.1); CAPEM/WriteCA export it for ca_file.
	TLS bool
	// MaxLimit is the largest page size accepted. Catalyst Center answers
	// 400 above it (real limit 500); Mist caps the page to it and says so
	// in X-Page-Limit (real cap 1000).
	MaxLimit int
	// SiteHierarchy adds siteNameHierarchy to Catalyst device records, as
	// newer releases do, so clients can skip the membership calls.
	SiteHierarchy bool
	// Replicas > 1 multiplies the fixture's devices (with their
	// interfaces, memberships and stats) under new names, ids and MACs,
	// for benchmarks.
	Replicas int
}

type fault struct {
	status     int
	retryAfter string
	left       int
}

// recorder is the part both servers share: request log and fault queue.
type recorder struct {
	srv *httptest.Server

	mu       sync.Mutex
	reqs     []Request
	faults   []fault
	malform  map[string]bool
	delay    time.Duration
	maxLimit int
}

// Delay holds every later answer for d (or until the client gives up),
// like a controller that hangs.
func (r *recorder) Delay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// URL is the server's base URL.
func (r *recorder) URL() string { return r.srv.URL }

// Close stops the server.
func (r *recorder) Close() { r.srv.Close() }

// CAPEM is the server certificate in PEM (TLS servers only).
func (r *recorder) CAPEM() []byte {
	if r.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
}

// WriteCA writes CAPEM to path, for a scope's ca_file.
func (r *recorder) WriteCA(path string) error {
	p := r.CAPEM()
	if p == nil {
		return fmt.Errorf("controllertest: server is not TLS")
	}
	return os.WriteFile(path, p, 0o600)
}

// Fail makes the next n requests (any path) answer status with the given
// Retry-After header ("" for none). Calls queue up.
func (r *recorder) Fail(n, status int, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, fault{status: status, retryAfter: retryAfter, left: n})
}

// Malform makes every answer on path (exact, no query) truncated JSON.
func (r *recorder) Malform(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.malform[path] = true
}

// Requests returns a copy of the request log.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Count is the number of requests whose path starts with prefix.
func (r *recorder) Count(prefix string) int {
	n := 0
	for _, q := range r.Requests() {
		if strings.HasPrefix(q.Path, prefix) {
			n++
		}
	}
	return n
}

// statusWriter remembers the status for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(c int) {
	if w.status == 0 {
		w.status = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap logs every request, applies queued faults, and truncates bodies
// of malformed paths.
func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r.mu.Lock()
		var f *fault
		if len(r.faults) > 0 {
			cp := r.faults[0]
			f = &cp
			r.faults[0].left--
			if r.faults[0].left <= 0 {
				r.faults = r.faults[1:]
			}
		}
		bad := r.malform[req.URL.Path]
		delay := r.delay
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery, Time: now, Status: sw.status})
			r.mu.Unlock()
		}()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-req.Context().Done():
				t.Stop()
				sw.status = 499 // client closed the request
				return
			case <-t.C:
			}
		}
		if f != nil {
			if f.retryAfter != "" {
				sw.Header().Set("Retry-After", f.retryAfter)
			}
			writeJSON(sw, f.status, map[string]string{"error": http.StatusText(f.status)})
			return
		}
		if bad {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for k, v := range rec.Header() {
				sw.Header()[k] = v
			}
			body := rec.Body.Bytes()
			sw.WriteHeader(rec.Code)
			_, _ = sw.Write(body[:len(body)/2])
			return
		}
		h.ServeHTTP(sw, req)
	})
}

func (r *recorder) start(h http.Handler, opts Options, defLimit int) {
	r.malform = map[string]bool{}
	r.maxLimit = opts.MaxLimit
	if r.maxLimit <= 0 {
		r.maxLimit = defLimit
	}
	r.srv = httptest.NewUnstartedServer(r.wrap(h))
	// Handshake failures are what the wrong-CA tests provoke; keep them
	// out of the test output.
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS {
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func intParam(req *http.Request, name string, def int) (int, bool) {
	v := req.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
