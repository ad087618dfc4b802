package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// OverrideRequest asks a channel to play something else now: an asset or
// another channel, for a duration or until cleared.
type OverrideRequest struct {
	// AssetID, or Channel (another channel's id): exactly one is set.
	AssetID int64
	Channel string
	// Duration in ticks; 0 plays until ClearOverride.
	Duration int64
	Resume   Resume
	Title    string
}

// OverrideStatus describes a channel's override.
type OverrideStatus struct {
	Start time.Time `json:"start"`
	// End is zero for an override that lasts until cleared.
	End    time.Time `json:"end,omitzero"`
	Source string    `json:"source"`
	Title  string    `json:"title,omitempty"`
	Resume Resume    `json:"resume"`
}

// ErrNoOverride is returned by ClearOverride when the channel has none.
var ErrNoOverride = errors.New("the channel has no override")

// activeOverride is a channel's override in memory.
type activeOverride struct {
	rec     OverrideRecord
	removed []removedItem
}

// overrideTail is how close to its end an override's items must come before
// the schedule resumes: less than that is not worth an item of its own.
const overrideTail = Hz / 10

// StartOverride starts req at the next segment boundary after now (and after
// everything already published): the item on air is cut there at its
// keyframe and the log after it is rebuilt with the override, then the
// schedule (joined in progress or caught up). It returns when the override
// is in the log.
func (c *Channel) StartOverride(ctx context.Context, req OverrideRequest) (OverrideStatus, error) {
	if (req.AssetID == 0) == (req.Channel == "") {
		return OverrideStatus{}, errors.New("an override plays an asset or a channel")
	}
	if req.Channel == c.cfg.ID {
		return OverrideStatus{}, errors.New("a channel cannot override itself with itself")
	}
	if req.Duration < 0 {
		return OverrideStatus{}, errors.New("an override's duration cannot be negative")
	}
	switch req.Resume {
	case "":
		req.Resume = ResumeJoin
	case ResumeJoin, ResumeCatchUp:
	default:
		return OverrideStatus{}, fmt.Errorf("unknown resume mode %q (join or catchup)", req.Resume)
	}
	rec := OverrideRecord{Resume: req.Resume, Title: req.Title, Requested: c.deps.Clock.Now().UnixNano(), End: -1}
	if req.AssetID != 0 {
		a, err := c.deps.Assets.Asset(ctx, req.AssetID)
		if err != nil {
			return OverrideStatus{}, err
		}
		if rec.Title == "" {
			rec.Title = a.Path
		}
		rec.SourceKind, rec.SourceRef = "asset", strconv.FormatInt(req.AssetID, 10)
	} else {
		_, found, cerr := c.deps.Store.Channel(ctx, req.Channel)
		if cerr != nil {
			return OverrideStatus{}, fmt.Errorf("no channel %q to relay: %w", req.Channel, cerr)
		}
		if !found {
			return OverrideStatus{}, fmt.Errorf("no channel %q to relay", req.Channel)
		}
		if rec.Title == "" {
			rec.Title = "channel " + req.Channel
		}
		rec.SourceKind, rec.SourceRef = "channel", req.Channel
	}

	c.logMu.Lock()
	defer c.logMu.Unlock()
	if err := c.forgetEndedOverride(ctx); err != nil {
		return OverrideStatus{}, err
	}
	c.mu.Lock()
	busy := c.ov != nil
	c.mu.Unlock()
	if busy {
		return OverrideStatus{}, fmt.Errorf("channel %s: %w (clear it first)", c.cfg.ID, ErrOverrideActive)
	}
	at, err := c.nextBoundary(ctx)
	if err != nil {
		return OverrideStatus{}, err
	}
	rec.Start = at
	if req.Duration > 0 {
		rec.End = at + req.Duration
	}
	if err = c.deps.Store.startOverride(ctx, c.cfg.ID, rec); err != nil {
		return OverrideStatus{}, err
	}
	st, err := c.afterOverrideChange(ctx)
	if err != nil {
		return st, err
	}
	c.deps.Logger.Info("override started", "channel", c.cfg.ID, "source", rec.SourceKind+" "+rec.SourceRef, "start", st.Start, "end", st.End)
	return st, nil
}

