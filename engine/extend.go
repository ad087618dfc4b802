package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"onair/library"
)

// Entry is one source range a Planner proposes; the engine snaps it to
// keyframes and places it on the channel clock.
type Entry struct {
	// AssetID 0 is the generated slate (see SlateEntry).
	AssetID int64
	// In and Out are ticks from the asset's first picture; Out 0 means the asset's end.
	In, Out  int64
	Kind     Kind
	Title    string
	EPGGroup string
}

// Planner proposes what a channel plays next. Its resume state is an opaque
// string the engine stores with the log, so a restart continues where the log
// ends.
type Planner interface {
	// Next returns the entries that follow the cursor (at least one) and the
	// planner state after them.
	Next(ctx context.Context, at Cursor) ([]Entry, string, error)
}

// Cursor is where a channel's log ends: where a planner plans from.
type Cursor struct {
	// State is the planner state stored after the last item ("" for a new log).
	State string
	// End is the media time (ticks from the channel's epoch) at which the log ends.
	End int64
	// Wall is the wall-clock time of End.
	Wall time.Time
	// Params is the stream-parameter key of the last item ("" for a new log).
	Params string
}

// SlateEntry is an entry for the generated slate lasting d ticks (rounded
// down to whole frames of the picture it takes: the previous item's, or
// 640x360 at 25 fps): a planner's filler of last resort.
func SlateEntry(kind Kind, title string, d int64) Entry {
	return Entry{Kind: kind, Title: title, Out: d}
}

// Asset is what the engine needs of a library asset to place it.
type Asset struct {
	ID        int64
	Path      string
	Container string
	// Duration is the presentation duration in ticks.
	Duration int64
	// Params is the stream-parameter key; items whose keys differ are separated by a discontinuity.
	Params string
	// Keyframes are keyframe times in ticks from the first picture, ascending, starting with 0.
	Keyframes []int64
	// Index is the library's keyframe index (file time base), for the splicer.
	Index library.KeyframeIndex
	// Width, Height and the frame rate describe the video, for the slate that
	// stands in when the file cannot be read.
	Width, Height              int
	FrameRateNum, FrameRateDen int
	// Bitrate is the file's average bit rate in bits per second.
	Bitrate int64
}

// Assets looks assets up for the engine.
type Assets interface {
	Asset(ctx context.Context, id int64) (Asset, error)
}

// ErrUnplayable is wrapped by Assets errors for an asset that exists but cannot play.
var ErrUnplayable = errors.New("asset not playable")

// Segmenting is how a channel cuts segments.
type Segmenting struct {
	// Target is the target segment duration in ticks. Defaults to 4 s.
	Target int64
	// Slack is how far a segment may exceed Target. Defaults to 0.5 s.
	Slack int64
}

func (s Segmenting) withDefaults() Segmenting {
	if s.Target <= 0 {
		s.Target = 4 * Hz
	}
	if s.Slack <= 0 {
		s.Slack = Hz / 2
	}
	return s
}

// maxPlanAttempts bounds how many entries in a row may be unplayable before
// Extend gives up on the planner for this call.
const maxPlanAttempts = 64

// PlaceEntry turns an entry into the item that follows prev (nil for the first
// item): In and Out snap to the nearest keyframes (Out to the asset's end when
// it is the nearest point or Out is 0), the segment cuts and the sequence
// numbers follow from prev.
func PlaceEntry(prev *Item, a Asset, e Entry, seg Segmenting) (Item, error) {
	seg = seg.withDefaults()
	if a.Duration <= 0 || len(a.Keyframes) == 0 {
		return Item{}, fmt.Errorf("%s: %w: no keyframes", a.Path, ErrUnplayable)
	}
	in := snap(a.Keyframes, e.In, 0)
	out := a.Duration
	if e.Out > 0 && e.Out < a.Duration {
		out = snap(a.Keyframes, e.Out, a.Duration)
	}
	if out <= in {
		return Item{}, fmt.Errorf("%s: range [%s, %s) is empty after snapping to keyframes", a.Path, TicksToDuration(e.In), TicksToDuration(e.Out))
	}
	it := Item{
		AssetID: a.ID, AssetPath: a.Path, In: in, Out: out, Duration: out - in,
		Kind: e.Kind, Title: e.Title, EPGGroup: e.EPGGroup, Params: a.Params,
		Cuts: Cuts(a.Keyframes, in, out, seg.Target, seg.Slack),
	}
	if it.Kind == "" {
		it.Kind = KindProgram
	}
	if prev != nil {
		it.Index = prev.Index + 1
		it.Start = prev.End()
		it.Seq0 = prev.Seq0 + prev.Segments()
		it.Disc0 = prev.Disc0
		if prev.Params != it.Params {
			it.Discontinuity = true
			it.Disc0++
		}
	}
	return it, nil
}

