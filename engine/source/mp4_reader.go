package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"onair/library"
)

// mp4ReadGap is the largest gap between two needed samples that is read through rather than
// skipped: one read is cheaper than two for small gaps (the other tracks' interleaved samples).
const mp4ReadGap = 64 << 10

// mp4Reader reads ranges of an MP4 file.
type mp4Reader struct {
	f  file
	h  *mp4Header
	kf library.KeyframeIndex
}

func (r *mp4Reader) Info() Info   { return cloneInfo(r.h.inf) }
func (r *mp4Reader) Close() error { return r.f.Close() }

// sampleRef is one sample to read: its place in the file and in the result.
type sampleRef struct {
	off   int64
	size  uint32
	video bool
	i     int
}

// Range implements Reader: it finds the samples of the range in the sample tables and reads
// exactly them, coalescing neighbours into few ReadAt calls.
func (r *mp4Reader) Range(ctx context.Context, from, to int64) (video, audio []Frame, err error) {
	return r.RangeWith(ctx, from, to, nil)
}

// RangeWith implements Reader.
func (r *mp4Reader) RangeWith(ctx context.Context, from, to int64, b *Buffers) (video, audio []Frame, err error) {
	if b == nil {
		b = &Buffers{}
	}
	path, h := r.f.Name(), r.h
	if to < from {
		return nil, nil, fmt.Errorf("%s: invalid range [%d, %d)", path, from, to)
	}
	vt := h.video
	start, err := r.startSample(from)
	if err != nil {
		return nil, nil, err
	}
	end := start
	for end < len(vt.pts) && vt.pts[end] < to {
		end++
	}
	a0, a1 := 0, 0
	if at := h.audio; at != nil {
		afd := h.inf.audioFrameTicks()
		a0 = at.firstAtOrAfter(addTicks(min(from, vt.pts[start]), -2*afd))
		a1 = max(a0, at.firstAtOrAfter(addTicks(to, 2*afd)))
	}

	refs := b.refs[:0]
	for i := start; i < end; i++ {
		refs = append(refs, sampleRef{off: vt.off[i], size: vt.size[i], video: true, i: i - start})
	}
	for i := a0; i < a1; i++ {
		refs = append(refs, sampleRef{off: h.audio.off[i], size: h.audio.size[i], i: i - a0})
	}
	b.refs = refs
	vdata, adata, err := r.readSamples(ctx, refs, end-start, a1-a0, b)
	if err != nil {
		return nil, nil, err
	}

	video = b.video[:0]
	nals := b.nals[:0]
	defer func() { b.video, b.nals, b.audio = video[:0], nals[:0], audio[:0] }()
	for i := start; i < end; i++ {
		first := len(nals)
		nals, err = splitLengthPrefixed(nals, vdata[i-start], h.nalLen)
		key := false
		if err == nil {
			nals, key, err = h.kind.accessUnit(nals, first, &h.ps, vt.isSync(i))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w: video sample %d at byte %d: %w", path, ErrCorrupt, i+1, vt.off[i], err)
		}
		video = append(video, Frame{Video: true, PTS: vt.pts[i], DTS: vt.dts[i], Key: key, Data: nals[first:len(nals):len(nals)]})
	}
	if a1 > a0 {
		audio = slices.Grow(b.audio[:0], a1-a0)[:a1-a0]
		for i := a0; i < a1; i++ {
			audio[i-a0] = Frame{PTS: h.audio.pts[i], DTS: h.audio.dts[i], Data: adata[i-a0 : i-a0+1 : i-a0+1]}
		}
	}
	return video, audio, nil
}

// startSample returns the sync sample of the keyframe at or before from: the keyframe index
// chooses it, and the sample table must agree.
func (r *mp4Reader) startSample(from int64) (int, error) {
	vt := r.h.video
	if len(vt.syncByPTS) == 0 {
		return 0, fmt.Errorf("%s: %w: the video track has no sync sample", r.f.Name(), ErrCorrupt)
	}
	kfs := r.kf.Keyframes
	if len(kfs) == 0 {
		p := max(0, sort.Search(len(vt.syncByPTS), func(x int) bool { return vt.pts[vt.syncByPTS[x]] > from })-1)
		return int(vt.syncByPTS[p]), nil
	}
	k := kfs[max(0, sort.Search(len(kfs), func(i int) bool { return kfs[i].PTS > from })-1)]
	p := sort.Search(len(vt.syncByPTS), func(x int) bool { return vt.pts[vt.syncByPTS[x]] >= k.PTS })
	if p == len(vt.syncByPTS) || vt.pts[vt.syncByPTS[p]] != k.PTS || vt.off[vt.syncByPTS[p]] != k.Offset {
		return 0, fmt.Errorf("%s: %w: no sync sample with PTS %d at byte %d", r.f.Name(), ErrIndexMismatch, k.PTS, k.Offset)
	}
	return int(vt.syncByPTS[p]), nil
}

// readSamples reads the samples of refs in file order, coalescing runs whose gaps are at
// most mp4ReadGap into one ReadAt each, and returns the data of the nv video and na audio
// samples, aliasing one buffer.
func (r *mp4Reader) readSamples(ctx context.Context, refs []sampleRef, nv, na int, b *Buffers) (vdata, adata [][]byte, err error) {
	path := r.f.Name()
	slices.SortFunc(refs, func(a, b sampleRef) int {
		switch {
		case a.off < b.off:
			return -1
		case a.off > b.off:
			return 1
		}
		return 0
	})
	// Size the buffer: the union of the runs.
	var total int64
	for i := 0; i < len(refs); {
		runStart, runEnd := refs[i].off, refs[i].off+int64(refs[i].size)
		for i++; i < len(refs) && refs[i].off <= runEnd+mp4ReadGap; i++ {
			runEnd = max(runEnd, refs[i].off+int64(refs[i].size))
		}
		total += runEnd - runStart
	}
	if total > 1<<31 {
		return nil, nil, fmt.Errorf("%s: range of %d bytes is too large", path, total)
	}
	buf := bytesOf(&b.vdata, int(total))[:total]
	b.vdata = buf[:0]
	vdata = slices.Grow(b.vsamples[:0], nv)[:nv]
	adata = slices.Grow(b.asamples[:0], na)[:na]
	b.vsamples, b.asamples = vdata[:0], adata[:0]
	pos := int64(0)
	for i := 0; i < len(refs); {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		first := i
		runStart, runEnd := refs[i].off, refs[i].off+int64(refs[i].size)
		for i++; i < len(refs) && refs[i].off <= runEnd+mp4ReadGap; i++ {
			runEnd = max(runEnd, refs[i].off+int64(refs[i].size))
		}
		run := buf[pos : pos+runEnd-runStart]
		if n, err := r.f.ReadAt(run, runStart); n < len(run) {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, nil, fmt.Errorf("%s: %w: file ends at byte %d, a sample ends at %d", path, ErrTruncated, runStart+int64(n), runEnd)
			}
			return nil, nil, fmt.Errorf("%s: read: %w", path, err)
		}
		for _, ref := range refs[first:i] {
			b := ref.off - runStart
			d := run[b : b+int64(ref.size) : b+int64(ref.size)]
			if ref.video {
				vdata[ref.i] = d
			} else {
				adata[ref.i] = d
			}
		}
		pos += runEnd - runStart
	}
	return vdata, adata, nil
}

var _ Reader = (*mp4Reader)(nil)
