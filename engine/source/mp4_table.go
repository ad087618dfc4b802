package source

import (
	"errors"
	"fmt"
	"slices"

	"github.com/Eyevinn/mp4ff/mp4"
)

// An MP4 track's sample tables (ISO/IEC 14496-12, 8.6 and 8.7: stts, ctts, stss, stsz, stsc,
// stco/co64) and edit list (8.6.6), expanded once into one entry per sample with the times
// already at 90 kHz.

// mp4MaxSamples bounds the sample count of a track (16 M frames is 77 hours at 60 fps).
const mp4MaxSamples = 1 << 24

// sampleTable lists the samples of one track in decode order.
type sampleTable struct {
	// pts and dts are at 90 kHz, after the edit list: the same time line as the keyframe index.
	pts, dts []int64
	off      []int64
	size     []uint32
	// sync marks sync samples; nil when every sample is one (no stss box).
	sync []bool
	// syncByPTS lists the sync samples, ascending by PTS.
	syncByPTS []int32
	// delta is the most common sample duration in the media timescale; ticks the typical
	// sample duration at 90 kHz.
	delta     int64
	ticks     int64
	timescale uint32
}

func (t *sampleTable) isSync(i int) bool { return t.sync == nil || t.sync[i] }

// errTable is wrapped by every problem of a sample table; the caller adds ErrCorrupt or
// ErrTruncated and the file name.
var errTable = errors.New("invalid sample table")

