// Package cmaftest provides a channel of arithmetic segments with real
// H.264/AAC media (the engine's slate) for the tests of the cmaf and dash
// outputs, and a clock that moves only when told. Test code only.
package cmaftest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"onair/engine"
	"onair/muxer/fmp4"
	"onair/outputs/cmaf"
	"onair/outputs/hls"
)

// Epoch is media time 0 of every fake channel: segment 0 starts then.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// At is the instant d after Epoch.
func At(d time.Duration) time.Time { return Epoch.Add(d) }

// Clock is a clock that moves only when Set.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sizes are the picture sizes the runs of a Channel alternate: run k (the
// segments with DiscSeq k) has Sizes[k%2].
var Sizes = [2][2]int{{320, 180}, {480, 272}}

// Channel is a cmaf.Channel whose segments last Dur (2 s) each from Epoch,
// a new discontinuity run (of the other picture size) every RunLen (5)
// segments; segments before RetainFrom are gone from its log.
type Channel struct {
	Name       string
	Clock      *Clock
	Dur        time.Duration
	RunLen     int64
	RetainFrom int64

	mu    sync.Mutex
	media map[int64]engine.Segment
}

// NewChannel returns a Channel id on clock.
func NewChannel(id string, clock *Clock) *Channel {
	return &Channel{Name: id, Clock: clock, Dur: 2 * time.Second, RunLen: 5, media: map[int64]engine.Segment{}}
}

// ID implements hls.Channel.
func (c *Channel) ID() string { return c.Name }

// Variant implements hls.Channel.
func (c *Channel) Variant() hls.Variant {
	return hls.Variant{Codecs: "avc1.42c00c,mp4a.40.2", Width: 320, Height: 180, FrameRate: 25, Bandwidth: 250_000}
}

// TargetDuration implements hls.Channel.
func (c *Channel) TargetDuration() time.Duration { return c.Dur }

// Info is segment seq's playlist entry.
func (c *Channel) Info(seq int64) hls.SegmentInfo {
	return hls.SegmentInfo{
		Seq:           seq,
		DiscSeq:       seq / c.RunLen,
		Discontinuity: seq > 0 && seq%c.RunLen == 0,
		Start:         Epoch.Add(time.Duration(seq) * c.Dur),
		Duration:      c.Dur,
		Title:         fmt.Sprintf("Programme %d", seq/c.RunLen),
	}
}

// Segments implements hls.Channel.
func (c *Channel) Segments(now time.Time, n int) ([]hls.SegmentInfo, error) {
	last := int64(now.Sub(Epoch)/c.Dur) - 1
	var segs []hls.SegmentInfo
	for seq := max(c.RetainFrom, last-int64(n)+1); seq <= last; seq++ {
		segs = append(segs, c.Info(seq))
	}
	return segs, nil
}

// SegmentEnd implements hls.Channel.
func (c *Channel) SegmentEnd(seq int64) (time.Time, bool) {
	if seq < c.RetainFrom {
		return time.Time{}, false
	}
	return c.Info(seq).End(), true
}

// check returns ErrGone or ErrNotYet for a segment that cannot be made now.
func (c *Channel) check(seq int64) error {
	if seq < c.RetainFrom {
		return fmt.Errorf("fake %s: segment %d: %w", c.Name, seq, hls.ErrGone)
	}
	if c.Info(seq).End().After(c.Clock.Now()) {
		return fmt.Errorf("fake %s: segment %d: %w", c.Name, seq, hls.ErrNotYet)
	}
	return nil
}

// Media returns segment seq's media: a slate of its run's picture size at
// 25 fps, starting at its media time.
func (c *Channel) Media(seq int64) (engine.Segment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.media[seq]; ok {
		return s, nil
	}
	size := Sizes[(seq/c.RunLen)%2]
	a := engine.Asset{Width: size[0], Height: size[1], FrameRateNum: 25, FrameRateDen: 1}
	it := engine.Item{Start: engine.DurationToTicks(time.Duration(seq) * c.Dur), Duration: engine.DurationToTicks(c.Dur), Cuts: []int64{0}}
	s, err := engine.Slate(a, &it, 0, []string{c.Name, fmt.Sprint(seq)})
	if err != nil {
		return engine.Segment{}, err
	}
	c.media[seq] = s
	return s, nil
}

// Segment implements hls.Channel; the MPEG-TS form is not made, only its
// checks: it returns the CMAF fragment.
func (c *Channel) Segment(ctx context.Context, seq int64) ([]byte, error) {
	return c.Fragment(ctx, seq)
}

// Fragment implements cmaf.Channel.
func (c *Channel) Fragment(_ context.Context, seq int64) ([]byte, error) {
	if err := c.check(seq); err != nil {
		return nil, err
	}
	s, err := c.Media(seq)
	if err != nil {
		return nil, err
	}
	var w fmp4.Writer
	return w.AppendSegment(nil, &s.Config, s.Units, seq)
}

// RunStart implements cmaf.Channel: the first segment of seq's run, or the
// first retained one.
func (c *Channel) RunStart(_ context.Context, seq int64) (int64, error) {
	if seq < c.RetainFrom {
		return 0, fmt.Errorf("fake %s: segment %d: %w", c.Name, seq, hls.ErrGone)
	}
	return max(seq-seq%c.RunLen, c.RetainFrom), nil
}

// Init implements cmaf.Channel.
func (c *Channel) Init(ctx context.Context, seq int64) (*fmp4.Init, error) {
	first, err := c.RunStart(ctx, seq)
	if err != nil {
		return nil, err
	}
	if first != seq {
		return nil, fmt.Errorf("fake %s: segment %d: %w", c.Name, seq, cmaf.ErrNotRunStart)
	}
	if err = c.check(seq); err != nil {
		return nil, err
	}
	s, err := c.Media(seq)
	if err != nil {
		return nil, err
	}
	return fmp4.NewInit(&s.Config, s.Units)
}

// Epoch implements cmaf.Channel.
func (c *Channel) Epoch() time.Time { return Epoch }

// Registry holds channels by id.
type Registry map[string]*Channel

// Channel implements cmaf.Registry.
func (r Registry) Channel(id string) (cmaf.Channel, bool) {
	c, ok := r[id]
	if !ok {
		return nil, false
	}
	return c, true
}

var (
	_ cmaf.Channel  = (*Channel)(nil)
	_ cmaf.Registry = Registry(nil)
)
