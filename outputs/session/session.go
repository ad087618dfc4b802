// Package session runs the shared channel sessions of the push outputs
// (continuous MPEG-TS, RTSP, WebRTC): one per watched channel, whatever the
// number of viewers and outputs. A session starts with its first viewer at
// the live edge (the start of the newest complete segment), plays the
// channel's segments at wall-clock pace from the same units, and stops a
// grace period after its last viewer leaves.
//
// Each viewer has a bounded queue of batches. The session never waits for a
// viewer: when a viewer's queue is full it skips batches until the start of
// the next segment (a keyframe, and for MPEG-TS a point where every
// continuity counter restarts at 0) and carries on from there with
// Batch.Jump set, so a slow viewer skips ahead and never slows the others.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"onair/engine"
	"onair/muxer"
)

// Channel is what a session needs of a channel; *engine.Channel satisfies it.
type Channel interface {
	ID() string
	// Target is the target segment duration in ticks.
	Target() int64
	Recent(ctx context.Context, now time.Time, n int) ([]engine.SegmentRef, error)
	Media(ctx context.Context, seq int64) (engine.Segment, engine.SegmentRef, func(), error)
	WallTime(ticks int64) time.Time
	MediaTime(t time.Time) int64
}

// Registry finds channels by id.
type Registry interface {
	Channel(id string) (Channel, bool)
}

// RegistryFunc adapts a function to a Registry.
type RegistryFunc func(id string) (Channel, bool)

// Channel calls f(id).
func (f RegistryFunc) Channel(id string) (Channel, bool) { return f(id) }

// EngineRegistry serves the channels of an engine manager.
type EngineRegistry struct{ M *engine.Manager }

// Channel implements Registry.
func (r EngineRegistry) Channel(id string) (Channel, bool) {
	c, ok := r.M.Get(id)
	if !ok {
		return nil, false
	}
	return c, true
}

// Config configures a Manager. The zero value is usable.
type Config struct {
	// Grace is how long a session keeps running after its last viewer left,
	// so a viewer that reconnects (or zaps back) finds it warm. Defaults to 5s.
	Grace time.Duration
	// Pace is the largest interval between two batches: units are handed
	// out in batches of what became due in that time: fewer, larger writes
	// cost less CPU (every player buffers more than this). Defaults to 250ms.
	Pace time.Duration
	// Queue is each viewer's queue, in batches. Defaults to 256 (about 64 s
	// at the default Pace).
	Queue int
	// Lookahead is how long before a segment is due the session reads it
	// from the engine. Defaults to 1s.
	Lookahead time.Duration
	// Logger receives session errors. Defaults to discarding.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.Pace <= 0 {
		c.Pace = 250 * time.Millisecond
	}
	if c.Queue <= 0 {
		c.Queue = 256
	}
	if c.Lookahead <= 0 {
		c.Lookahead = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Errors of Subscribe.
var (
	ErrNoChannel = errors.New("no such channel")
	ErrClosed    = errors.New("session manager is closed")
)

// Manager owns the sessions of all channels. One mutex guards the session
// map and every session's viewer list (short critical sections: a fan-out
// is one non-blocking send per viewer). Each session is one goroutine owned
// by the Manager; Close cancels them and waits.
type Manager struct {
	cfg   Config
	reg   Registry
	clock engine.Clock

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool

	started, stopped atomic.Uint64
}

// New returns a Manager playing the channels of reg on clock.
func New(cfg Config, reg Registry, clock engine.Clock) *Manager {
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg: cfg.withDefaults(), reg: reg, clock: clock, ctx: ctx, cancel: cancel,
		sessions: map[string]*session{},
	}
}

// Close stops every session (their viewers' queues are closed) and waits.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// Stats are a Manager's counters.
type Stats struct {
	// Sessions running now; Started and Stopped since New.
	Sessions         int
	Started, Stopped uint64
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	n := len(m.sessions)
	m.mu.Unlock()
	return Stats{Sessions: n, Started: m.started.Load(), Stopped: m.stopped.Load()}
}

// Viewers returns how many viewers of kind watch channel id.
func (m *Manager) Viewers(id, kind string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[id]
	if s == nil {
		return 0
	}
	n := 0
	for v := range s.subs {
		if v.kind == kind {
			n++
		}
	}
	return n
}

// Subscribe adds a viewer of kind (an output's name, for counts) to channel
// id's session, starting the session if needed. The viewer's first batch
// starts at the current segment's first unit (a keyframe): it gets what the
// session has already played of that segment at once, then the rest at
// wall-clock pace. Close the Sub when done.
func (m *Manager) Subscribe(id, kind string) (*Sub, error) {
	ch, ok := m.reg.Channel(id)
	if !ok || ch == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoChannel, id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := m.sessions[id]
	if s == nil || s.ch != ch {
		if s != nil {
			s.stopLocked() // the channel was replaced: a new session for the new one
		}
		s = m.startLocked(id, ch)
	}
	v := &Sub{s: s, kind: kind, c: make(chan Batch, m.cfg.Queue), fresh: true}
	s.subs[v] = struct{}{}
	s.poke()
	return v, nil
}

