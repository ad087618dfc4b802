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
	// Version identifies the plan (e.g. a hash of the channel file); a new
	// version is applied with Replan.
	Version    string
	Planner    Planner
	Segmenting Segmenting
	// Horizon is how far ahead of now Maintain builds the log. Defaults to 48h.
	Horizon time.Duration
	// OpenHorizon is how far ahead OpenChannel builds the log before it
	// returns, so many channels start fast; Maintain builds the rest. Defaults to 10m.
	OpenHorizon time.Duration
	// Retention is how far back items stay in memory. Defaults to 10m.
	Retention time.Duration
	// Ahead is how far ahead items are kept in memory; later ones are read
	// from the store when needed. Defaults to 30m.
	Ahead time.Duration
	// History is how long items stay in the store after they ended. Defaults to 7 days.
	History time.Duration
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

	// logMu serializes what writes the log: maintenance, replanning, overrides.
	logMu sync.Mutex

	mu           sync.Mutex
	ov           *activeOverride // nil without an override
	items        []Item          // contiguous, ascending; from about now-Retention to now+Ahead
	logEnd       int64           // end of the stored log, -1 before it is known
	interned     map[string]string
	errs         []ChannelError
	published    int64 // published-until mark last written to the store
	publishedMem int64 // published-until mark of the requests so far
	slateSegs    int64
	slateTicks   int64 // 90 kHz time of the slate played in place of failed items
	itemsFailed  int64 // segments of items that failed to play (slate instead)
	logFailures  int64 // failed extensions of the log (e.g. a full disk)
}

// OpenChannel loads (creating on first use, with its epoch at the current
// second) a channel's log and extends it to the horizon.
func OpenChannel(ctx context.Context, cfg ChannelConfig, deps ChannelDeps) (*Channel, error) {
	if cfg.Horizon <= 0 {
		cfg.Horizon = 48 * time.Hour
	}
	if cfg.OpenHorizon <= 0 {
		cfg.OpenHorizon = 10 * time.Minute
	}
	cfg.OpenHorizon = min(cfg.OpenHorizon, cfg.Horizon)
	if cfg.Retention <= 0 {
		cfg.Retention = 10 * time.Minute
	}
	if cfg.Ahead <= 0 {
		cfg.Ahead = 30 * time.Minute
	}
	if cfg.History <= 0 {
		cfg.History = 7 * 24 * time.Hour
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
	c := &Channel{cfg: cfg, deps: deps, epoch: st.Epoch, published: st.PublishedUntil, logEnd: -1}
	if err := c.loadOverride(ctx); err != nil {
		return nil, fmt.Errorf("channel %s: override: %w", cfg.ID, err)
	}
	if err := c.maintain(ctx, cfg.OpenHorizon, false); err != nil {
		return nil, err
	}
	return c, nil
}

// ID is the channel's id.
func (c *Channel) ID() string { return c.cfg.ID }

// Config returns the channel's configuration.
func (c *Channel) Config() ChannelConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// SetPlanner replaces the planner used to extend the log (after a library
// rescan), keeping the channel's state and status. The log already built
// stays; see Replan.
func (c *Channel) SetPlanner(p Planner) {
	c.mu.Lock()
	c.cfg.Planner = p
	c.mu.Unlock()
}

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
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.storePublished(ctx)
	if err := c.forgetEndedOverride(ctx); err != nil {
		c.deps.Logger.Warn("forgetting an ended override", "channel", c.cfg.ID, "err", err)
	}
	before := c.MediaTime(c.deps.Clock.Now()) - DurationToTicks(c.cfg.History)
	if before > 0 {
		if _, err := c.deps.Store.Prune(ctx, c.cfg.ID, before); err != nil {
			c.deps.Logger.Warn("pruning the playout log", "channel", c.cfg.ID, "err", err)
		}
	}
	return c.maintain(ctx, c.cfg.Horizon, true)
}

