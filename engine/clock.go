// Package engine turns the playout log into a channel's media: the clock, the
// timeline, the splicer and the shared channel sessions.
package engine

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is onair's only source of wall time. Components take a Clock and never
// read the system clock themselves, so tests play days of a channel in seconds
// with a VirtualClock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d has
	// passed on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock, like time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was pending.
	Stop() bool
	// Reset re-arms the timer to fire d from now; it reports whether it was pending.
	Reset(d time.Duration) bool
}

// RealClock reads the system clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() } //nolint:forbidigo // the one real clock

func (RealClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// VirtualClock is a Clock that moves only when told. Timers due at or before
// the new time fire in order of their deadlines (ties in creation order) when
// Advance or Set moves the clock. It is safe for concurrent use; one mutex
// guards its state.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
}

// NewVirtualClock returns a virtual clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *VirtualClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &virtualTimer{clock: c, ch: make(chan time.Time, 1), index: -1}
	c.arm(t, d)
	return t
}

// Advance moves the clock forward by d, firing due timers in order.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.Set(target)
}

// Set moves the clock to t (forward or back), firing the timers due by then in
// order; the clock reads each timer's deadline as it fires.
func (c *VirtualClock) Set(t time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(t) {
			c.now = t
			c.mu.Unlock()
			return
		}
		vt := heap.Pop(&c.timers).(*virtualTimer)
		if vt.when.After(c.now) {
			c.now = vt.when
		}
		now := c.now
		c.mu.Unlock()
		select {
		case vt.ch <- now:
		default: // the previous tick was not read; like time.Timer, drop
		}
	}
}

// Pending reports how many timers are armed.
func (c *VirtualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *VirtualClock) arm(t *virtualTimer, d time.Duration) {
	c.seq++
	t.when = c.now.Add(d)
	t.seq = c.seq
	heap.Push(&c.timers, t)
}

type virtualTimer struct {
	clock *VirtualClock
	ch    chan time.Time
	when  time.Time
	seq   uint64
	index int // in the heap, -1 when not armed
}

func (t *virtualTimer) C() <-chan time.Time { return t.ch }

func (t *virtualTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.clock.timers, t.index)
	return true
}

func (t *virtualTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := t.index >= 0
	if was {
		heap.Remove(&t.clock.timers, t.index)
	}
	t.clock.arm(t, d)
	return was
}

type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

var (
	_ Clock = RealClock{}
	_ Clock = (*VirtualClock)(nil)
)
