package hls

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Bounds of the prefetcher's queues: a trigger that finds them full drops its
// job and counts it (Stats.PrefetchDropped).
const (
	prefetchQueue      = 256  // triggers waiting for the scheduler
	prefetchWorkQueue  = 64   // due jobs waiting for a worker
	prefetchMaxPending = 1024 // jobs scheduled or running, over all channels
)

// prefetchJob asks for segment seq of ch once due, the segment's end.
type prefetchJob struct {
	ch  Channel
	key segKey
	due time.Time
}

// prefetcher generates the segments after the ones clients ask for as soon as
// they become available, so that they are cached before clients ask.
//
// Its goroutines, all owned by the Output (its context and WaitGroup): one
// scheduler holding the jobs not yet due in a heap and one clock timer for
// the earliest, and a fixed pool of workers generating due jobs through the
// Output's cache. A mutex guards the set of pending keys, which keeps a
// segment from being queued twice.
type prefetcher struct {
	o        *Output
	in       chan prefetchJob // triggers to the scheduler
	work     chan prefetchJob // due jobs to the workers
	newTimer func(time.Duration) Timer

	mu      sync.Mutex
	pending map[segKey]struct{}
}

func newPrefetcher(o *Output) *prefetcher {
	return &prefetcher{
		o:        o,
		in:       make(chan prefetchJob, prefetchQueue),
		work:     make(chan prefetchJob, prefetchWorkQueue),
		newTimer: o.cfg.NewTimer,
		pending:  make(map[segKey]struct{}),
	}
}

// start starts the scheduler and the workers; it reports false when the
// Output is already closed.
func (p *prefetcher) start() bool {
	if !p.o.goOwned(p.schedule) {
		return false
	}
	for range p.o.cfg.PrefetchWorkers {
		if !p.o.goOwned(p.worker) {
			return false
		}
	}
	return true
}

// after queues the cfg.Prefetch segments following seq of ch, each due at its
// end. It never blocks.
func (p *prefetcher) after(ch Channel, seq int64) {
	if p.o.ctx.Err() != nil {
		return
	}
	now := p.o.clock.Now()
	if p.o.cache.churning(now, 2*ch.TargetDuration()) {
		// The cache would likely evict what prefetch makes before it is asked
		// for, and the work would be done twice: leave it to the requests.
		p.o.stats.prefetchDropped.Add(1)
		return
	}
	id := ch.ID()
	for i := 1; i <= p.o.cfg.Prefetch; i++ {
		key := segKey{channel: id, seq: seq + int64(i)}
		if p.o.cache.has(key) {
			continue
		}
		end, ok := ch.SegmentEnd(key.seq)
		if !ok || (end.After(now) && p.newTimer == nil) {
			continue
		}
		if !p.reserve(key) {
			continue
		}
		select {
		case p.in <- prefetchJob{ch: ch, key: key, due: end}:
		default:
			p.release(key)
			p.o.stats.prefetchDropped.Add(1)
		}
	}
}

// reserve marks key pending; false when it already is, or when too many are.
func (p *prefetcher) reserve(key segKey) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pending[key]; ok {
		return false
	}
	if len(p.pending) >= prefetchMaxPending {
		p.o.stats.prefetchDropped.Add(1)
		return false
	}
	p.pending[key] = struct{}{}
	return true
}

func (p *prefetcher) release(key segKey) {
	p.mu.Lock()
	delete(p.pending, key)
	p.mu.Unlock()
}

// schedule holds the jobs until they are due and hands them to the workers.
func (p *prefetcher) schedule() {
	ctx := p.o.ctx
	var (
		jobs    jobHeap
		timer   Timer
		timerC  <-chan time.Time
		armedAt time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := p.o.clock.Now()
		for len(jobs) > 0 && !jobs[0].due.After(now) {
			job := heap.Pop(&jobs).(prefetchJob)
			select {
			case p.work <- job:
			default:
				p.release(job.key)
				p.o.stats.prefetchDropped.Add(1)
			}
		}
		if len(jobs) > 0 && (timer == nil || !armedAt.Equal(jobs[0].due)) {
			if timer != nil {
				timer.Stop()
			}
			armedAt = jobs[0].due
			timer = p.newTimer(armedAt.Sub(now))
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case job := <-p.in:
			heap.Push(&jobs, job)
		case <-timerC:
			timer, timerC = nil, nil
		}
	}
}

// worker generates due jobs, one at a time.
func (p *prefetcher) worker() {
	ctx := p.o.ctx
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-p.work:
			p.run(ctx, job)
		}
	}
}

func (p *prefetcher) run(ctx context.Context, job prefetchJob) {
	defer p.release(job.key)
	_, err := p.o.fetch(ctx, job.ch, job.key.seq, true)
	if err != nil && ctx.Err() == nil {
		p.o.cfg.Logger.Debug("hls prefetch", "channel", job.key.channel, "seq", job.key.seq, "err", err)
	}
}

// jobHeap orders jobs by due time.
type jobHeap []prefetchJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(prefetchJob)) }

func (h *jobHeap) Pop() any {
	old := *h
	job := old[len(old)-1]
	old[len(old)-1] = prefetchJob{}
	*h = old[:len(old)-1]
	return job
}
