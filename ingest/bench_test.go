package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netboxlabs/diode-sdk-go/diode"
	"github.com/netboxlabs/diode-sdk-go/diode/v1/diodepb"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/policies"
)

// benchDevices is the fleet of one iteration: 48-port switches with two
// addresses per port (about 290 entities per device).
const benchDevices = 50

func benchFleet() []*drivers.Inventory {
	out := make([]*drivers.Inventory, benchDevices)
	for i := range out {
		out[i] = switchN(i)
	}
	return out
}

var benchDefaults = policies.Defaults{Site: "ams1", Role: "leaf", Tags: []string{"orbd"}, Tenant: "acme"}

// BenchmarkEntities is mapping alone: inventory → entities.
func BenchmarkEntities(b *testing.B) {
	fleet := benchFleet()
	o := MapOptions{Now: testNow, EmitPrefixes: true}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, inv := range fleet {
			n += len(Entities(inv, benchDefaults, o))
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entities/s")
}

// BenchmarkNormalizeAndDryRun is the whole delivery path of a run: mapping,
// per-entity validation, batching, request validation, protojson encoding
// and atomic (synced) file writes, one Add per device.
func BenchmarkNormalizeAndDryRun(b *testing.B) {
	fleet := benchFleet()
	ctx := context.Background()
	pol := snmpPolicy(benchDefaults)
	n, files := 0, 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
		sink, err := NewDryRunSink(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		p := NewPipeline(sink, PipelineConfig{AgentName: "bench", Version: "1.0.0", Now: func() time.Time { return testNow }})
		run, err := p.Begin(ctx, pol, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, inv := range fleet {
			k, err := run.Add(ctx, drivers.Target{Host: "198.51.100.1"} /* never dialled */, inv)
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
		if err := run.Close(ctx); err != nil {
			b.Fatal(err)
		}
		des, _ := os.ReadDir(dir)
		files += len(des)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entities/s")
	b.ReportMetric(float64(files)/float64(b.N), "files/op")
}

// BenchmarkDryRunVsSDK compares our sink (validated, atomic, synced) with
// the SDK's DryRunClient writing the same pre-mapped entities in the same
// 1000-entity chunks; ratio = ours / SDK time, measured in this run.
func BenchmarkDryRunVsSDK(b *testing.B) {
	var ents []*diodepb.Entity
	for _, inv := range benchFleet() {
		ents = append(ents, Entities(inv, benchDefaults, MapOptions{Now: testNow, EmitPrefixes: true})...)
	}
	ctx := context.Background()
	var ours, sdk time.Duration
	for i := 0; b.Loop(); i++ {
		base := b.TempDir()
		start := time.Now()
		sink, err := NewDryRunSink(filepath.Join(base, "ours"), nil)
		if err != nil {
			b.Fatal(err)
		}
		bt, err := NewBatcher(RequestInfo{Backend: "snmp_discovery", Version: "1.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			req, err := bt.Add(e)
			if err != nil {
				b.Fatal(err)
			}
			if req != nil {
				if err := sink.Send(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		}
		if req, err := bt.Flush(); err != nil {
			b.Fatal(err)
		} else if req != nil {
			if err := sink.Send(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		ours += time.Since(start)

		start = time.Now()
		client, err := diode.NewDryRunClient("orbd/snmp_discovery", filepath.Join(base, "sdk"))
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < len(ents); j += MaxEntitiesPerRequest {
			if _, err := client.IngestProto(ctx, ents[j:min(j+MaxEntitiesPerRequest, len(ents))]); err != nil {
				b.Fatal(err)
			}
		}
		sdk += time.Since(start)
	}
	b.ReportMetric(float64(len(ents)*b.N)/ours.Seconds(), "entities/s")
	b.ReportMetric(float64(len(ents)*b.N)/sdk.Seconds(), "sdk-entities/s")
	b.ReportMetric(ours.Seconds()/sdk.Seconds(), "ratio-vs-sdk")
}