func (m *Manager) startLocked(id string, ch Channel) *session {
	ctx, cancel := context.WithCancel(m.ctx)
	s := &session{
		m: m, id: id, ch: ch, ctx: ctx, cancel: cancel,
		subs: map[*Sub]struct{}{}, kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	m.sessions[id] = s
	m.started.Add(1)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(s.done)
		err := s.run()
		m.mu.Lock()
		s.stopLocked()
		m.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) {
			m.cfg.Logger.Warn("channel session stopped", "channel", id, "err", err)
		}
		m.stopped.Add(1)
	}()
	return s
}

// Batch is what became due of one segment since the previous batch: the
// units with DTS in (From, To] and the MPEG-TS packets whose PCR is. From is
// math.MinInt64 in the first batch of a segment (Start), To math.MaxInt64 in
// its last.
type Batch struct {
	Seg      *Segment
	From, To int64
	// Start marks the first batch of a segment: it begins with a keyframe
	// (and parameter sets), and in MPEG-TS with PAT and PMT, every continuity
	// counter at 0.
	Start bool
	// Jump says this viewer missed batches before this one (it was too slow,
	// or the session resynchronised to the live edge): timestamps jump.
	Jump bool
}

// Units returns the units of b, in DTS order. Read-only.
func (b Batch) Units() []muxer.Unit {
	i, j := b.Seg.unitRange(b.From, b.To)
	return b.Seg.Units[i:j]
}

// TS returns the MPEG-TS bytes of b (muxing the segment on first use).
// Read-only.
func (b Batch) TS() ([]byte, error) {
	ts, err := b.Seg.TS()
	if err != nil {
		return nil, err
	}
	i, j := b.Seg.tsRange(b.From, b.To)
	return ts[i:j], nil
}

// Sub is one viewer of a session.
type Sub struct {
	s    *session
	kind string
	c    chan Batch

	// guarded by Manager.mu
	fresh    bool // has not had its first batch
	skipping bool
	closed   bool
	dropped  uint64
}

// C delivers the viewer's batches; it is closed when the session stops (the
// channel was removed, the Manager closed) or the Sub is closed.
func (v *Sub) C() <-chan Batch { return v.c }

// Dropped returns how many batches the viewer missed because it was slow.
func (v *Sub) Dropped() uint64 {
	v.s.m.mu.Lock()
	defer v.s.m.mu.Unlock()
	return v.dropped
}

// Close removes the viewer. The session stops Grace after its last viewer.
func (v *Sub) Close() {
	m := v.s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	delete(v.s.subs, v)
	close(v.c)
	v.s.poke()
}

// offer hands b to v without ever blocking. Called with Manager.mu held.
func (v *Sub) offer(b Batch) {
	if v.skipping {
		if !b.Start || len(v.c) > cap(v.c)/2 {
			v.dropped++
			return
		}
		v.skipping = false
		b.Jump = true
	}
	select {
	case v.c <- b:
	default:
		v.skipping = true
		v.dropped++
	}
}

// session plays one channel.
type session struct {
	m      *Manager
	id     string
	ch     Channel
	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{}
	done   chan struct{}

	// guarded by Manager.mu
	subs    map[*Sub]struct{}
	stopped bool
}

func (s *session) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// stopLocked removes the session from the Manager and closes its viewers.
func (s *session) stopLocked() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	if s.m.sessions[s.id] == s {
		delete(s.m.sessions, s.id)
	}
	for v := range s.subs {
		v.closed = true
		close(v.c)
	}
	clear(s.subs)
}

