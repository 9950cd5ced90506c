package policies

import (
	"os"
	"testing"
	"time"

	"github.com/goccy/go-yaml/parser"
)

// BenchmarkLoadFull measures a full load (parse, expand, decode, validate,
// fingerprint) of the sample with every backend, and reports it as a ratio
// to goccy's bare parse of the same bytes measured in the same run: the
// cost of strictness on top of the YAML parser.
func BenchmarkLoadFull(b *testing.B) {
	const file = "testdata/valid-full.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	opts := LoadOptions{Getenv: mapEnv(sampleEnv)}
	var load, parse time.Duration
	policies := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := parser.ParseBytes(data, 0); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		cfg, err := Load([]string{file}, opts)
		if err != nil {
			b.Fatal(err)
		}
		load += time.Since(t1)
		parse += t1.Sub(t0)
		policies += len(cfg.Policies)
	}
	b.ReportMetric(float64(policies)/load.Seconds(), "policies/s")
	b.ReportMetric(float64(load)/float64(parse), "load/parse")
}
