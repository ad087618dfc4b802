package cmaf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"onair/engine"
	"onair/muxer"
	"onair/muxer/fmp4"
	"onair/outputs/hls"
)

// EngineChannel adapts an engine channel to Channel, over the HLS output's
// adapter of the same channel.
type EngineChannel struct {
	*hls.EngineChannel

	mu   sync.Mutex
	runs map[int64]int64 // discontinuity sequence → first segment, once found
}

var writers = sync.Pool{New: func() any { return new(fmp4.Writer) }}

// Fragment implements Channel.
func (e *EngineChannel) Fragment(ctx context.Context, seq int64) ([]byte, error) {
	if _, err := e.available(ctx, seq); err != nil {
		return nil, err
	}
	seg, _, release, err := e.Ch.Media(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("channel %s: segment %d: %w", e.ID(), seq, err)
	}
	defer release()
	w := writers.Get().(*fmp4.Writer)
	defer writers.Put(w)
	out, err := w.AppendSegment(make([]byte, 0, sizeHint(seg.Units)), &seg.Config, seg.Units, seq)
	if err != nil {
		return nil, fmt.Errorf("channel %s: cmaf segment %d: %w", e.ID(), seq, err)
	}
	return out, nil
}

// available returns segment seq's reference when it has ended, else ErrGone
// or ErrNotYet.
func (e *EngineChannel) available(ctx context.Context, seq int64) (engine.SegmentRef, error) {
	ref, err := e.Ch.Segment(ctx, seq)
	if err != nil {
		if errors.Is(err, engine.ErrNoSegment) {
			return ref, fmt.Errorf("%w: %w", hls.ErrGone, err)
		}
		return ref, err
	}
	if end := e.Ch.WallTime(ref.End); end.After(e.Clock.Now()) {
		return ref, fmt.Errorf("%w: segment %d ends at %s", hls.ErrNotYet, seq, end.Format(time.RFC3339))
	}
	return ref, nil
}

// RunStart implements Channel: it walks back over the log's items from seq
// to the item that starts its discontinuity run (or the oldest one the log
// retains), and remembers the answer for the run. The log before the
// published mark never changes, so the answer does not either.
func (e *EngineChannel) RunStart(ctx context.Context, seq int64) (int64, error) {
	ref, err := e.Ch.Segment(ctx, seq)
	if err != nil {
		if errors.Is(err, engine.ErrNoSegment) {
			return 0, fmt.Errorf("%w: %w", hls.ErrGone, err)
		}
		return 0, err
	}
	e.mu.Lock()
	first, ok := e.runs[ref.DiscSeq]
	e.mu.Unlock()
	if ok && first <= seq {
		return first, nil
	}
	it := ref.Item
	for !it.Discontinuity && it.Seq0 > 0 {
		prev, err := e.Ch.Segment(ctx, it.Seq0-1)
		if err != nil || prev.DiscSeq != ref.DiscSeq {
			break // pruned from the log: its oldest retained item
		}
		it = prev.Item
	}
	e.mu.Lock()
	if e.runs == nil || len(e.runs) > 1024 {
		e.runs = map[int64]int64{}
	}
	e.runs[ref.DiscSeq] = it.Seq0
	e.mu.Unlock()
	return it.Seq0, nil
}

// Init implements Channel.
func (e *EngineChannel) Init(ctx context.Context, seq int64) (*fmp4.Init, error) {
	first, err := e.RunStart(ctx, seq)
	if err != nil {
		return nil, err
	}
	if first != seq {
		return nil, fmt.Errorf("channel %s: segment %d (run from %d): %w", e.ID(), seq, first, ErrNotRunStart)
	}
	if _, err = e.available(ctx, seq); err != nil {
		return nil, err
	}
	seg, _, release, err := e.Ch.Media(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("channel %s: segment %d: %w", e.ID(), seq, err)
	}
	defer release()
	in, err := fmp4.NewInit(&seg.Config, seg.Units)
	if err != nil {
		return nil, fmt.Errorf("channel %s: init of segment %d: %w", e.ID(), seq, err)
	}
	return in, nil
}

// Epoch implements Channel.
func (e *EngineChannel) Epoch() time.Time { return e.Ch.Epoch() }

// sizeHint estimates a segment's CMAF size: the payload, 4 bytes a NAL unit
// and 16 a sample.
func sizeHint(units []muxer.Unit) int {
	n := 1024
	for _, u := range units {
		for _, d := range u.Data {
			n += len(d) + 4
		}
		n += 16
	}
	return n
}

var _ Channel = (*EngineChannel)(nil)

// EngineRegistry serves the channels of an HLS EngineRegistry (share the one
// the MPEG-TS output uses), with one adapter per channel.
type EngineRegistry struct {
	HLS *hls.EngineRegistry

	mu       sync.Mutex
	adapters map[*hls.EngineChannel]*EngineChannel
}

// Channel implements Registry.
func (r *EngineRegistry) Channel(id string) (Channel, bool) {
	c, ok := r.HLS.Channel(id)
	if !ok {
		return nil, false
	}
	hc, ok := c.(*hls.EngineChannel)
	if !ok {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adapters == nil {
		r.adapters = map[*hls.EngineChannel]*EngineChannel{}
	}
	a, ok := r.adapters[hc]
	if !ok {
		if len(r.adapters) > 4*len(r.HLS.M.List())+16 {
			r.adapters = map[*hls.EngineChannel]*EngineChannel{}
		}
		a = &EngineChannel{EngineChannel: hc}
		r.adapters[hc] = a
	}
	return a, true
}

var _ Registry = (*EngineRegistry)(nil)
