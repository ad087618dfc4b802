package hls

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"onair/engine"
)

// EngineChannel adapts an engine channel to Channel.
type EngineChannel struct {
	Ch    *engine.Channel
	Clock Clock

	once    sync.Once
	variant Variant
}

// ID implements Channel.
func (e *EngineChannel) ID() string { return e.Ch.ID() }

// TargetDuration implements Channel.
func (e *EngineChannel) TargetDuration() time.Duration { return engine.TicksToDuration(e.Ch.Target()) }

// Variant implements Channel: the parameters of the stream on air when it is
// first asked, with BANDWIDTH 1.5 times the file's average bit rate.
func (e *EngineChannel) Variant() Variant {
	e.once.Do(func() {
		a, info, err := e.Ch.StreamInfo(context.Background(), e.Clock.Now())
		if err != nil {
			e.variant = Variant{Codecs: "avc1.42c01e,mp4a.40.2", Bandwidth: 2_000_000}
			return
		}
		v := Variant{Width: info.Width, Height: info.Height, Bandwidth: int(a.Bitrate * 3 / 2)}
		if a.FrameRateNum > 0 && a.FrameRateDen > 0 {
			v.FrameRate = float64(a.FrameRateNum) / float64(a.FrameRateDen)
		}
		if v.Bandwidth <= 0 {
			v.Bandwidth = 2_000_000
		}
		v.Codecs = CodecsOf(info.VideoCodec, info.SPS, info.AudioCodec, info.AudioConfig)
		e.variant = v
	})
	return e.variant
}

// CodecsOf returns the RFC 6381 CODECS string of a stream.
func CodecsOf(videoCodec string, sps []byte, audioCodec string, asc []byte) string {
	var s string
	switch {
	case videoCodec == "h264" && len(sps) >= 4:
		s = fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3])
	case videoCodec == "h265":
		s = "hvc1.1.6.L93.B0"
	default:
		s = "avc1.42c01e"
	}
	switch audioCodec {
	case "aac":
		ot := 2
		if len(asc) > 0 {
			ot = int(asc[0] >> 3)
		}
		s += fmt.Sprintf(",mp4a.40.%d", ot)
	case "ac3":
		s += ",ac-3"
	case "opus":
		s += ",opus"
	}
	return s
}

// Segments implements Channel.
func (e *EngineChannel) Segments(now time.Time, n int) ([]SegmentInfo, error) {
	refs, err := e.Ch.Recent(context.Background(), now, n)
	if err != nil {
		return nil, err
	}
	out := make([]SegmentInfo, len(refs))
	for i, r := range refs {
		out[i] = SegmentInfo{
			Seq: r.Seq, DiscSeq: r.DiscSeq, Discontinuity: r.Discontinuity,
			Start: e.Ch.WallTime(r.Start), Duration: engine.TicksToDuration(r.End - r.Start), Title: r.Item.Title,
		}
	}
	return out, nil
}

// Segment implements Channel.
func (e *EngineChannel) Segment(ctx context.Context, seq int64) ([]byte, error) {
	ref, err := e.Ch.Segment(ctx, seq)
	if err != nil {
		if errors.Is(err, engine.ErrNoSegment) {
			return nil, fmt.Errorf("%w: %w", ErrGone, err)
		}
		return nil, err
	}
	if e.Ch.WallTime(ref.End).After(e.Clock.Now()) && !Published(ctx) {
		return nil, fmt.Errorf("%w: segment %d ends at %s", ErrNotYet, seq, e.Ch.WallTime(ref.End).Format(time.RFC3339))
	}
	return e.Ch.Render(ctx, seq)
}

// SegmentEnd implements Channel.
func (e *EngineChannel) SegmentEnd(seq int64) (time.Time, bool) {
	ref, err := e.Ch.Segment(context.Background(), seq)
	if err != nil {
		return time.Time{}, false
	}
	return e.Ch.WallTime(ref.End), true
}

var _ Channel = (*EngineChannel)(nil)

// EngineRegistry serves the channels of an engine manager, with one adapter
// per channel (so each computes its Variant once).
type EngineRegistry struct {
	M     *engine.Manager
	Clock Clock

	mu       sync.Mutex
	adapters map[*engine.Channel]*EngineChannel
}

// Channel implements Registry.
func (r *EngineRegistry) Channel(id string) (Channel, bool) {
	c, ok := r.M.Get(id)
	if !ok {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adapters == nil {
		r.adapters = map[*engine.Channel]*EngineChannel{}
	}
	a, ok := r.adapters[c]
	if !ok {
		if len(r.adapters) > 4*len(r.M.List())+16 {
			r.adapters = map[*engine.Channel]*EngineChannel{} // drop adapters of replaced channels
		}
		a = &EngineChannel{Ch: c, Clock: r.Clock}
		r.adapters[c] = a
	}
	return a, true
}

var _ Registry = (*EngineRegistry)(nil)
