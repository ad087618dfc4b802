package engine

import (
	"fmt"
	"time"
)

// Ticks per second of the channel's media clock.
const Hz = 90000

// Kind is what a playout log item is for.
type Kind string

// Item kinds.
const (
	KindProgram  Kind = "program"
	KindAd       Kind = "ad"
	KindBumper   Kind = "bumper"
	KindPromo    Kind = "promo"
	KindFiller   Kind = "filler"
	KindSlate    Kind = "slate"
	KindOverride Kind = "override"
)

// Item is one entry of a channel's playout log: a range of one asset placed on
// the channel's media clock. Everything the segmenter needs is in the item, so
// segment N is found without counting from the start of the log.
type Item struct {
	// Index is the item's position in its channel's log, from 0.
	Index int64
	// Start is the channel media time of the item's first frame: 90 kHz ticks from
	// the channel's epoch. Start of item k+1 is Start + Duration of item k.
	Start int64
	// Duration is Out - In, in ticks.
	Duration int64
	// AssetID is the library asset; 0 for the generated slate.
	AssetID int64
	// AssetPath is the asset's path when the item was appended (for messages).
	AssetPath string
	// In and Out are the source range, in ticks from the asset's first picture;
	// In is a keyframe, Out a keyframe or the asset's end.
	In, Out int64
	Kind    Kind
	Title   string
	// EPGGroup groups a program's parts and breaks into one guide entry.
	EPGGroup string
	// Seq0 is the media sequence number of the item's first segment.
	Seq0 int64
	// Disc0 is the discontinuity sequence number of the item's segments.
	Disc0 int64
	// Discontinuity is true when the item's stream parameters differ from the
	// previous item's, so its first segment is preceded by a discontinuity.
	Discontinuity bool
	// Params is the stream-parameter key (codec, profile, size, rate, audio);
	// a change between items is a discontinuity.
	Params string
	// Cuts are the segment starts as offsets from In, ascending, Cuts[0] == 0.
	Cuts []int64
	// StepState is the planner's state after this item when it ends a planner
	// step ("" otherwise): where a rebuild of the log may resume.
	StepState string
}

// End is the channel media time just after the item.
func (it *Item) End() int64 { return it.Start + it.Duration }

// Segments is the number of segments of the item.
func (it *Item) Segments() int64 { return int64(len(it.Cuts)) }

// SegmentRange returns segment i's range as offsets from In: [from, to).
func (it *Item) SegmentRange(i int) (from, to int64) {
	from = it.Cuts[i]
	if i+1 < len(it.Cuts) {
		return from, it.Cuts[i+1]
	}
	return from, it.Duration
}

func (it *Item) String() string {
	return fmt.Sprintf("#%d %s %q [%s, %s) of %s", it.Index, it.Kind, it.Title,
		TicksToDuration(it.In), TicksToDuration(it.Out), it.AssetPath)
}

// TicksToDuration converts 90 kHz ticks to a time.Duration exactly (to the nanosecond, rounded down).
func TicksToDuration(t int64) time.Duration {
	return time.Duration(t/Hz)*time.Second + time.Duration(t%Hz)*time.Second/Hz
}

// DurationToTicks converts a duration to 90 kHz ticks, rounding down.
func DurationToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*Hz + int64(d%time.Second)*Hz/int64(time.Second)
}