// maintain extends the log to horizonD ahead when it reaches less than half
// that far; with load, it also refreshes the items in memory (OpenChannel
// leaves that to the first request, so thousands of channels open fast).
func (c *Channel) maintain(ctx context.Context, horizonD time.Duration, load bool) error {
	now := c.MediaTime(c.deps.Clock.Now())
	c.mu.Lock()
	end := c.logEnd
	c.mu.Unlock()
	horizon := DurationToTicks(horizonD)
	if end < 0 {
		last, ok, err := c.deps.Store.Last(ctx, c.cfg.ID)
		if err != nil {
			return err
		}
		if ok {
			end = last.End()
		}
	}
	c.mu.Lock()
	ov := c.ov
	c.mu.Unlock()
	extend := end < 0 || end < now+horizon/2 || (ov != nil && !ov.rec.Resumed && ov.rec.End >= 0 && end >= ov.rec.End-overrideTail)
	if extend {
		err := c.extend(ctx, now+horizon)
		if err != nil {
			c.addError(ChannelError{Time: c.deps.Clock.Now(), Seq: -1, Item: -1, Message: err.Error()})
			c.mu.Lock()
			c.logFailures++
			c.mu.Unlock()
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
	if !load {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !extend {
			c.logEnd = end
			return nil
		}
		last, ok, err := c.deps.Store.Last(ctx, c.cfg.ID)
		if err != nil {
			return err
		}
		if ok {
			c.logEnd = last.End()
		}
		return nil
	}
	return c.refresh(ctx, now)
}

// extend extends the log to media time until: with the channel's planner, or
// its override's until the override ends and then the schedule it replaced.
func (c *Channel) extend(ctx context.Context, until int64) error {
	skipped := func(e Entry, err error) {
		c.deps.Logger.Warn("skipped a playlist entry", "channel", c.cfg.ID, "asset", e.AssetID, "err", err)
	}
	c.mu.Lock()
	planner, ov := c.cfg.Planner, c.ov
	c.mu.Unlock()
	if ov != nil && !ov.rec.Resumed {
		lim := until
		if ov.rec.End >= 0 {
			lim = min(until, ov.rec.End-overrideTail)
		}
		if _, err := Extend(ctx, c.deps.Store, c.cfg.ID, &overridePlanner{c: c, ov: ov}, c.deps.Assets, c.cfg.Segmenting, lim, skipped); err != nil {
			return err
		}
		if ov.rec.End < 0 {
			return nil
		}
		last, ok, err := c.deps.Store.Last(ctx, c.cfg.ID)
		if err != nil {
			return err
		}
		if ok && last.End() < ov.rec.End-overrideTail {
			return nil // the override goes on past until
		}
		if err := c.resumeOverride(ctx, ov); err != nil {
			return fmt.Errorf("resuming after the override: %w", err)
		}
		c.deps.Logger.Info("override ended; the schedule resumes", "channel", c.cfg.ID, "resume", ov.rec.Resume)
	}
	_, err := Extend(ctx, c.deps.Store, c.cfg.ID, planner, c.deps.Assets, c.cfg.Segmenting, until, skipped)
	return err
}

// ensure loads the items around media time t into memory when they are not.
func (c *Channel) ensure(ctx context.Context, t int64) {
	c.mu.Lock()
	ok := len(c.items) > 0 && c.items[0].Start <= t && c.items[len(c.items)-1].End() > t
	c.mu.Unlock()
	if !ok {
		if err := c.refresh(ctx, t); err != nil {
			c.deps.Logger.Warn("loading the playout log", "channel", c.cfg.ID, "err", err)
		}
	}
}

// refresh keeps the items of [t-Retention, t+Ahead] in memory, reading newer
// ones from the store, and records where the log ends.
func (c *Channel) refresh(ctx context.Context, t int64) error {
	return c.refreshBack(ctx, t, DurationToTicks(c.cfg.Retention))
}

// refreshBack is refresh keeping back ticks before t.
func (c *Channel) refreshBack(ctx context.Context, t, back int64) error {
	keepFrom := t - max(back, DurationToTicks(c.cfg.Retention))
	until := t + DurationToTicks(c.cfg.Ahead)
	c.mu.Lock()
	defer c.mu.Unlock()
	from := keepFrom
	if n := len(c.items); n > 0 && c.items[n-1].End() > keepFrom && c.items[0].Start <= keepFrom {
		from = c.items[n-1].End()
	} else {
		c.items = nil
	}
	for from <= until {
		more, err := c.deps.Store.ItemsFrom(ctx, c.cfg.ID, from, 256)
		if err != nil {
			return err
		}
		for i := range more {
			more[i].Params = c.intern(more[i].Params)
		}
		c.items = append(c.items, more...)
		if len(more) < 256 {
			break
		}
		from = more[len(more)-1].End()
	}
	i := sort.Search(len(c.items), func(i int) bool { return c.items[i].End() > keepFrom })
	if i > 0 {
		c.items = append([]Item(nil), c.items[i:]...)
	}
	if last, ok, err := c.deps.Store.Last(ctx, c.cfg.ID); err == nil && ok {
		c.logEnd = last.End()
	}
	return nil
}

// intern returns a shared copy of a parameter key (items repeat a few).
func (c *Channel) intern(s string) string {
	if v, ok := c.interned[s]; ok {
		return v
	}
	if c.interned == nil || len(c.interned) > 64 {
		c.interned = map[string]string{}
	}
	c.interned[s] = s
	return s
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
	back := int64(n+1) * (c.cfg.Segmenting.Target + c.cfg.Segmenting.Slack)
	c.mu.Lock()
	stale := len(c.items) == 0 || c.items[len(c.items)-1].End() < t+2*c.cfg.Segmenting.Target || (c.items[0].Start > t-back && c.items[0].Index > 0)
	c.mu.Unlock()
	if stale {
		if err := c.refreshBack(ctx, t, back); err != nil {
			return nil, err
		}
	}
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
		// Only segments that have ended are ever listed or served: the
		// newest one's end is as far as any client can have seen.
		c.publish(ctx, refs[len(refs)-1].End)
	}
	return refs, nil
}

// publishStep is how far the published mark must advance before it is written again.
const publishStep = 30 * Hz

// publish raises the published mark in memory; Maintain stores it, so no
// request waits on a database write.
func (c *Channel) publish(_ context.Context, until int64) {
	c.mu.Lock()
	if until > c.publishedMem {
		c.publishedMem = until
	}
	c.mu.Unlock()
}

// storePublished writes the published mark when it moved by publishStep.
func (c *Channel) storePublished(ctx context.Context) {
	c.mu.Lock()
	until := c.publishedMem
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
	seg, _, release, err := c.Media(ctx, seq)
	if err != nil {
		return nil, err
	}
	defer release()
	var buf bytes.Buffer
	buf.Grow(segmentSizeHint(seg.Units))
	if _, err := muxer.WriteSegment(&buf, seg.Config, seg.Units); err != nil {
		return nil, fmt.Errorf("channel %s: segment %d: %w", c.cfg.ID, seq, err)
	}
	return buf.Bytes(), nil
}

// Media returns the access units of segment seq on the channel clock, for
// outputs that package them their own way (MPEG-TS, CMAF, RTP): the spliced
// source, or the slate when the source cannot be read (with an error in the
// channel's status). The units alias memory that release gives back; call it
// once they have been written.
func (c *Channel) Media(ctx context.Context, seq int64) (seg Segment, ref SegmentRef, release func(), err error) {
	ref, err = c.Segment(ctx, seq)
	if err != nil {
		return Segment{}, ref, nil, err
	}
	sc := GetScratch()
	release = func() { PutScratch(sc) }
	if ref.Item.AssetID == 0 {
		// A planned slate: the picture it was placed with, and no error.
		var a Asset
		a.Width, a.Height, a.FrameRateNum, a.FrameRateDen = paramsPicture(ref.Item.Params)
		seg, err = Slate(a, &ref.Item, ref.Index, []string{c.cfg.Name, ref.Item.Title})
	} else {
		seg, err = c.splice(ctx, ref, sc)
	}
	if err != nil && ref.Item.AssetID != 0 {
		if ctx.Err() != nil {
			release()
			return Segment{}, ref, nil, ctx.Err()
		}
		c.addError(ChannelError{Time: c.deps.Clock.Now(), Seq: seq, Item: ref.Item.Index, Message: err.Error()})
		c.deps.Logger.Warn("playing the slate", "channel", c.cfg.ID, "seq", seq, "item", ref.Item.Index, "err", err)
		// The slate takes the picture size and rate the item was scheduled with.
		var a Asset
		a.Width, a.Height, a.FrameRateNum, a.FrameRateDen = paramsPicture(ref.Item.Params)
		seg, err = Slate(a, &ref.Item, ref.Index, []string{"PLEASE STAND BY", c.cfg.ID})
		c.mu.Lock()
		c.itemsFailed++
		if err == nil {
			c.slateSegs++
			c.slateTicks += ref.End - ref.Start
		}
		c.mu.Unlock()
	}
	if err != nil {
		release()
		return Segment{}, ref, nil, err
	}
	return seg, ref, release, nil
}

func (c *Channel) splice(ctx context.Context, ref SegmentRef, sc *Scratch) (Segment, error) {
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
	return SpliceWith(ctx, c.deps.Sources, a, &ref.Item, ref.Index, sc)
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
	ID     string         `json:"id"`
	Number string         `json:"number"`
	Name   string         `json:"name"`
	Group  string         `json:"group,omitempty"`
	Now    *Playing       `json:"now,omitempty"`
	Next   *Playing       `json:"next,omitempty"`
	Errors []ChannelError `json:"errors"`
	Slate  int64          `json:"slate_segments"`
	// SlateSeconds is how long the slate played in place of failed items.
	SlateSeconds float64 `json:"slate_seconds"`
	// ItemsFailed counts segments of items that failed to play (counted once
	// per generation: a cached segment is not counted again).
	ItemsFailed int64 `json:"items_failed"`
	// LogFailures counts failed extensions of the playout log (a full disk,
	// a database error); the channel plays on from what the log holds.
	LogFailures int64     `json:"log_failures"`
	LogEnds     time.Time `json:"log_ends"`
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
	c.ensure(context.Background(), t)
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
	st.SlateSeconds = TicksToDuration(c.slateTicks).Seconds()
	st.ItemsFailed = c.itemsFailed
	st.LogFailures = c.logFailures
	if n := len(c.items); n > 0 {
		st.LogEnds = c.WallTime(c.items[n-1].End())
	}
	c.mu.Unlock()
	return st
}

// Upcoming returns the items that end after from and start before until, in
// order, from the store.
func (c *Channel) Upcoming(ctx context.Context, from, until time.Time) ([]Playing, error) {
	a, b := c.MediaTime(from), c.MediaTime(until)
	var out []Playing
	for {
		items, err := c.deps.Store.ItemsFrom(ctx, c.cfg.ID, a, 512)
		if err != nil {
			return out, err
		}
		for _, it := range items {
			if it.Start >= b {
				return out, nil
			}
			out = append(out, *c.playing(it))
		}
		if len(items) < 512 {
			return out, nil
		}
		a = items[len(items)-1].End()
	}
}

// StreamInfo describes the stream on air at now (or the first item in
// memory): its track parameters as the source reader sees them, and its asset.
func (c *Channel) StreamInfo(ctx context.Context, now time.Time) (Asset, source.Info, error) {
	c.ensure(ctx, c.MediaTime(now))
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

// segmentSizeHint estimates a segment's MPEG-TS size from its units (payload
// plus about 4% of packet and PES headers), so the buffer grows once.
func segmentSizeHint(units []muxer.Unit) int {
	n := 0
	for _, u := range units {
		for _, d := range u.Data {
			n += len(d) + 4
		}
		n += 40
	}
	return n + n/24 + 64<<10
}

// Replan switches to planner p and rebuilds the log after what clients may
// have seen: everything up to the first planner-step boundary after the
// published mark (plus two target durations) stays, the rest is planned again
// with p. The published past is never rewritten.
func (c *Channel) Replan(ctx context.Context, p Planner, version string) error {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.mu.Lock()
	c.cfg.Planner = p
	c.cfg.Version = version
	mark := max(c.published, c.publishedMem)
	c.mu.Unlock()
	now := c.MediaTime(c.deps.Clock.Now())
	mark = max(mark, now) + 2*c.cfg.Segmenting.Target
	n, err := c.deps.Store.Rebuild(ctx, c.cfg.ID, mark)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	c.mu.Lock()
	c.items = nil
	c.logEnd = -1
	c.mu.Unlock()
	return c.maintain(ctx, c.cfg.OpenHorizon, true)
}
