package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Pool is the global bounded worker pool. Each key (a policy) has its own
// FIFO queue; idle workers serve the keys that have queued work in
// round-robin order, so a key with 3 tasks waits for at most one task per
// worker of a key with 10,000: its first task goes to the next free worker,
// the rest alternate with the other backlogged keys. The pool starts no goroutine per task: only
// its workers run tasks.
type Pool struct {
	log    *slog.Logger
	busyG  prometheus.Gauge
	queueG *prometheus.GaugeVec

	mu     sync.Mutex
	cond   *sync.Cond
	size   int // workers wanted
	live   int // workers running
	busy   int
	queued int
	queues map[string]*fifo
	ring   []string // keys with queued work, served round-robin
	cur    int      // next index in ring
	closed bool
	wg     sync.WaitGroup

	// trace, when set (tests), is called under mu each time a worker takes
	// a task, so tests can assert on the exact dispatch order.
	trace func(key string)
}

type task struct {
	ctx  context.Context
	run  func(ctx context.Context)
	drop func() // called instead of run when the task is dropped
}

type fifo struct {
	items []task
	head  int
	gauge prometheus.Gauge
}

func (q *fifo) len() int { return len(q.items) - q.head }

func (q *fifo) pop() task {
	t := q.items[q.head]
	q.items[q.head] = task{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return t
}

// NewPool starts a pool of n workers (n < 1 means 1). busy and queued may
// be nil (no metrics).
func NewPool(log *slog.Logger, n int, busy prometheus.Gauge, queued *prometheus.GaugeVec) *Pool {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{log: log, busyG: busy, queueG: queued, queues: map[string]*fifo{}}
	p.cond = sync.NewCond(&p.mu)
	p.Resize(n)
	return p
}

// Resize changes the number of workers while running. Growing starts
// workers at once; shrinking lets surplus workers exit after their current
// task.
func (p *Pool) Resize(n int) {
	if n < 1 {
		n = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if n != p.size && p.size != 0 {
		p.log.Info("worker pool resized", "from", p.size, "to", n)
	}
	p.size = n
	for p.live < p.size {
		p.live++
		p.wg.Add(1)
		go p.worker()
	}
	p.cond.Broadcast()
}

// Submit queues run under key. If the pool is closed, or ctx is done by
// the time a worker reaches the task, or the key is dropped, drop is called
// instead of run. Exactly one of run and drop is called, never under the
// pool's lock.
func (p *Pool) Submit(ctx context.Context, key string, run func(ctx context.Context), drop func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		drop()
		return
	}
	q := p.queues[key]
	if q == nil {
		q = &fifo{}
		if p.queueG != nil {
			q.gauge = p.queueG.WithLabelValues(key)
		}
		p.queues[key] = q
	}
	if q.len() == 0 {
		// A newly backlogged key goes in front of the cursor: its first
		// task is taken by the next free worker, and then it shares 1:1.
		p.ring = append(p.ring, "")
		copy(p.ring[p.cur+1:], p.ring[p.cur:])
		p.ring[p.cur] = key
	}
	q.items = append(q.items, task{ctx: ctx, run: run, drop: drop})
	p.queued++
	if q.gauge != nil {
		q.gauge.Inc()
	}
	p.cond.Signal()
	p.mu.Unlock()
}

// Drop removes every queued task of key, calls their drop functions and
// returns how many there were. Tasks already running are not affected.
func (p *Pool) Drop(key string) int {
	p.mu.Lock()
	dropped := p.takeLocked(key)
	p.mu.Unlock()
	for _, t := range dropped {
		t.drop()
	}
	return len(dropped)
}

// Forget deletes key's metric series (the policy is gone).
func (p *Pool) Forget(key string) {
	p.mu.Lock()
	if q := p.queues[key]; q != nil && q.len() == 0 {
		delete(p.queues, key)
	}
	p.mu.Unlock()
	if p.queueG != nil {
		p.queueG.DeleteLabelValues(key)
	}
}

func (p *Pool) takeLocked(key string) []task {
	q := p.queues[key]
	if q == nil || q.len() == 0 {
		return nil
	}
	out := make([]task, q.len())
	copy(out, q.items[q.head:])
	q.items, q.head = nil, 0
	p.queued -= len(out)
	if q.gauge != nil {
		q.gauge.Sub(float64(len(out)))
	}
	for i, k := range p.ring {
		if k == key {
			p.ring = append(p.ring[:i], p.ring[i+1:]...)
			if i < p.cur {
				p.cur--
			}
			break
		}
	}
	if p.cur >= len(p.ring) {
		p.cur = 0
	}
	return out
}

// Stats returns the configured size, busy workers and queued tasks.
func (p *Pool) Stats() (size, busy, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size, p.busy, p.queued
}

// Close drops every queued task, stops the workers after their current
// task and waits for them.
func (p *Pool) Close() {
	p.mu.Lock()
	var dropped []task
	if !p.closed {
		p.closed = true
		for _, k := range append([]string(nil), p.ring...) {
			dropped = append(dropped, p.takeLocked(k)...)
		}
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	for _, t := range dropped {
		t.drop()
	}
	p.wg.Wait()
}

// nextLocked takes the next task round-robin across keys.
func (p *Pool) nextLocked() (string, task) {
	key := p.ring[p.cur]
	q := p.queues[key]
	t := q.pop()
	p.queued--
	if q.gauge != nil {
		q.gauge.Dec()
	}
	if q.len() == 0 {
		p.ring = append(p.ring[:p.cur], p.ring[p.cur+1:]...)
	} else {
		p.cur++
	}
	if p.cur >= len(p.ring) {
		p.cur = 0
	}
	if p.trace != nil {
		p.trace(key)
	}
	return key, t
}

func (p *Pool) worker() {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		for !p.closed && p.live <= p.size && len(p.ring) == 0 {
			p.cond.Wait()
		}
		if p.closed || p.live > p.size {
			p.live--
			p.mu.Unlock()
			return
		}
		key, t := p.nextLocked()
		if t.ctx.Err() != nil {
			p.mu.Unlock()
			t.drop()
			p.mu.Lock()
			continue
		}
		p.busy++
		p.mu.Unlock()
		p.exec(key, t)
		p.mu.Lock()
		p.busy--
	}
}

// exec runs one task; a panic is logged and kills neither the worker nor
// the pool (the agent's tasks recover and report panics themselves).
func (p *Pool) exec(key string, t task) {
	if p.busyG != nil {
		p.busyG.Inc()
		defer p.busyG.Dec()
	}
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("worker pool: task panicked", "policy", key, "panic", fmt.Sprint(r))
		}
	}()
	t.run(t.ctx)
}
