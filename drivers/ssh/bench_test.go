package ssh

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orbd/orbd/drivers"
	"github.com/orbd/orbd/drivers/ssh/sshtest"
)

// BenchmarkDiscoverWorkers discovers emulated EOS devices that add a fixed
// delay to every command, through 1, 16 and 64 workers. ratio_to_ideal is
// (devices × commands × delay / workers) ÷ elapsed: 1.0 means the delay
// is the only cost, lower means CPU (SSH handshakes, parsing) or the
// emulator got in the way.
func BenchmarkDiscoverWorkers(b *testing.B) {
	const (
		delay   = 20 * time.Millisecond
		servers = 8
		devices = 128
	)
	var srvs []*sshtest.Server
	for i := 0; i < servers; i++ {
		s, err := sshtest.Start(fmt.Sprintf("127.0.0.%d:0", 101+i), sshtest.Device{Platform: "eos", Password: "pw", Delay: delay})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		srvs = append(srvs, s)
	}
	params := func(i int) Params {
		s := srvs[i%servers]
		return Params{Conn: Conn{Host: fmt.Sprintf("127.0.0.%d", 101+i%servers), Port: s.Port(), Username: "admin", Password: "pw",
			HostKeyCallback: HostKeys{Policy: HostKeyInsecure}.Callback()}, Platform: PlatformEOS}
	}
	// commands per discovery, measured
	before := srvs[0].Commands()
	if _, err := Discover(context.Background(), params(0)); err != nil {
		b.Fatal(err)
	}
	cmds := srvs[0].Commands() - before
	for _, workers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			n := devices
			if workers == 1 {
				n = 16 // 16 × 5 × 20ms is already 1.6 s per iteration
			}
			ideal := time.Duration(n) * time.Duration(cmds) * delay / time.Duration(workers)
			var total time.Duration
			cpu0 := cpuTime(b)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				jobs := make(chan int)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var firstErr error
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := range jobs {
							ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
							_, err := Discover(ctx, params(j))
							cancel()
							if err != nil {
								mu.Lock()
								firstErr = err
								mu.Unlock()
							}
						}
					}()
				}
				for j := 0; j < n; j++ {
					jobs <- j
				}
				close(jobs)
				wg.Wait()
				if firstErr != nil {
					b.Fatal(firstErr)
				}
				total += time.Since(start)
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(float64(n)/per.Seconds(), "devices/s")
			b.ReportMetric(ideal.Seconds()/per.Seconds(), "ratio_to_ideal")
			b.ReportMetric(float64(cmds), "cmds/device")
			// CPU of both ends per device: unlike the ratio, it does not
			// move with what else the machine runs
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(n*b.N), "cpu-ms/device")
		})
	}
}

// BenchmarkParseIOSInterfaces parses a `show interfaces` of 4,000
// interfaces built from the C9300 profile (MB/s via SetBytes).
func BenchmarkParseIOSInterfaces(b *testing.B) {
	prof, err := sshtest.LoadProfile("iosxe-c9300")
	if err != nil {
		b.Fatal(err)
	}
	block := prof["show interfaces"]
	var sb strings.Builder
	for i := 0; sb.Len() < 8<<20; i++ {
		sb.WriteString(strings.NewReplacer("1/0/", fmt.Sprintf("%d/0/", i+2), "1/1/", fmt.Sprintf("%d/1/", i+2), "Vlan", fmt.Sprintf("Vlan%d", i), "Port-channel1", fmt.Sprintf("Port-channel%d", i+2), "Loopback0", fmt.Sprintf("Loopback%d", i+1)).Replace(block))
	}
	out := sb.String()
	ifs, err := ParseIOSInterfaces(out)
	if err != nil {
		b.Fatal(err)
	}
	// the floor: only splitting the lines, the least any line parser does
	// (testing.Benchmark cannot nest inside a running benchmark)
	t0 := time.Now()
	const splits = 5
	for i := 0; i < splits; i++ {
		_ = splitLines(out)
	}
	splitNs := float64(time.Since(t0).Nanoseconds()) / splits
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseIOSInterfaces(out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(ifs)), "interfaces/op")
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(splitNs/perOp, "ratio_to_linesplit")
	_ = drivers.Interface{}
}

// cpuTime is the user+system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
