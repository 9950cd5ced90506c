package snmp

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/snmp/snmptest"
	"github.com/orbd/orbd/internal/peertest"
	"github.com/orbd/orbd/policies"
)

// BenchmarkDiscoverVsSnmpbulkwalk discovers the largest snmpsim recording
// (cisco_16_switch, 51k variables) and, in the same iteration against the
// same snmpsimd, runs snmpbulkwalk over the same subtrees one after the
// other, as an operator's script would. Request counts come from snmptest
// serving the same recording.
//
//	go test -run '^$' -bench DiscoverVsSnmpbulkwalk -benchtime 10x ./drivers/snmp/
func BenchmarkDiscoverVsSnmpbulkwalk(b *testing.B) {
	const file, maxRep = "cisco_16_switch.snmprec.gz", 25
	bin := peertest.Require(b, "snmpbulkwalk", "snmp")
	community := communityOf(file)
	port := startSnmpsim(b, file)
	rec, err := snmptest.ParseSnmprec(bytes.NewReader(readRecording(b, file)))
	if err != nil {
		b.Fatal(err)
	}
	sysObjectID := ""
	for _, v := range rec.Vars() {
		if v.OID == oidSysObjectID {
			sysObjectID = v.Value.(string)
		}
	}
	subtrees := referenceSubtrees(sysObjectID, false)
	cfg := func(c *policies.SNMPConfig) { c.SNMPTimeout = 5; c.Options.MaxRepetitions = maxRep }
	d := newDriver(b, v2c(community), one(port), cfg)
	ctx := ctxTimeout(b, 10*time.Minute)

	// Request counts, on an agent that counts them.
	s := serve(b, "127.0.0.1:0", rec, snmptest.WithCommunity(community))
	cd := newDriver(b, v2c(community), one(s.Port()), cfg)
	inv, ours, err := cd.discover(ctx, target(s.Port()))
	if err != nil {
		b.Fatal(err)
	}
	s.ResetRequests()
	runSnmpbulkwalk(b, bin, s.Port(), community, maxRep, subtrees)
	refReqs := s.Requests()
	_, ifaces, addrs := inv.Counts()

	var tOurs, tRef time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := d.Discover(ctx, target(port)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		runSnmpbulkwalk(b, bin, port, community, maxRep, subtrees)
		tOurs += t1.Sub(t0)
		tRef += time.Since(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tOurs.Microseconds())/n/1000, "orbd_ms/device")
	b.ReportMetric(float64(tRef.Microseconds())/n/1000, "snmpbulkwalk_ms/device")
	b.ReportMetric(float64(tOurs)/float64(tRef), "ratio_to_snmpbulkwalk")
	b.ReportMetric(float64(ours), "requests_per_device")
	b.ReportMetric(float64(refReqs), "snmpbulkwalk_requests")
	b.ReportMetric(float64(ifaces), "interfaces")
	b.ReportMetric(float64(addrs), "addresses")
}

// BenchmarkFleetWAN discovers N snmptest devices that answer every request
// after 50 ms, with W concurrent workers (as the agent's pool would), and
// compares the makespan with ceil(N/W) × round trips × 50 ms, where round
// trips is the critical path one device needs (measured alone, same run).
//
//	go test -run '^$' -bench FleetWAN -benchtime 3x ./drivers/snmp/
func BenchmarkFleetWAN(b *testing.B) {
	const (
		devices = 64
		workers = 16
		rtt     = 50 * time.Millisecond
	)
	var targets []policies.SNMPTarget
	for i := 0; i < devices; i++ {
		s := startAgent(b, snmptest.DemoDevices[i%len(snmptest.DemoDevices)], snmptest.WithDelay(rtt))
		targets = append(targets, policies.SNMPTarget{Host: "127.0.0.1", Port: s.Port()})
	}
	d := newDriver(b, v2c("public"), targets, func(c *policies.SNMPConfig) { c.SNMPTimeout = 2 })
	ctx := ctxTimeout(b, 10*time.Minute)
	ts, err := d.Targets(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// Critical path of one device: the slowest of the demo devices, alone.
	var one time.Duration
	var reqs int64
	for i := range snmptest.DemoDevices {
		t0 := time.Now()
		_, n, err := d.discover(ctx, ts[i])
		if err != nil {
			b.Fatal(err)
		}
		one = max(one, time.Since(t0))
		reqs = max(reqs, n)
	}
	roundTrips := math.Round(float64(one) / float64(rtt))
	ideal := time.Duration(math.Ceil(float64(devices)/workers) * roundTrips * float64(rtt))

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		runFleet(b, d, ts, workers)
		total += time.Since(t0)
	}
	b.StopTimer()
	mk := total / time.Duration(b.N)
	b.ReportMetric(float64(mk.Milliseconds()), "makespan_ms")
	b.ReportMetric(float64(ideal.Milliseconds()), "ideal_ms")
	b.ReportMetric(float64(mk)/float64(ideal), "ratio_to_ideal")
	b.ReportMetric(roundTrips, "round_trips/device")
	b.ReportMetric(float64(reqs), "requests/device")
	b.Logf("%d devices, %d workers, %s RTT: makespan %s, ideal ceil(N/W)×%v×%s = %s", devices, workers, rtt, mk, roundTrips, rtt, ideal)
}

func runFleet(b *testing.B, d *Driver, ts []drivers.Target, workers int) {
	ctx := ctxTimeout(b, 5*time.Minute)
	work := make(chan drivers.Target)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tg := range work {
				if _, err := d.Discover(ctx, tg); err != nil {
					b.Error(tg.String() + ": " + err.Error())
				}
			}
		}()
	}
	for _, tg := range ts {
		work <- tg
	}
	close(work)
	wg.Wait()
}
