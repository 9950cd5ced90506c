package agent

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestPoolFairness queues 10,000 tasks of policy A while every worker is
// busy, then 3 tasks of policy B. Once the workers free up, B's tasks are
// taken first and then interleaved 1:1 with A's, so B's last task is taken
// after at most N A-tasks for N >= 2 workers (2 A-tasks for 3 B-tasks),
// whatever A's backlog. A FIFO
// pool would start all 10,000 A-tasks first.
func TestPoolFairness(t *testing.T) {
	for _, workers := range []int{1, 2, 4, 16} {
		t.Run("", func(t *testing.T) {
			p := NewPool(nil, workers, nil, nil)
			defer p.Close()
			var (
				mu    sync.Mutex
				order []string
			)
			p.mu.Lock()
			p.trace = func(key string) { mu.Lock(); order = append(order, key); mu.Unlock() }
			p.mu.Unlock()

			ctx := context.Background()
			gate := make(chan struct{})
			var blocked, done sync.WaitGroup
			blocked.Add(workers)
			for range workers {
				done.Add(1)
				p.Submit(ctx, "A", func(context.Context) { blocked.Done(); <-gate; done.Done() }, done.Done)
			}
			blocked.Wait() // every worker now holds an A-task
			for range 10000 {
				done.Add(1)
				p.Submit(ctx, "A", func(context.Context) { done.Done() }, done.Done)
			}
			mu.Lock()
			bQueuedAt := len(order)
			mu.Unlock()
			for range 3 {
				done.Add(1)
				p.Submit(ctx, "B", func(context.Context) { done.Done() }, done.Done)
			}
			close(gate)
			done.Wait()

			mu.Lock()
			defer mu.Unlock()
			after := order[bQueuedAt:]
			if after[0] != "B" {
				t.Fatalf("first task taken after B was queued is %s, want B", after[0])
			}
			lastB, aBefore, bSeen, run := -1, 0, 0, 0
			for i, k := range after {
				if k == "B" {
					lastB = i
					bSeen++
					run = 0
				} else if bSeen < 3 {
					if run++; run > 1 {
						t.Fatalf("dispatch order %v...: two A-tasks taken in a row while B had work queued", after[:i+1])
					}
				}
			}
			for _, k := range after[:lastB] {
				if k == "A" {
					aBefore++
				}
			}
			if bSeen != 3 {
				t.Fatalf("B tasks taken = %d, want 3", bSeen)
			}
			if workers >= 2 && aBefore > workers {
				t.Fatalf("%d A-tasks started after B was queued and before B's last task; want <= %d workers", aBefore, workers)
			}
			if len(order) != workers+10000+3 {
				t.Fatalf("tasks taken = %d, want %d", len(order), workers+10003)
			}
		})
	}
}

func TestPoolDropsCancelledAndDroppedTasks(t *testing.T) {
	reg := prometheus.NewRegistry()
	queued := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "q"}, []string{"policy"})
	busy := prometheus.NewGauge(prometheus.GaugeOpts{Name: "b"})
	reg.MustRegister(queued, busy)
	p := NewPool(nil, 1, busy, queued)

	gate, started := make(chan struct{}), make(chan struct{})
	var ran, dropped atomic.Int32
	p.Submit(context.Background(), "x", func(context.Context) { close(started); <-gate }, func() { t.Error("blocker dropped") })
	<-started
	if got := testutil.ToFloat64(busy); got != 1 {
		t.Errorf("busy = %v, want 1", got)
	}

	cctx, cancel := context.WithCancel(context.Background())
	for range 5 {
		p.Submit(cctx, "x", func(context.Context) { ran.Add(1) }, func() { dropped.Add(1) })
	}
	for range 3 {
		p.Submit(context.Background(), "y", func(context.Context) { ran.Add(1) }, func() { dropped.Add(1) })
	}
	if got := testutil.ToFloat64(queued.WithLabelValues("x")); got != 5 {
		t.Errorf("queued{x} = %v, want 5", got)
	}
	if _, _, q := p.Stats(); q != 8 {
		t.Errorf("Stats queued = %d, want 8", q)
	}
	cancel() // x's tasks are skipped when reached
	if n := p.Drop("y"); n != 3 {
		t.Errorf("Drop(y) = %d, want 3", n)
	}
	if got := testutil.ToFloat64(queued.WithLabelValues("y")); got != 0 {
		t.Errorf("queued{y} after Drop = %v, want 0", got)
	}
	close(gate)
	p.Close()
	if ran.Load() != 0 || dropped.Load() != 8 {
		t.Errorf("ran=%d dropped=%d, want 0 and 8", ran.Load(), dropped.Load())
	}
	p.Forget("x")
	p.Forget("y")
	if n := testutil.CollectAndCount(queued); n != 0 {
		t.Errorf("queued series after Forget = %d, want 0", n)
	}
	// Closed pool: Submit drops at once.
	var d bool
	p.Submit(context.Background(), "z", func(context.Context) { t.Error("ran after Close") }, func() { d = true })
	if !d {
		t.Error("Submit after Close did not drop")
	}
}

func TestPoolResizeAndPanic(t *testing.T) {
	p := NewPool(nil, 1, nil, nil)
	defer p.Close()
	// A panicking task must not kill the only worker.
	p.Submit(context.Background(), "x", func(context.Context) { panic("boom") }, func() {})
	ok := make(chan struct{})
	p.Submit(context.Background(), "x", func(context.Context) { close(ok) }, func() {})
	<-ok

	p.Resize(3)
	gate := make(chan struct{})
	var started sync.WaitGroup
	started.Add(3)
	var done sync.WaitGroup
	done.Add(3)
	for range 3 {
		p.Submit(context.Background(), "x", func(context.Context) { started.Done(); <-gate; done.Done() }, done.Done)
	}
	started.Wait() // only possible with 3 live workers
	if size, busy, _ := p.Stats(); size != 3 || busy != 3 {
		t.Errorf("size=%d busy=%d, want 3 3", size, busy)
	}
	p.Resize(1)
	close(gate)
	done.Wait()
	// After shrinking, surplus workers exit; wait until live settles.
	for {
		p.mu.Lock()
		live := p.live
		p.mu.Unlock()
		if live == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPoolMakespan: 10,000 tasks of 10 ms on 100 workers. The ideal
// makespan is 10000*10ms/100 = 1s; ratio_to_ideal is elapsed/ideal.
func BenchmarkPoolMakespan(b *testing.B) {
	const (
		tasks   = 10000
		workers = 100
		work    = 10 * time.Millisecond
	)
	ideal := time.Duration(tasks) * work / workers
	ctx := context.Background()
	var elapsed time.Duration
	for b.Loop() {
		p := NewPool(nil, workers, nil, nil)
		var wg sync.WaitGroup
		wg.Add(tasks)
		start := time.Now()
		for range tasks {
			p.Submit(ctx, "bench", func(context.Context) { time.Sleep(work); wg.Done() }, wg.Done)
		}
		wg.Wait()
		elapsed += time.Since(start)
		p.Close()
	}
	per := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(ideal), "ratio_to_ideal")
	b.ReportMetric(float64(tasks)/per.Seconds(), "tasks/s")
}
