package controller

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/controller/controllertest"
)

// BenchmarkCatalystInventory reads a controller of 700 devices and 3,000
// interfaces (the fixture ×100). Figures: devices/s, requests per run,
// and the run's time as a ratio to a reference measured in the same
// run — plain GETs of the same pages with no decoding or mapping — which
// isolates the driver's own cost from the server's.
//
//	go test -run '^$' -bench CatalystInventory -benchtime 20x ./drivers/controller/
func BenchmarkCatalystInventory(b *testing.B) {
	for _, perDev := range []bool{false, true} {
		name := "bulk-interfaces"
		if perDev {
			name = "per-device-interfaces"
		}
		b.Run(name, func(b *testing.B) {
			c, err := controllertest.NewCatalyst(controllertest.Options{Replicas: 100})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if perDev {
				c.DisableBulkInterfaces()
			}
			d, err := New(policyFor(catalystScope(c)), drivers.Deps{Metrics: prometheus.NewRegistry()})
			if err != nil {
				b.Fatal(err)
			}
			defer d.(*Driver).Close()
			ts, _ := d.Targets(context.Background())

			// Reference: the same requests, bodies discarded.
			inv, err := d.Discover(context.Background(), ts[0])
			if err != nil {
				b.Fatal(err)
			}
			devices := len(inv.Devices)
			paths := requestPaths(c.Requests())
			ref := referenceFetch(b, c, paths, 5)

			before := len(c.Requests())
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if _, err := d.Discover(context.Background(), ts[0]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			perRun := elapsed / time.Duration(b.N)
			b.ReportMetric(float64(devices)/perRun.Seconds(), "devices/s")
			b.ReportMetric(float64(len(c.Requests())-before)/float64(b.N), "requests/run")
			b.ReportMetric(float64(perRun)/float64(ref), "x_plain_fetch")
		})
	}
}

// BenchmarkMistInventory: an org of 600 devices (the fixture ×100) in 2
// sites, same figures.
//
//	go test -run '^$' -bench MistInventory -benchtime 20x ./drivers/controller/
func BenchmarkMistInventory(b *testing.B) {
	m, err := controllertest.NewMist(controllertest.Options{Replicas: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	d, err := New(policyFor(mistScope(m)), drivers.Deps{Metrics: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.(*Driver).Close()
	ts, _ := d.Targets(context.Background())
	inv, err := d.Discover(context.Background(), ts[0])
	if err != nil {
		b.Fatal(err)
	}
	devices := len(inv.Devices)
	ref := referenceFetchMist(b, m, requestPaths(m.Requests()), 5)
	before := len(m.Requests())
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := d.Discover(context.Background(), ts[0]); err != nil {
			b.Fatal(err)
		}
	}
	perRun := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(devices)/perRun.Seconds(), "devices/s")
	b.ReportMetric(float64(len(m.Requests())-before)/float64(b.N), "requests/run")
	b.ReportMetric(float64(perRun)/float64(ref), "x_plain_fetch")
}

type reqPath struct{ method, pathQuery string }

func requestPaths(rs []controllertest.Request) []reqPath {
	out := make([]reqPath, 0, len(rs))
	for _, r := range rs {
		pq := r.Path
		if r.RawQuery != "" {
			pq += "?" + r.RawQuery
		}
		out = append(out, reqPath{r.Method, pq})
	}
	return out
}

// referenceFetch replays the requests of one run with a plain client and
// returns the mean time of a replay.
func referenceFetch(b *testing.B, c *controllertest.Catalyst, paths []reqPath, rounds int) time.Duration {
	b.Helper()
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	var total time.Duration
	for range rounds {
		start := time.Now()
		var token string
		for _, p := range paths {
			req, _ := http.NewRequest(p.method, c.URL()+p.pathQuery, nil)
			if p.method == http.MethodPost {
				req.SetBasicAuth(c.Username, c.Password)
			} else {
				req.Header.Set("X-Auth-Token", token)
			}
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if p.method == http.MethodPost {
				var t struct{ Token string }
				_ = json.NewDecoder(resp.Body).Decode(&t)
				token = t.Token
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
				b.Fatalf("reference %s: %d", p.pathQuery, resp.StatusCode)
			}
		}
		total += time.Since(start)
	}
	return total / time.Duration(rounds)
}

func referenceFetchMist(b *testing.B, m *controllertest.Mist, paths []reqPath, rounds int) time.Duration {
	b.Helper()
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	var total time.Duration
	for range rounds {
		start := time.Now()
		for _, p := range paths {
			req, _ := http.NewRequest(p.method, m.URL()+p.pathQuery, nil)
			req.Header.Set("Authorization", "Token "+m.Token)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("reference %s: %d", p.pathQuery, resp.StatusCode)
			}
		}
		total += time.Since(start)
	}
	return total / time.Duration(rounds)
}
