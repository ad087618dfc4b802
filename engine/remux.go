package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"onair/muxer"
)

// RemuxStats says what Remux wrote.
type RemuxStats struct {
	Segments int
	Frames   int
	Bytes    int64
}

// Remux plays asset a from start to end through the splicer and the muxer,
// as one item of a channel starting at media time 0, and writes one continuous
// MPEG-TS stream to w: the same code path as a channel's segments, with the
// continuity counters carried from segment to segment instead of padded.
func Remux(ctx context.Context, w io.Writer, src Sources, a Asset, seg Segmenting) (RemuxStats, error) {
	var st RemuxStats
	it, err := PlaceEntry(nil, a, Entry{AssetID: a.ID, Kind: KindProgram}, seg)
	if err != nil {
		return st, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var cc map[uint16]uint8
	for i := range it.Cuts {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		s, err := Splice(ctx, src, a, &it, i)
		if err != nil {
			return st, fmt.Errorf("segment %d: %w", i, err)
		}
		cfg := s.Config
		if cc == nil {
			cc = map[uint16]uint8{}
		}
		cfg.StartCC = cc
		sw, err := muxer.NewSegmentWriter(bw, cfg)
		if err != nil {
			return st, err
		}
		for _, u := range s.Units {
			if err := sw.WriteUnit(u); err != nil {
				return st, fmt.Errorf("segment %d: %w", i, err)
			}
			if u.Track == 0 {
				st.Frames++
			}
		}
		if err := sw.Close(); err != nil {
			return st, err
		}
		cc = sw.NextCC()
		st.Bytes += sw.Written()
		st.Segments++
	}
	return st, bw.Flush()
}