// buildSampleTable expands the sample tables of trak. fileSize bounds the sample offsets:
// a sample beyond the end of the file is reported as truncation (wrapping ErrTruncated).
func buildSampleTable(trak *mp4.TrakBox, movieTimescale uint32, fileSize int64) (*sampleTable, error) {
	stbl := trak.Mdia.Minf.Stbl
	timescale := trak.Mdia.Mdhd.Timescale
	if timescale == 0 {
		return nil, fmt.Errorf("%w: media timescale 0", errTable)
	}
	if stbl.Stsz == nil || stbl.Stts == nil || stbl.Stsc == nil || (stbl.Stco == nil && stbl.Co64 == nil) {
		return nil, fmt.Errorf("%w: missing stsz, stts, stsc or stco", errTable)
	}
	n := int(stbl.Stsz.SampleNumber)
	if n == 0 || n > mp4MaxSamples {
		return nil, fmt.Errorf("%w: %d samples", errTable, n)
	}
	uniform := stbl.Stsz.SampleUniformSize
	if uniform == 0 && len(stbl.Stsz.SampleSize) < n {
		return nil, fmt.Errorf("%w: stsz lists %d sizes for %d samples", errTable, len(stbl.Stsz.SampleSize), n)
	}
	if uniform != 0 && int64(n) > fileSize/int64(uniform) {
		return nil, fmt.Errorf("%w: %d samples of %d bytes do not fit in the file (%d bytes)", ErrTruncated, n, uniform, fileSize)
	}
	var chunks int
	if stbl.Co64 != nil {
		chunks = len(stbl.Co64.ChunkOffset)
	} else {
		chunks = len(stbl.Stco.ChunkOffset)
	}
	chunkOffset := func(c int) int64 {
		if stbl.Co64 != nil {
			return int64(min(stbl.Co64.ChunkOffset[c], 1<<62))
		}
		return int64(stbl.Stco.ChunkOffset[c])
	}
	stsc := stbl.Stsc.Entries
	if len(stsc) == 0 || stsc[0].FirstChunk != 1 {
		return nil, fmt.Errorf("%w: stsc does not start at chunk 1", errTable)
	}
	stts := stbl.Stts
	if len(stts.SampleCount) != len(stts.SampleTimeDelta) {
		return nil, fmt.Errorf("%w: stts", errTable)
	}
	ctts := stbl.Ctts
	if ctts != nil && len(ctts.EndSampleNr) != len(ctts.SampleOffset)+1 {
		return nil, fmt.Errorf("%w: ctts", errTable)
	}

	// Edit list: leading empty edits delay the presentation; the first media edit says which
	// media time is presented first. Later edits are ignored (the whole track is read).
	var mediaTime, delay int64
	if trak.Edts != nil && len(trak.Edts.Elst) > 0 && movieTimescale > 0 {
		for _, e := range trak.Edts.Elst[0].Entries {
			if e.MediaTime == -1 {
				delay += scaleTo90k(int64(min(e.SegmentDuration, 1<<62)), movieTimescale)
				continue
			}
			mediaTime = e.MediaTime
			break
		}
	}

	t := &sampleTable{
		pts:       make([]int64, n),
		dts:       make([]int64, n),
		off:       make([]int64, n),
		size:      make([]uint32, n),
		timescale: timescale,
	}
	if stbl.Stss != nil {
		t.sync = make([]bool, n)
		for _, s := range stbl.Stss.SampleNumber {
			if s >= 1 && int64(s) <= int64(n) {
				t.sync[s-1] = true
			}
		}
	}

	sttsIdx, sttsLeft := 0, uint32(0)
	cttsIdx := 0
	deltaCount := map[uint32]int{}
	var dts int64
	s := 0
	stscIdx := 0
	for c := 0; c < chunks && s < n; c++ {
		for stscIdx+1 < len(stsc) && int(stsc[stscIdx+1].FirstChunk) <= c+1 {
			stscIdx++
		}
		off := chunkOffset(c)
		for k := uint32(0); k < stsc[stscIdx].SamplesPerChunk && s < n; k++ {
			size := uniform
			if size == 0 {
				size = stbl.Stsz.SampleSize[s]
			}
			if off > fileSize || int64(size) > fileSize-off {
				return nil, fmt.Errorf("%w: sample %d at byte %d (%d bytes) is beyond the end of the file (%d bytes)",
					ErrTruncated, s+1, off, size, fileSize)
			}
			for sttsLeft == 0 {
				if sttsIdx >= len(stts.SampleCount) {
					return nil, fmt.Errorf("%w: stts covers fewer samples than stsz", errTable)
				}
				sttsLeft = stts.SampleCount[sttsIdx]
				sttsIdx++
			}
			delta := stts.SampleTimeDelta[sttsIdx-1]
			sttsLeft--
			deltaCount[delta]++
			var cto int64
			if ctts != nil {
				for cttsIdx < len(ctts.SampleOffset) && uint32(s) >= ctts.EndSampleNr[cttsIdx+1] {
					cttsIdx++
				}
				if cttsIdx < len(ctts.SampleOffset) {
					cto = int64(ctts.SampleOffset[cttsIdx])
				}
			}
			t.dts[s] = scaleTo90k(dts-mediaTime, timescale) + delay
			t.pts[s] = scaleTo90k(dts+cto-mediaTime, timescale) + delay
			t.off[s] = off
			t.size[s] = size
			dts += int64(delta)
			off += int64(size)
			s++
		}
	}
	if s < n {
		return nil, fmt.Errorf("%w: chunks hold %d of %d samples", errTable, s, n)
	}

	// The typical duration: the most common delta when it covers 90% of the samples, else the
	// average (variable timestamps rounded to a coarse timescale).
	var best uint32
	for d, c := range deltaCount {
		if c > deltaCount[best] || (c == deltaCount[best] && d < best) {
			best = d
		}
	}
	t.delta = int64(best)
	t.ticks = scaleTo90k(t.delta, timescale)
	if deltaCount[best]*10 < n*9 && n > 1 {
		t.ticks = (t.dts[n-1] - t.dts[0]) / int64(n-1)
	}

	for i := range n {
		if t.isSync(i) {
			t.syncByPTS = append(t.syncByPTS, int32(i))
		}
	}
	slices.SortStableFunc(t.syncByPTS, func(a, b int32) int {
		switch pa, pb := t.pts[a], t.pts[b]; {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	return t, nil
}

// firstAtOrAfter returns the index of the first sample whose PTS is at or after pts, for a
// track whose PTS increase in decode order (audio).
func (t *sampleTable) firstAtOrAfter(pts int64) int {
	lo, hi := 0, len(t.pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.pts[m] < pts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
