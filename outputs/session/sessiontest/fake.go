// Package sessiontest provides a deterministic channel for the tests of the
// push outputs: items of three one-second segments of the engine's slate
// (real H.264 Constrained Baseline and AAC), on a virtual clock.
package sessiontest

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"onair/engine"
	"onair/muxer"
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
	// HEVC labels the video H.265: each access unit's slices become H.265
	// NAL units (IDR_W_RADL after a VPS, SPS and PPS on keyframes, TRAIL_R
	// otherwise) around the slate's slice bytes. Not a decodable H.265
	// picture: it is for the packetization paths of the outputs.
	HEVC bool
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
	if c.HEVC {
		toHEVC(&seg)
	}
	return seg, ref, func() {}, nil
}

// The parameter sets of a 320x180 H.265 Main stream (made with ffmpeg
// -c:v libx265, as bytes): clients parse the SPS of an SDP. The slices are
// an IDR_W_RADL or TRAIL_R NAL header (ITU-T H.265, 7.3.1.2; nuh_layer_id
// 0, nuh_temporal_id_plus1 1) before the slate's H.264 slice bytes.
var (
	hevcVPS   = mustHex("40010c01ffff01600000030090000003000003003c959809")
	hevcSPS   = mustHex("42010101600000030090000003000003003ca00a080b9f796566924caf016808000003000800000300c840")
	hevcPPS   = mustHex("4401c172b46240")
	hevcIDR   = []byte{19 << 1, 1}
	hevcTrail = []byte{1 << 1, 1}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// toHEVC relabels seg's video track H.265, as Channel.HEVC says.
func toHEVC(seg *engine.Segment) {
	seg.Config.Tracks = append([]muxer.Track(nil), seg.Config.Tracks...)
	video := -1
	for i := range seg.Config.Tracks {
		if seg.Config.Tracks[i].Codec == muxer.CodecH264 {
			seg.Config.Tracks[i].Codec = muxer.CodecH265
			video = i
		}
	}
	for i := range seg.Units {
		u := &seg.Units[i]
		if u.Track != video {
			continue
		}
		var data [][]byte
		if u.Key {
			data = append(data, hevcVPS, hevcSPS, hevcPPS)
		}
		for _, n := range u.Data {
			if t := n[0] & 0x1F; t != 1 && t != 5 {
				continue // H.264 parameter sets and the rest
			}
			hdr := hevcTrail
			if u.Key {
				hdr = hevcIDR
			}
			data = append(data, append(append([]byte(nil), hdr...), n[1:]...))
		}
		u.Data = data
	}
}