// SlateAsset is the generated slate as an asset of duration d ticks (whole
// frames, at least one), with a keyframe on every frame so that it fills a gap
// to within a frame. It takes the picture of prev (nil: 640x360 at 25 fps).
func SlateAsset(prev *Item, d int64) (Asset, error) {
	w, h, num, den := 640, 360, 25, 1
	if prev != nil {
		if pw, ph, pn, pd := paramsPicture(prev.Params); pw >= 16 && ph >= 16 && pw%2 == 0 && ph%2 == 0 && pn > 0 && pd > 0 {
			w, h, num, den = pw, ph, pn, pd
		}
	}
	frames := d * int64(num) / (Hz * int64(den))
	if frames < 1 {
		return Asset{}, fmt.Errorf("slate of %s: shorter than one frame", TicksToDuration(d))
	}
	a := Asset{
		Path: "(slate)", Width: w, Height: h, FrameRateNum: num, FrameRateDen: den,
		Params:    SlateParams(w, h, num, den),
		Keyframes: make([]int64, frames),
	}
	for k := range a.Keyframes {
		a.Keyframes[k] = int64(k) * Hz * int64(den) / int64(num)
	}
	a.Duration = frames * Hz * int64(den) / int64(num)
	return a, nil
}

// SlateParams is the stream-parameter key of the generated slate: its own
// encoder, so a splice to or from it is a discontinuity.
func SlateParams(w, h, num, den int) string {
	return fmt.Sprintf("h264/slate/-/%dx%d/%d/%d/bfalse|aac/48000/2", w, h, num, den)
}

// snap returns the keyframe nearest to t (ties to the earlier one); end, when
// positive, is also a candidate.
func snap(keyframes []int64, t, end int64) int64 {
	i := sort.Search(len(keyframes), func(i int) bool { return keyframes[i] >= t })
	best := int64(-1)
	consider := func(k int64) {
		if best < 0 || abs64(k-t) < abs64(best-t) || (abs64(k-t) == abs64(best-t) && k < best) {
			best = k
		}
	}
	if i < len(keyframes) {
		consider(keyframes[i])
	}
	if i > 0 {
		consider(keyframes[i-1])
	}
	if end > 0 {
		consider(end)
	}
	return best
}

// Extend appends planned items to a channel's log until it reaches media time
// until. Entries whose asset cannot be placed are skipped and reported through
// skipped (which may be nil); it fails only when the planner or the store does,
// or when maxPlanAttempts entries in a row could not be placed.
func Extend(ctx context.Context, store *LogStore, channel string, p Planner, assets Assets, seg Segmenting, until int64, skipped func(Entry, error)) (appended int, err error) {
	st, ok, err := store.Channel(ctx, channel)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("channel %s has no log", channel)
	}
	last, hasLast, err := store.Last(ctx, channel)
	if err != nil {
		return 0, err
	}
	var prev *Item
	if hasLast {
		prev = &last
	}
	state := st.PlannerState
	failures := 0
	// Items are appended in batches, each in one transaction with the planner
	// state after its last item.
	const batchSize = 2000
	var batch []Item
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := store.Append(ctx, channel, batch, state); err != nil {
			return err
		}
		appended += len(batch)
		last = batch[len(batch)-1]
		prev = &last
		batch = batch[:0]
		return nil
	}
	for prev == nil || prev.End() < until {
		at := Cursor{State: state, Wall: st.Epoch}
		if prev != nil {
			at.End, at.Params = prev.End(), prev.Params
			at.Wall = st.Epoch.Add(TicksToDuration(at.End))
		}
		entries, next, err := p.Next(ctx, at)
		if err != nil {
			if ferr := flush(); ferr != nil {
				return appended, ferr
			}
			return appended, fmt.Errorf("channel %s: plan: %w", channel, err)
		}
		placed := 0
		for _, e := range entries {
			var a Asset
			var err error
			if e.AssetID == 0 {
				a, err = SlateAsset(prev, e.Out)
			} else {
				a, err = assets.Asset(ctx, e.AssetID)
			}
			var it Item
			if err == nil {
				it, err = PlaceEntry(prev, a, e, seg)
			}
			if err != nil {
				if skipped != nil {
					skipped(e, err)
				}
				failures++
				continue
			}
			failures = 0
			placed++
			batch = append(batch, it)
			prev = &batch[len(batch)-1]
		}
		if placed > 0 {
			batch[len(batch)-1].StepState = next
		}
		state = next
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return appended, err
			}
		}
		if failures >= maxPlanAttempts {
			if err := flush(); err != nil {
				return appended, err
			}
			return appended, fmt.Errorf("channel %s: %d entries in a row could not be placed", channel, failures)
		}
	}
	if err := flush(); err != nil {
		return appended, err
	}
	return appended, nil
}