// run plays the channel until the session is cancelled or idle for Grace.
func (s *session) run() error {
	cfg := &s.m.cfg
	clock := s.m.clock
	var (
		cur, next *Segment
		delay     time.Duration // how far the session runs behind the wall clock
		pos       = int64(math.MinInt64)
		jump      bool
		idleSince time.Time
		idle      bool
		warned    time.Time // when the live edge warning last went out
	)
	for {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		now := clock.Now()
		if cur == nil || s.behind(cur, now, delay) {
			seg, d, err := s.liveEdge(now)
			if err != nil {
				// Viewers joining kick the session to try again; the warning
				// goes out once per 10 s, not once per viewer.
				if warned.IsZero() || now.Sub(warned) >= 10*time.Second {
					cfg.Logger.Warn("channel session: live edge", "channel", s.id, "err", err)
					warned = now
				}
				if !s.wait(now.Add(time.Second)) {
					return s.ctx.Err()
				}
				continue
			}
			jump = cur != nil
			cur, next, delay, pos = seg, nil, d, math.MinInt64
		}
		p := s.ch.MediaTime(now.Add(-delay))

		// The segment is over: its last batch, then the next segment.
		if p >= cur.Ref.End {
			if next == nil {
				seg, err := s.fetch(cur.Ref.Seq + 1)
				if err != nil {
					cfg.Logger.Warn("channel session: next segment", "channel", s.id, "seq", cur.Ref.Seq+1, "err", err)
					if !s.wait(now.Add(cfg.Pace)) {
						return s.ctx.Err()
					}
					continue
				}
				next = seg
			}
			s.fanout(Batch{Seg: cur, From: pos, To: math.MaxInt64, Start: pos == math.MinInt64}, jump)
			jump = false
			cur, next, pos = next, nil, math.MinInt64
			continue
		}

		// Viewers that just joined get the segment so far.
		s.m.mu.Lock()
		for v := range s.subs {
			if v.fresh {
				v.fresh = false
				if pos != math.MinInt64 {
					v.offer(Batch{Seg: cur, From: math.MinInt64, To: pos, Start: true})
				}
			}
		}
		n := len(s.subs)
		s.m.mu.Unlock()

		if p > pos || pos == math.MinInt64 {
			to := max(p, cur.Ref.Start)
			s.fanout(Batch{Seg: cur, From: pos, To: to, Start: pos == math.MinInt64}, jump)
			jump = false
			pos = to
		}

		// No viewer: stop after Grace.
		if n == 0 {
			if !idle {
				idle, idleSince = true, now
			}
			if now.Sub(idleSince) >= cfg.Grace {
				s.m.mu.Lock()
				if len(s.subs) == 0 {
					s.stopLocked()
					s.m.mu.Unlock()
					return nil
				}
				s.m.mu.Unlock()
				continue
			}
		} else {
			idle = false
		}

		endWall := s.ch.WallTime(cur.Ref.End).Add(delay)
		if next == nil && !now.Before(endWall.Add(-cfg.Lookahead)) {
			if seg, err := s.fetch(cur.Ref.Seq + 1); err == nil {
				next = seg
			}
		}
		// Every session wakes on the same grid of Pace steps of the wall
		// clock, so the process wakes once a step for all its channels
		// rather than once for each: waking an idle process (and the
		// thread the Go scheduler starts beside it) costs more than the
		// work of a batch.
		// The end of a segment waits for the grid too: its last batch is
		// no later than any other.
		wake := now.Truncate(cfg.Pace).Add(cfg.Pace)
		if n == 0 {
			wake = idleSince.Add(cfg.Grace)
			if endWall.Before(wake) {
				wake = endWall
			}
		}
		if !s.wait(wake) {
			return s.ctx.Err()
		}
	}
}

// behind reports whether the session fell more than two segments behind
// its timeline (the process stalled, or the clock jumped): it then starts
// again at the live edge.
func (s *session) behind(cur *Segment, now time.Time, delay time.Duration) bool {
	p := s.ch.MediaTime(now.Add(-delay))
	return p > cur.Ref.End+2*s.ch.Target()+2*(cur.Ref.End-cur.Ref.Start)
}

// fanout offers b to every viewer that had its first batch.
func (s *session) fanout(b Batch, jump bool) {
	b.Jump = jump
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for v := range s.subs {
		if v.fresh {
			if !b.Start {
				continue // it gets the segment so far on the next round
			}
			v.fresh = false
		}
		v.offer(b)
	}
}

// liveEdge returns the newest complete segment and the delay that plays its
// start now.
func (s *session) liveEdge(now time.Time) (*Segment, time.Duration, error) {
	refs, err := s.ch.Recent(s.ctx, now, 1)
	if err != nil {
		return nil, 0, err
	}
	if len(refs) == 0 {
		return nil, 0, fmt.Errorf("channel %s has no segment yet", s.id)
	}
	seg, err := s.fetch(refs[0].Seq)
	if err != nil {
		return nil, 0, err
	}
	return seg, now.Sub(s.ch.WallTime(seg.Ref.Start)), nil
}

// fetch reads segment seq from the engine, and publishes the live edge (so
// a rebuild of the log never replaces what the session may have sent).
func (s *session) fetch(seq int64) (*Segment, error) {
	if _, err := s.ch.Recent(s.ctx, s.m.clock.Now(), 1); err != nil {
		return nil, err
	}
	seg, ref, release, err := s.ch.Media(s.ctx, seq)
	if err != nil {
		return nil, err
	}
	defer release()
	return newSegment(ref, seg), nil
}

// wait sleeps until t on the Manager's clock or a poke; false when cancelled.
func (s *session) wait(t time.Time) bool {
	d := t.Sub(s.m.clock.Now())
	if d <= 0 {
		d = time.Millisecond
	}
	tm := s.m.clock.NewTimer(d)
	defer tm.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-tm.C():
		return true
	case <-s.kick:
		return true
	}
}
