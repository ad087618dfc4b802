package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"onair/engine/source"
	"onair/muxer"
)

// ChannelConfig describes one channel to the engine.
type ChannelConfig struct {
	ID string
	// Number, Name, Group and Logo are what players and guides show.
	Number, Name, Group, Logo string
	Planner                   Planner
	Segmenting                Segmenting
	// Horizon is how far ahead of now the log is built. Defaults to 48h.
	Horizon time.Duration
	// Retention is how far back items stay in memory. Defaults to 1h.
	Retention time.Duration
}

// ChannelDeps are the shared parts a channel uses.
type ChannelDeps struct {
	Store   *LogStore
	Assets  Assets
	Sources Sources
	Clock   Clock
	Logger  *slog.Logger
}

// ErrNoSegment is returned for a sequence number the log does not hold.
var ErrNoSegment = errors.New("no such segment")

// SegmentRef locates one segment of a channel.
type SegmentRef struct {
	Seq     int64
	DiscSeq int64
	// Discontinuity is true for the first segment of an item that starts a new discontinuity sequence.
	Discontinuity bool
	// Start and End are channel media times in ticks.
	Start, End int64
	Item       Item
	// Index is the segment's index within the item.
	Index int
}

// ChannelError is a problem a channel ran into while playing.
type ChannelError struct {
	Time    time.Time `json:"time"`
	Seq     int64     `json:"seq"`
	Item    int64     `json:"item"`
	Message string    `json:"message"`
}

// maxErrors is how many recent errors a channel keeps.
const maxErrors = 20

// Channel plays one channel from its playout log. Everything it serves is a
// function of the log; the log is extended ahead of the clock by Maintain. One
// mutex guards the in-memory window of items and the error list.
type Channel struct {
	cfg   ChannelConfig
	deps  ChannelDeps
	epoch time.Time

	mu        sync.Mutex
	items     []Item // contiguous, ascending; from about now-Retention to the log's end
	errs      []ChannelError
	published int64 // published-until mark last written to the store
	slateSegs int64
}

// OpenChannel loads (creating on first use, with its epoch at the current
// second) a channel's log and extends it to the horizon.
func OpenChannel(ctx context.Context, cfg ChannelConfig, deps ChannelDeps) (*Channel, error) {
	if cfg.Horizon <= 0 {
		cfg.Horizon = 48 * time.Hour
	}
	if cfg.Retention <= 0 {
		cfg.Retention = time.Hour
	}
	cfg.Segmenting = cfg.Segmenting.withDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	now := deps.Clock.Now()
	st, ok, err := deps.Store.Channel(ctx, cfg.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		if cerr := deps.Store.CreateChannel(ctx, cfg.ID, now.Truncate(time.Second), now); cerr != nil {
			return nil, cerr
		}
		if st, _, err = deps.Store.Channel(ctx, cfg.ID); err != nil {
			return nil, err
		}
	}
	c := &Channel{cfg: cfg, deps: deps, epoch: st.Epoch, published: st.PublishedUntil}
	if err := c.Maintain(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ID is the channel's id.
func (c *Channel) ID() string { return c.cfg.ID }

// Config returns the channel's configuration.
func (c *Channel) Config() ChannelConfig { return c.cfg }

// Epoch is the wall time of media time 0.
func (c *Channel) Epoch() time.Time { return c.epoch }

// Target is the target segment duration in ticks.
func (c *Channel) Target() int64 { return c.cfg.Segmenting.Target }

// MediaTime converts a wall time to the channel's media time.
func (c *Channel) MediaTime(t time.Time) int64 { return DurationToTicks(t.Sub(c.epoch)) }

// WallTime converts a channel media time to wall time.
func (c *Channel) WallTime(ticks int64) time.Time { return c.epoch.Add(TicksToDuration(ticks)) }

// Maintain extends the log to now+Horizon when it reaches less than half that
// far, and drops items older than Retention from memory.
func (c *Channel) Maintain(ctx context.Context) error {
	now := c.MediaTime(c.deps.Clock.Now())
	c.mu.Lock()
	var end int64 = -1
	if n := len(c.items); n > 0 {
		end = c.items[n-1].End()
	}
	c.mu.Unlock()
	horizon := DurationToTicks(c.cfg.Horizon)
	if end < 0 || end < now+horizon/2 {
		_, err := Extend(ctx, c.deps.Store, c.cfg.ID, c.cfg.Planner, c.deps.Assets, c.cfg.Segmenting, now+horizon, func(e Entry, err error) {
			c.deps.Logger.Warn("skipped a playlist entry", "channel", c.cfg.ID, "asset", e.AssetID, "err", err)
		})
		if err != nil {
			c.addError(ChannelError{Time: c.deps.Clock.Now(), Seq: -1, Item: -1, Message: err.Error()})
			if end < 0 {
				// Nothing at all to play yet: the channel cannot start.
				last, ok, lerr := c.deps.Store.Last(ctx, c.cfg.ID)
				if lerr != nil || !ok || last.End() <= now {
					return fmt.Errorf("channel %s: %w", c.cfg.ID, err)
				}
			}
			c.deps.Logger.Error("extending the playout log", "channel", c.cfg.ID, "err", err)
		}
	}
	keepFrom := now - DurationToTicks(c.cfg.Retention)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) == 0 {
		items, err := c.deps.Store.ItemsFrom(ctx, c.cfg.ID, keepFrom, 1<<30)
		if err != nil {
			return err
		}
		c.items = items
		return nil
	}
	last := c.items[len(c.items)-1]
	more, err := c.deps.Store.ItemsFrom(ctx, c.cfg.ID, last.End(), 1<<30)
	if err != nil {
		return err
	}
	c.items = append(c.items, more...)
	i := sort.Search(len(c.items), func(i int) bool { return c.items[i].End() > keepFrom })
	if i > 0 {
		c.items = append([]Item(nil), c.items[i:]...)
	}
	return nil
}

// itemAt returns the item on air at media time t.
func (c *Channel) itemAt(t int64) (Item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.items), func(i int) bool { return c.items[i].End() > t })
	if i == len(c.items) || c.items[i].Start > t {
		return Item{}, false
	}
	return c.items[i], true
}

