package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"onair/muxer"
)

// RemuxStats says what Remux wrote.
type RemuxStats struct {
	Segments int
	Frames   int
	Bytes    int64
}

// Remux plays asset a from start to end through the splicer and the muxer,
// as one item of a channel starting at media time 0, and writes the item's
// segments to w one after the other: exactly the bytes a channel serves for
// them, which concatenate into one continuous MPEG-TS stream (each segment
// brings every continuity counter back to 0).
//
// Segments are made by up to workers goroutines at once (0: one per CPU) and
// written in order; since each is a pure function of the item, the output
// does not depend on the number of workers.
func Remux(ctx context.Context, w io.Writer, src Sources, a Asset, seg Segmenting, workers int) (RemuxStats, error) {
	var st RemuxStats
	it, err := PlaceEntry(nil, a, Entry{AssetID: a.ID, Kind: KindProgram}, seg)
	if err != nil {
		return st, err
	}
	n := len(it.Cuts)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		buf    *bytes.Buffer
		frames int
		err    error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	// At most 2*workers segments are made and not yet written.
	tokens := make(chan struct{}, 2*workers)
	jobs := make(chan int)
	var bufs sync.Pool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := new(Scratch)
			for i := range jobs {
				b, _ := bufs.Get().(*bytes.Buffer)
				if b == nil {
					b = new(bytes.Buffer)
				}
				b.Reset()
				frames, err := remuxSegment(ctx, b, src, a, &it, i, sc)
				results[i] <- result{buf: b, frames: frames, err: err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	for i := range n {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if r.err != nil {
			return st, fmt.Errorf("segment %d: %w", i, r.err)
		}
		k, err := w.Write(r.buf.Bytes())
		st.Bytes += int64(k)
		if err != nil {
			return st, err
		}
		st.Frames += r.frames
		st.Segments++
		bufs.Put(r.buf)
		<-tokens
	}
	return st, nil
}

// remuxSegment writes segment i of it to b and returns its video frame count.
func remuxSegment(ctx context.Context, b *bytes.Buffer, src Sources, a Asset, it *Item, i int, sc *Scratch) (int, error) {
	s, err := SpliceWith(ctx, src, a, it, i, sc)
	if err != nil {
		return 0, err
	}
	b.Grow(segmentSizeHint(s.Units))
	if _, err := muxer.WriteSegment(b, s.Config, s.Units); err != nil {
		return 0, err
	}
	frames := 0
	for _, u := range s.Units {
		if u.Track == 0 {
			frames++
		}
	}
	return frames, nil
}