// ClearOverride ends the channel's override at the next segment boundary
// after now; the schedule resumes there (resume, when set, replaces the
// mode the override was started with).
func (c *Channel) ClearOverride(ctx context.Context, resume Resume) (OverrideStatus, error) {
	switch resume {
	case "", ResumeJoin, ResumeCatchUp:
	default:
		return OverrideStatus{}, fmt.Errorf("unknown resume mode %q (join or catchup)", resume)
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if err := c.forgetEndedOverride(ctx); err != nil {
		return OverrideStatus{}, err
	}
	c.mu.Lock()
	ov := c.ov
	c.mu.Unlock()
	if ov == nil {
		return OverrideStatus{}, ErrNoOverride
	}
	at, err := c.nextBoundary(ctx)
	if err != nil {
		return OverrideStatus{}, err
	}
	if at < ov.rec.Start {
		at = ov.rec.Start
	}
	if ov.rec.End < 0 || at < ov.rec.End {
		// Everything from at on goes (the rest of the override, and the
		// schedule already resumed after it); the schedule resumes at at.
		if err = c.deps.Store.endOverrideAt(ctx, c.cfg.ID, at, resume); err != nil {
			return OverrideStatus{}, err
		}
	} else if resume != "" {
		if err = c.deps.Store.setOverrideResume(ctx, c.cfg.ID, resume); err != nil {
			return OverrideStatus{}, err
		}
	}
	st, err := c.afterOverrideChange(ctx)
	if err != nil {
		return st, err
	}
	c.deps.Logger.Info("override cleared", "channel", c.cfg.ID, "end", st.End)
	return st, nil
}

// afterOverrideChange reloads the override the store now holds and extends
// the log from where the change left it. c.logMu is held.
func (c *Channel) afterOverrideChange(ctx context.Context) (OverrideStatus, error) {
	if err := c.loadOverride(ctx); err != nil {
		return OverrideStatus{}, err
	}
	st, _ := c.Override()
	c.dropMemory()
	return st, c.maintain(ctx, c.cfg.OpenHorizon, true)
}

// Override returns the channel's override, while it is on air or to come.
func (c *Channel) Override() (OverrideStatus, bool) {
	now := c.MediaTime(c.deps.Clock.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ov == nil || (c.ov.rec.End >= 0 && now >= c.ov.rec.End) {
		return OverrideStatus{}, false
	}
	r := c.ov.rec
	st := OverrideStatus{Start: c.WallTime(r.Start), Source: r.SourceKind + " " + r.SourceRef, Title: r.Title, Resume: r.Resume}
	if r.End >= 0 {
		st.End = c.WallTime(r.End)
	}
	return st, true
}

// forgetEndedOverride forgets an override whose end has passed. c.logMu is held.
func (c *Channel) forgetEndedOverride(ctx context.Context) error {
	c.mu.Lock()
	ov := c.ov
	c.mu.Unlock()
	if ov == nil || !ov.rec.Resumed || ov.rec.End < 0 || c.MediaTime(c.deps.Clock.Now()) < ov.rec.End {
		return nil
	}
	if err := c.deps.Store.deleteOverride(ctx, c.cfg.ID); err != nil {
		return err
	}
	c.mu.Lock()
	if c.ov == ov {
		c.ov = nil
	}
	c.mu.Unlock()
	return nil
}

// loadOverride reads the channel's override from the store into memory.
func (c *Channel) loadOverride(ctx context.Context) error {
	rec, removed, ok, err := c.deps.Store.override(ctx, c.cfg.ID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.ov = nil
		return nil
	}
	c.ov = &activeOverride{rec: rec, removed: removed}
	return nil
}

func (c *Channel) dropMemory() {
	c.mu.Lock()
	c.items = nil
	c.logEnd = -1
	c.mu.Unlock()
}

// nextBoundary returns the first segment boundary after now and at or after
// the published mark.
func (c *Channel) nextBoundary(ctx context.Context) (int64, error) {
	now := c.MediaTime(c.deps.Clock.Now())
	c.mu.Lock()
	from := max(now+1, c.published, c.publishedMem)
	c.mu.Unlock()
	items, err := c.deps.Store.ItemsFrom(ctx, c.cfg.ID, from, 1)
	if err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, fmt.Errorf("channel %s: the log does not reach %s", c.cfg.ID, c.WallTime(from).Format(time.RFC3339))
	}
	it := items[0]
	for _, cut := range it.Cuts {
		if it.Start+cut >= from {
			return it.Start + cut, nil
		}
	}
	return it.End(), nil
}

// overridePlanner plays a channel's override in place of its planner.
type overridePlanner struct {
	c  *Channel
	ov *activeOverride
}

// Next implements Planner: the next part of the override up to its end. The
// planner state is left as it is: after the override come the items it
// replaced, and after them the channel's planner with that state.
func (p *overridePlanner) Next(ctx context.Context, at Cursor) ([]Entry, string, error) {
	r := p.ov.rec
	remaining := r.End - at.End
	group := fmt.Sprintf("override-%d", r.Requested/int64(time.Second))
	slate := func(d int64) ([]Entry, string, error) {
		return []Entry{{Kind: KindOverride, Title: r.Title, EPGGroup: group, Out: d}}, at.State, nil
	}
	switch r.SourceKind {
	case "asset":
		id, err := strconv.ParseInt(r.SourceRef, 10, 64)
		if err != nil {
			return nil, "", err
		}
		a, err := p.c.deps.Assets.Asset(ctx, id)
		if err != nil {
			// The asset went away during the override: the slate stands in.
			return slate(min(max(remaining, 0), 10*Hz) + boolTicks(r.End < 0, 10*Hz))
		}
		e := Entry{AssetID: id, Kind: KindOverride, Title: r.Title, EPGGroup: group}
		if r.End >= 0 && remaining < a.Duration {
			if len(a.Keyframes) < 2 || remaining < a.Keyframes[1] {
				return slate(remaining)
			}
			e.Out = remaining
		}
		return []Entry{e}, at.State, nil
	case "channel":
		other, ok, err := p.c.deps.Store.Channel(ctx, r.SourceRef)
		if err != nil || !ok {
			return slate(10 * Hz)
		}
		t := DurationToTicks(at.Wall.Sub(other.Epoch))
		items, err := p.c.deps.Store.ItemsFrom(ctx, r.SourceRef, t, 1)
		if err != nil || len(items) == 0 {
			return slate(10 * Hz)
		}
		it := items[0]
		end := it.End()
		if r.End >= 0 {
			end = min(end, t+remaining)
		}
		if it.AssetID == 0 || end-t < Hz/2 {
			return slate(max(end-t, Hz/25))
		}
		e := Entry{AssetID: it.AssetID, In: it.In + max(0, t-it.Start), Out: it.In + (end - it.Start), Kind: KindOverride, Title: it.Title, EPGGroup: group}
		if end == it.End() {
			e.Out = it.Out
		}
		return []Entry{e}, at.State, nil
	}
	return nil, "", fmt.Errorf("unknown override source %q", r.SourceKind)
}

func boolTicks(b bool, t int64) int64 {
	if b {
		return t
	}
	return 0
}

// resumeOverride appends the schedule after an ended override, the log
// having reached its end, and forgets the override, in one transaction.
func (c *Channel) resumeOverride(ctx context.Context, ov *activeOverride) error {
	last, ok, err := c.deps.Store.Last(ctx, c.cfg.ID)
	if err != nil {
		return err
	}
	var prev *Item
	if ok {
		prev = &last
	}
	t := ov.rec.Start
	if prev != nil {
		t = prev.End()
	}
	var items []Item
	for i, r := range ov.removed {
		e := r.Entry
		if ov.rec.Resume == ResumeJoin {
			// What the replaced log had on air at t, from that point.
			if r.Start+r.Duration <= t {
				continue
			}
			if r.Start < t && len(items) == 0 {
				e.In += t - r.Start
			}
		}
		var a Asset
		if e.AssetID == 0 {
			a, err = SlateAsset(prev, e.Out-e.In)
			e.In, e.Out = 0, a.Duration
		} else {
			a, err = c.deps.Assets.Asset(ctx, e.AssetID)
		}
		var it Item
		if err == nil {
			it, err = PlaceEntry(prev, a, e, c.cfg.Segmenting)
		}
		if err != nil {
			c.deps.Logger.Warn("resuming after the override: skipped an item", "channel", c.cfg.ID, "pos", i, "err", err)
			continue
		}
		it.StepState = r.StepState
		items = append(items, it)
		prev = &items[len(items)-1]
	}
	st, _, err := c.deps.Store.Channel(ctx, c.cfg.ID)
	if err != nil {
		return err
	}
	if len(items) > 0 {
		items[len(items)-1].StepState = st.PlannerState
	}
	if err := c.deps.Store.appendEndingOverride(ctx, c.cfg.ID, items, st.PlannerState); err != nil {
		return err
	}
	c.mu.Lock()
	if c.ov == ov {
		r := *ov
		r.rec.Resumed = true
		c.ov = &r
	}
	c.mu.Unlock()
	return nil
}