// itemBySeq returns the item holding segment seq, from memory or the store.
func (c *Channel) itemBySeq(ctx context.Context, seq int64) (Item, bool, error) {
	c.mu.Lock()
	i := sort.Search(len(c.items), func(i int) bool { return c.items[i].Seq0+c.items[i].Segments() > seq })
	if i < len(c.items) && c.items[i].Seq0 <= seq {
		it := c.items[i]
		c.mu.Unlock()
		return it, true, nil
	}
	c.mu.Unlock()
	return c.deps.Store.ItemBySeq(ctx, c.cfg.ID, seq)
}

func refOf(it Item, i int) SegmentRef {
	from, to := it.SegmentRange(i)
	return SegmentRef{
		Seq: it.Seq0 + int64(i), DiscSeq: it.Disc0, Discontinuity: i == 0 && it.Discontinuity,
		Start: it.Start + from, End: it.Start + to, Item: it, Index: i,
	}
}

// Segment returns the reference of segment seq.
func (c *Channel) Segment(ctx context.Context, seq int64) (SegmentRef, error) {
	it, ok, err := c.itemBySeq(ctx, seq)
	if err != nil {
		return SegmentRef{}, err
	}
	if !ok || seq < it.Seq0 || seq >= it.Seq0+it.Segments() {
		return SegmentRef{}, fmt.Errorf("channel %s: segment %d: %w", c.cfg.ID, seq, ErrNoSegment)
	}
	return refOf(it, int(seq-it.Seq0)), nil
}

// Recent returns up to n segments whose end is at or before now, oldest
// first. It also raises the published-until mark to the newest one's end.
func (c *Channel) Recent(ctx context.Context, now time.Time, n int) ([]SegmentRef, error) {
	t := c.MediaTime(now)
	c.mu.Lock()
	items := c.items
	c.mu.Unlock()
	// The last segment that ends by t.
	i := sort.Search(len(items), func(i int) bool { return items[i].End() > t })
	var refs []SegmentRef
	for ; i >= 0 && len(refs) < n; i-- {
		if i >= len(items) {
			continue
		}
		it := items[i]
		for j := len(it.Cuts) - 1; j >= 0 && len(refs) < n; j-- {
			r := refOf(it, j)
			if r.End <= t {
				refs = append(refs, r)
			}
		}
	}
	for l, r := 0, len(refs)-1; l < r; l, r = l+1, r-1 {
		refs[l], refs[r] = refs[r], refs[l]
	}
	if len(refs) > 0 {
		c.publish(ctx, refs[len(refs)-1].End+2*c.cfg.Segmenting.Target)
	}
	return refs, nil
}

// publishStep is how far the published mark must advance before it is written again.
const publishStep = 30 * Hz

func (c *Channel) publish(ctx context.Context, until int64) {
	c.mu.Lock()
	if until < c.published+publishStep {
		c.mu.Unlock()
		return
	}
	c.published = until
	c.mu.Unlock()
	if err := c.deps.Store.SetPublished(ctx, c.cfg.ID, until); err != nil {
		c.deps.Logger.Warn("recording the published mark", "channel", c.cfg.ID, "err", err)
	}
}

