// Package sessiontest provides a deterministic channel for the tests of the
// push outputs: items of three one-second segments of the engine's slate
// (real H.264 Constrained Baseline and AAC), on a virtual clock.
package sessiontest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"onair/engine"
)

// SegsPerItem is the number of one-second segments of each item.
const SegsPerItem = 3

// Channel is a fake channel whose item k spans segments 3k..3k+2; every
// item boundary starts a new picture (the slate's label names the item).
type Channel struct {
	Name  string
	Epoch time.Time
	// Width and Height of the picture. Default 320x180.
	Width, Height int
	// BFrames makes the video's PTS differ from its DTS, as with B-frames.
	BFrames bool
	// MediaCalls counts Media calls.
	MediaCalls atomic.Int64
}

// New returns a channel whose media time 0 is epoch.
func New(id string, epoch time.Time) *Channel {
	return &Channel{Name: id, Epoch: epoch, Width: 320, Height: 180}
}

// ID implements session.Channel.
func (c *Channel) ID() string { return c.Name }

// Target implements session.Channel: one second.
func (c *Channel) Target() int64 { return engine.Hz }

// MediaTime implements session.Channel.
func (c *Channel) MediaTime(t time.Time) int64 { return engine.DurationToTicks(t.Sub(c.Epoch)) }

// WallTime implements session.Channel.
func (c *Channel) WallTime(ticks int64) time.Time { return c.Epoch.Add(engine.TicksToDuration(ticks)) }

func (c *Channel) item(seq int64) engine.Item {
	k := seq / SegsPerItem
	return engine.Item{
		Index: k, Start: k * SegsPerItem * engine.Hz, Duration: SegsPerItem * engine.Hz,
		Cuts: []int64{0, engine.Hz, 2 * engine.Hz}, Seq0: k * SegsPerItem, Kind: engine.KindProgram,
		Title: fmt.Sprintf("item %d", k),
	}
}

// Ref returns segment seq's reference.
func (c *Channel) Ref(seq int64) engine.SegmentRef {
	it := c.item(seq)
	i := int(seq - it.Seq0)
	from, to := it.SegmentRange(i)
	return engine.SegmentRef{Seq: seq, Start: it.Start + from, End: it.Start + to, Item: it, Index: i}
}

// Recent implements session.Channel.
func (c *Channel) Recent(_ context.Context, now time.Time, n int) ([]engine.SegmentRef, error) {
	t := c.MediaTime(now)
	last := t/engine.Hz - 1 // segment seq spans [seq, seq+1) s
	var out []engine.SegmentRef
	for s := max(0, last-int64(n)+1); s <= last; s++ {
		out = append(out, c.Ref(s))
	}
	return out, nil
}

// Media implements session.Channel.
func (c *Channel) Media(_ context.Context, seq int64) (engine.Segment, engine.SegmentRef, func(), error) {
	c.MediaCalls.Add(1)
	if seq < 0 {
		return engine.Segment{}, engine.SegmentRef{}, nil, engine.ErrNoSegment
	}
	ref := c.Ref(seq)
	it := ref.Item
	seg, err := engine.Slate(engine.Asset{Width: c.Width, Height: c.Height, FrameRateNum: 25, FrameRateDen: 1}, &it, ref.Index, []string{c.Name, it.Title})
	if err != nil {
		return engine.Segment{}, ref, nil, err
	}
	if c.BFrames {
		for i := range seg.Units {
			if u := &seg.Units[i]; u.Track == 0 {
				u.PTS += 2 * engine.Hz / 25
			}
		}
	}
	return seg, ref, func() {}, nil
}
