package hls

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// epoch is when segment 0 of every fake channel starts.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at is the instant d after epoch.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// fakeClock is a clock that moves only when told, with one-shot timers that
// fire when it passes their deadline.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, firing the timers due by then.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.when.After(t) {
			kept = append(kept, tm)
			continue
		}
		select {
		case tm.ch <- t:
		default:
		}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Pending is how many timers are armed.
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NewTimer returns the concrete type, as engine.Clock returns its own Timer
// type: the tests go through TimerFunc like the wiring does.
func (c *fakeClock) NewTimer(d time.Duration) *fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{clock: c, ch: make(chan time.Time, 1), when: c.now.Add(d)}
	if d <= 0 {
		tm.ch <- c.now
		return tm
	}
	c.timers = append(c.timers, tm)
	return tm
}

type fakeTimer struct {
	clock *fakeClock
	ch    chan time.Time
	when  time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, tm := range c.timers {
		if tm == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// fakeChannel computes its segments arithmetically: segment k starts at
// epoch + k×dur (plus the extra length of longer segments before it), a
// discontinuity starts every discEvery-th segment, and its bytes are a
// function of k.
type fakeChannel struct {
	id         string
	clock      *fakeClock
	dur        time.Duration           // 4s
	target     time.Duration           // TargetDuration; dur when zero
	discEvery  int64                   // 10
	retainFrom int64                   // segments before it are gone from the log
	extra      map[int64]time.Duration // segment k lasts dur+extra[k]

	// gate, when set, holds every Segment call until it is closed (or the
	// call's context is cancelled).
	gate chan struct{}

	mu        sync.Mutex
	calls     map[int64]int
	early     []int64 // Segment calls made before the segment's end
	called    chan int64
	cancelled int
}

func newFakeChannel(id string, clock *fakeClock) *fakeChannel {
	return &fakeChannel{
		id: id, clock: clock, dur: 4 * time.Second, discEvery: 10,
		calls: make(map[int64]int), called: make(chan int64, 1024),
	}
}

func (f *fakeChannel) ID() string { return f.id }

func (f *fakeChannel) Variant() Variant {
	return Variant{Codecs: "avc1.42c01e,mp4a.40.2", Width: 640, Height: 360, FrameRate: 25, Bandwidth: 1_500_000}
}

func (f *fakeChannel) TargetDuration() time.Duration {
	if f.target > 0 {
		return f.target
	}
	return f.dur
}

func (f *fakeChannel) start(k int64) time.Time {
	t := epoch.Add(time.Duration(k) * f.dur)
	for j, e := range f.extra {
		if j < k {
			t = t.Add(e)
		}
	}
	return t
}

func (f *fakeChannel) info(k int64) SegmentInfo {
	return SegmentInfo{
		Seq:           k,
		DiscSeq:       k / f.discEvery,
		Discontinuity: k > 0 && k%f.discEvery == 0,
		Start:         f.start(k),
		Duration:      f.dur + f.extra[k],
		Title:         fmt.Sprintf("Programme %d", k/f.discEvery),
	}
}

// lastEnded is the newest segment ended by now, or -1.
func (f *fakeChannel) lastEnded(now time.Time) int64 {
	k := int64(now.Sub(epoch) / f.dur)
	for k >= 0 && f.info(k).End().After(now) {
		k--
	}
	return k
}

func (f *fakeChannel) Segments(now time.Time, n int) ([]SegmentInfo, error) {
	last := f.lastEnded(now)
	first := max(f.retainFrom, last-int64(n)+1)
	var segs []SegmentInfo
	for k := first; k <= last; k++ {
		segs = append(segs, f.info(k))
	}
	return segs, nil
}

func (f *fakeChannel) SegmentEnd(seq int64) (time.Time, bool) {
	if seq < f.retainFrom {
		return time.Time{}, false
	}
	return f.info(seq).End(), true
}

func (f *fakeChannel) Segment(ctx context.Context, seq int64) ([]byte, error) {
	f.mu.Lock()
	f.calls[seq]++
	early := f.info(seq).End().After(f.clock.Now())
	if early {
		f.early = append(f.early, seq)
	}
	f.mu.Unlock()
	select {
	case f.called <- seq:
	default:
	}
	if seq < f.retainFrom {
		return nil, fmt.Errorf("fake %s: segment %d: %w", f.id, seq, ErrGone)
	}
	if early && !Published(ctx) {
		return nil, fmt.Errorf("fake %s: segment %d: %w", f.id, seq, ErrNotYet)
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			f.mu.Lock()
			f.cancelled++
			f.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	return segmentBytes(seq), nil
}

// Calls is how many times Segment(seq) was called.
func (f *fakeChannel) Calls(seq int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[seq]
}

func (f *fakeChannel) Early() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.early...)
}

// segmentBytes is segment seq's deterministic content: (10 + seq%5) MPEG-TS
// packets carrying seq.
func segmentBytes(seq int64) []byte {
	n := 10 + int(seq%5)
	b := make([]byte, n*188)
	for i := range n {
		p := b[i*188 : (i+1)*188]
		p[0] = 0x47
		for j := 1; j < 188; j++ {
			p[j] = byte(seq*31 + int64(i)*7 + int64(j))
		}
	}
	return b
}

// fakeRegistry holds fake channels by id.
type fakeRegistry map[string]*fakeChannel

func (r fakeRegistry) Channel(id string) (Channel, bool) {
	ch, ok := r[id]
	if !ok {
		return nil, false
	}
	return ch, true
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