// Render returns the MPEG-TS bytes of segment seq. A source that cannot be
// read gives the slate for the segment's time and an error in the channel's
// status; the bytes are still a valid segment.
func (c *Channel) Render(ctx context.Context, seq int64) ([]byte, error) {
	ref, err := c.Segment(ctx, seq)
	if err != nil {
		return nil, err
	}
	seg, err := c.splice(ctx, ref)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.addError(ChannelError{Time: c.deps.Clock.Now(), Seq: seq, Item: ref.Item.Index, Message: err.Error()})
		c.deps.Logger.Warn("playing the slate", "channel", c.cfg.ID, "seq", seq, "item", ref.Item.Index, "err", err)
		// The slate takes the picture size and rate the item was scheduled with.
		var a Asset
		a.Width, a.Height, a.FrameRateNum, a.FrameRateDen = paramsPicture(ref.Item.Params)
		seg, err = Slate(a, &ref.Item, ref.Index, []string{"PLEASE STAND BY", c.cfg.ID})
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.slateSegs++
		c.mu.Unlock()
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if _, err := muxer.WriteSegment(&buf, seg.Config, seg.Units); err != nil {
		return nil, fmt.Errorf("channel %s: segment %d: %w", c.cfg.ID, seq, err)
	}
	return buf.Bytes(), nil
}

func (c *Channel) splice(ctx context.Context, ref SegmentRef) (Segment, error) {
	if ref.Item.AssetID == 0 {
		return Segment{}, fmt.Errorf("item %d has no asset", ref.Item.Index)
	}
	a, err := c.deps.Assets.Asset(ctx, ref.Item.AssetID)
	if err != nil {
		return Segment{}, err
	}
	if a.Params != ref.Item.Params {
		return Segment{}, fmt.Errorf("%s changed since it was scheduled: stream parameters %s, scheduled with %s", a.Path, a.Params, ref.Item.Params)
	}
	return Splice(ctx, c.deps.Sources, a, &ref.Item, ref.Index)
}

func (c *Channel) addError(e ChannelError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, e)
	if len(c.errs) > maxErrors {
		c.errs = c.errs[len(c.errs)-maxErrors:]
	}
}

// Status is what a channel is doing at a moment.
type Status struct {
	ID      string         `json:"id"`
	Number  string         `json:"number"`
	Name    string         `json:"name"`
	Group   string         `json:"group,omitempty"`
	Now     *Playing       `json:"now,omitempty"`
	Next    *Playing       `json:"next,omitempty"`
	Errors  []ChannelError `json:"errors"`
	Slate   int64          `json:"slate_segments"`
	LogEnds time.Time      `json:"log_ends"`
}

// Playing is an item placed in wall time.
type Playing struct {
	Index    int64     `json:"index"`
	Kind     Kind      `json:"kind"`
	Title    string    `json:"title"`
	Asset    string    `json:"asset"`
	AssetID  int64     `json:"asset_id"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Offset   float64   `json:"offset_seconds,omitempty"`
	EPGGroup string    `json:"epg_group"`
}

func (c *Channel) playing(it Item) *Playing {
	return &Playing{
		Index: it.Index, Kind: it.Kind, Title: it.Title, Asset: it.AssetPath, AssetID: it.AssetID,
		Start: c.WallTime(it.Start), End: c.WallTime(it.End()), EPGGroup: it.EPGGroup,
	}
}

// Status reports the item on air at now, the next one, and recent errors.
func (c *Channel) Status(now time.Time) Status {
	t := c.MediaTime(now)
	st := Status{ID: c.cfg.ID, Number: c.cfg.Number, Name: c.cfg.Name, Group: c.cfg.Group, Errors: []ChannelError{}}
	if it, ok := c.itemAt(t); ok {
		st.Now = c.playing(it)
		st.Now.Offset = TicksToDuration(t - it.Start).Seconds()
		if nx, ok := c.itemAt(it.End()); ok {
			st.Next = c.playing(nx)
		}
	}
	c.mu.Lock()
	st.Errors = append(st.Errors, c.errs...)
	st.Slate = c.slateSegs
	if n := len(c.items); n > 0 {
		st.LogEnds = c.WallTime(c.items[n-1].End())
	}
	c.mu.Unlock()
	return st
}

// Upcoming returns the items that end after from, up to until, in order.
func (c *Channel) Upcoming(from, until time.Time) []Playing {
	a, b := c.MediaTime(from), c.MediaTime(until)
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Playing
	for _, it := range c.items {
		if it.End() <= a {
			continue
		}
		if it.Start >= b {
			break
		}
		out = append(out, *c.playing(it))
	}
	return out
}

// StreamInfo describes the stream on air at now (or the first item of the
// log): its track parameters as the source reader sees them, and its asset.
func (c *Channel) StreamInfo(ctx context.Context, now time.Time) (Asset, source.Info, error) {
	it, ok := c.itemAt(c.MediaTime(now))
	if !ok {
		c.mu.Lock()
		if len(c.items) == 0 {
			c.mu.Unlock()
			return Asset{}, source.Info{}, fmt.Errorf("channel %s: empty log", c.cfg.ID)
		}
		it = c.items[0]
		c.mu.Unlock()
	}
	a, err := c.deps.Assets.Asset(ctx, it.AssetID)
	if err != nil {
		return a, source.Info{}, err
	}
	r, err := c.deps.Sources.Open(a.Path, a.Container, a.Index)
	if err != nil {
		return a, source.Info{}, err
	}
	defer r.Close()
	return a, r.Info(), nil
}
