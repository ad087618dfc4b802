package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"sync"

	"onair/library"
)

const (
	// tsSeekMargin is how far before the range's keyframe reading starts: audio can be muxed
	// before the video of the same time. Reading starts at least one keyframe earlier.
	tsSeekMargin = 90000
	// tsAudioLag bounds how far after the video of the same time audio can be muxed: reading
	// stops at the keyframe this far after the range's end even if audio is still missing.
	tsAudioLag = 3 * 90000
	// tsReadPackets is the number of packets one ReadAt reads at most.
	tsReadPackets = 4096
	// tsTailRead is the size of the reads after the end of the video.
	tsTailRead = 32 << 10
)

var tsBufPool = sync.Pool{New: func() any { return new([]byte) }}

// tsReader reads ranges of a MPEG-TS file.
type tsReader struct {
	f  file
	h  *tsHeader
	kf library.KeyframeIndex
}

func (r *tsReader) Info() Info   { return cloneInfo(r.h.inf) }
func (r *tsReader) Close() error { return r.f.Close() }

// Range implements Reader: it seeks to a keyframe before the range (by the keyframe index)
// and demuxes forward until the video reaches to and the audio to + 2 frames.
func (r *tsReader) Range(ctx context.Context, from, to int64) (video, audio []Frame, err error) {
	return r.RangeWith(ctx, from, to, nil)
}

// RangeWith implements Reader.
func (r *tsReader) RangeWith(ctx context.Context, from, to int64, b *Buffers) (video, audio []Frame, err error) {
	path, size, h := r.f.Name(), r.f.Size(), r.h
	if to < from {
		return nil, nil, fmt.Errorf("%s: invalid range [%d, %d)", path, from, to)
	}
	kfs := r.kf.Keyframes
	if len(kfs) == 0 {
		return nil, nil, fmt.Errorf("%s: %w: the index is empty", path, ErrIndexMismatch)
	}
	stride := int64(h.layout.Stride)

	// The keyframe the video starts at, and where reading starts.
	i := max(0, sort.Search(len(kfs), func(i int) bool { return kfs[i].PTS > from })-1)
	k := kfs[i]
	startOff, ref := r.seekPoint(i)
	// The keyframe at or after the end, which the video must reach.
	j := sort.Search(len(kfs), func(j int) bool { return kfs[j].PTS >= to })
	endOff := size
	if j < len(kfs) {
		endOff = kfs[j].Offset
	}
	for _, o := range []int64{startOff, k.Offset, endOff} {
		if o < 0 || o%stride != 0 {
			return nil, nil, fmt.Errorf("%s: %w: offset %d is not at a packet boundary", path, ErrIndexMismatch, o)
		}
		if o > size || (o == size && o != endOff) {
			return nil, nil, fmt.Errorf("%s: %w: the keyframe index points to byte %d, the file has %d bytes", path, ErrTruncated, o, size)
		}
	}
	limit := size
	if l := sort.Search(len(kfs), func(l int) bool { return kfs[l].PTS >= addTicks(to, tsAudioLag) }); l < len(kfs) {
		limit = min(size, kfs[l].Offset)
	}

	afd := h.inf.audioFrameTicks()
	rs := &tsRange{
		path:       path,
		h:          h,
		kfs:        kfs,
		startKF:    k,
		nextKF:     sort.Search(len(kfs), func(n int) bool { return kfs[n].Offset >= startOff }),
		to:         to,
		audioStart: addTicks(min(from, k.PTS), -2*afd),
		audioEnd:   addTicks(to, 2*afd),
		hasAudio:   h.audioPID != noPID,
	}
	// Size the outputs and arenas for the expected frames and bytes: every PES takes at least
	// a packet, and the payload is less than the bytes read.
	span := endOff - min(k.Offset, endOff)
	maxUnits := (endOff-startOff)/stride + 1
	if b != nil {
		rs.video, rs.audio, rs.nals, rs.one = b.video[:0], b.audio[:0], b.nals[:0], b.one[:0]
		rs.raw = b.AnnexB
	}
	if fd := h.inf.FrameDuration; fd > 0 && to > k.PTS && cap(rs.video) == 0 {
		rs.video = make([]Frame, 0, min((to-k.PTS)/fd+2, maxUnits, 1<<12))
	}
	if afd > 0 && to > k.PTS && cap(rs.audio) == 0 {
		rs.audio = make([]Frame, 0, min((to-k.PTS)/afd+6, 4*maxUnits, 1<<12))
	}
	d := newTSDemux(path, h.layout, h.videoPID, h.audioPID, rs)
	d.unwrap = unwrapper{set: true, ref: ref}
	d.limit = limit
	d.v.data.minChunk = int(max(16<<10, min(span+span/16, 64<<20)))
	d.a.data.minChunk = int(max(16<<10, min(span/8, 8<<20)))
	if b != nil {
		d.v.data.buf = bytesOf(&b.vdata, d.v.data.minChunk)
		d.a.data.buf = bytesOf(&b.adata, d.a.data.minChunk)
	}
	rs.demux = d

	err = r.read(ctx, d, startOff, endOff, limit)
	if err == nil {
		err = d.flush()
	}
	if b != nil {
		// Keep the newest (largest) memory for the next call.
		b.vdata, b.adata = d.v.data.buf[:0], d.a.data.buf[:0]
		b.video, b.audio, b.nals, b.one = rs.video[:0], rs.audio[:0], rs.nals[:0], rs.one[:0]
	}
	if err != nil {
		return nil, nil, err
	}
	if !rs.videoStarted {
		return nil, nil, fmt.Errorf("%s: %w: no video PES with PTS %d at byte %d", path, ErrIndexMismatch, k.PTS, k.Offset)
	}
	if !rs.videoDone && j < len(kfs) {
		return nil, nil, fmt.Errorf("%s: %w: no video PES with PTS %d at byte %d", path, ErrIndexMismatch, kfs[j].PTS, kfs[j].Offset)
	}
	return rs.video, rs.audio, nil
}

// seekPoint returns the packet offset where reading for keyframe i starts, tsSeekMargin
// before it, and a timestamp near that point for unwrapping. Offsets between two keyframes
// are interpolated linearly by time (any packet boundary will do: the demuxer waits for the
// next PES start); before the first keyframe, reading starts at the beginning of the file.
func (r *tsReader) seekPoint(i int) (off, ref int64) {
	kfs := r.kf.Keyframes
	k := kfs[i]
	target := k.PTS - tsSeekMargin
	m := sort.Search(len(kfs), func(j int) bool { return kfs[j].PTS > target }) - 1
	if m < 0 {
		return 0, kfs[0].PTS
	}
	if m+1 >= len(kfs) {
		return kfs[m].Offset, kfs[m].PTS // only with an unsorted index
	}
	prev, next := kfs[m], kfs[m+1]
	if next.PTS <= prev.PTS || next.Offset <= prev.Offset {
		return prev.Offset, prev.PTS
	}
	// prev.PTS <= target < next.PTS.
	stride := int64(r.h.layout.Stride)
	frac := new(big.Int).Mul(big.NewInt(next.Offset-prev.Offset), big.NewInt(target-prev.PTS))
	frac.Quo(frac, big.NewInt(next.PTS-prev.PTS))
	off = prev.Offset + frac.Int64()/stride*stride
	return min(off, next.Offset), prev.PTS
}

// read feeds d with the packets from startOff until d stops, the limit or the end of the
// file. It reads in large blocks up to a little after endOff, where the video ends, then in
// small ones, since the audio usually completes soon after.
func (r *tsReader) read(ctx context.Context, d *tsDemux, startOff, endOff, limit int64) error {
	path, size, stride := r.f.Name(), r.f.Size(), d.layout.Stride
	bufp := tsBufPool.Get().(*[]byte)
	defer tsBufPool.Put(bufp)
	if n := tsReadPackets * stride; cap(*bufp) < n {
		*bufp = make([]byte, n)
	}
	buf := (*bufp)[:tsReadPackets*stride]
	target := endOff + tsTailRead
	for off := startOff; !d.stop && off < size && off < limit; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		want := int64(len(buf))
		if off < target {
			want = min(want, target-off)
		} else {
			want = min(want, tsTailRead)
		}
		want = min(want, limit-off)
		want = min((want+int64(stride)-1)/int64(stride)*int64(stride), size-off)
		n := int(want)
		k, err := r.f.ReadAt(buf[:n], off)
		if k < n {
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("%s: %w: file ends at byte %d, expected %d", path, ErrTruncated, off+int64(k), size)
			}
			return fmt.Errorf("%s: read: %w", path, err)
		}
		whole := k / stride * stride
		if err := d.feed(buf[:whole], off); err != nil {
			return err
		}
		off += int64(whole)
		if whole < k && !d.stop {
			return fmt.Errorf("%s: %w: %d bytes after the last whole packet at byte %d", path, ErrTruncated, k-whole, off)
		}
	}
	return nil
}

// tsRange is the tsSink of one Range call: it picks the units of the range and turns them
// into frames.
type tsRange struct {
	path  string
	h     *tsHeader
	demux *tsDemux
	kfs   []library.Keyframe
	// startKF is where the video starts; nextKF the next index entry to check against the
	// file while reading.
	startKF library.Keyframe
	nextKF  int
	to      int64

	audioStart, audioEnd int64
	hasAudio             bool

	videoStarted, videoDone, audioDone bool
	// raw asks for the frames between keyframes as Annex-B (Buffers.AnnexB); atKey is set
	// while the open video unit is at a keyframe of the index.
	raw, atKey bool

	// carry is set when the last audio unit ended with an incomplete frame, which starts the
	// next one; carryPTS is that frame's PTS.
	carry    bool
	carryPTS int64

	video, audio []Frame
	nals         [][]byte
	one          [][]byte
	af           []audioFrame
}

func (rs *tsRange) mismatch(format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", rs.path, ErrIndexMismatch, fmt.Sprintf(format, args...))
}

func (rs *tsRange) start(s *tsStream, u unitInfo) (collect bool, err error) {
	if s.video {
		if rs.videoDone {
			return false, nil
		}
		// Every keyframe of the index passed on the way must start a video PES with its PTS.
		rs.atKey = false
		for rs.nextKF < len(rs.kfs) && rs.kfs[rs.nextKF].Offset <= u.off {
			k := rs.kfs[rs.nextKF]
			if k.Offset != u.off {
				return false, rs.mismatch("no video PES starts at byte %d (keyframe PTS %d)", k.Offset, k.PTS)
			}
			if k.PTS != u.pts {
				return false, rs.mismatch("video PES at byte %d has PTS %d, the index says %d", k.Offset, u.pts, k.PTS)
			}
			rs.nextKF++
			rs.atKey = true
		}
		if !rs.videoStarted {
			if u.off != rs.startKF.Offset {
				return false, nil
			}
			rs.videoStarted = true
		}
		if u.pts >= rs.to {
			rs.videoDone = true
			rs.checkStop()
			return false, nil
		}
		return true, nil
	}
	if rs.audioDone {
		return false, nil
	}
	if u.pts >= rs.audioEnd {
		rs.audioDone, rs.carry = true, false
		rs.checkStop()
		return false, nil
	}
	return true, nil
}

func (rs *tsRange) checkStop() {
	if rs.videoDone && (!rs.hasAudio || rs.audioDone) {
		rs.demux.stop = true
	}
}

func (rs *tsRange) unit(s *tsStream, u unitInfo, data []byte) (int, error) {
	if s.video {
		return 0, rs.videoUnit(u, data)
	}
	return rs.audioUnit(u, data)
}

func (rs *tsRange) videoUnit(u unitInfo, data []byte) error {
	if rs.raw && !rs.atKey && len(rs.video) > 0 {
		// Between the keyframes of the index: the access unit as the file has it.
		if !startsWithStartCode(data) {
			return fmt.Errorf("%s: %w: video PES at byte %d: %w", rs.path, ErrCorrupt, u.off, errNoStartCode)
		}
		rs.nals = append(rs.nals, data)
		n := len(rs.nals)
		rs.video = append(rs.video, Frame{Video: true, PTS: u.pts, DTS: u.dts, AnnexB: true, Data: rs.nals[n-1 : n : n]})
		return nil
	}
	first := len(rs.nals)
	nals, err := splitAnnexB(rs.nals, data)
	key := false
	if err == nil {
		nals, key, err = rs.h.kind.accessUnit(nals, first, &rs.h.ps, false)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: video PES at byte %d: %w", rs.path, ErrCorrupt, u.off, err)
	}
	rs.nals = nals
	if len(rs.video) == 0 && !key {
		return rs.mismatch("the video PES at byte %d is not a keyframe", u.off)
	}
	rs.video = append(rs.video, Frame{Video: true, PTS: u.pts, DTS: u.dts, Key: key, Data: nals[first:len(nals):len(nals)]})
	return nil
}

func (rs *tsRange) audioUnit(u unitInfo, data []byte) (int, error) {
	h := rs.h
	frames, keep, total, err := splitAudio(rs.af[:0], h.audioCodec, data, h.inf.AudioFrameSamples)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: audio PES at byte %d: %w", rs.path, ErrCorrupt, u.off, err)
	}
	rs.af = frames
	sr := uint32(h.inf.SampleRate)
	// The PES PTS is that of the first frame that starts in the PES; a frame carried over from
	// the previous unit comes before it.
	base, skip := int64(0), 0
	if rs.carry && len(frames) > 0 {
		skip = 1
		if len(frames) > 1 {
			base = frames[1].samples
		}
	}
	for n, fr := range frames {
		pts := u.pts + scaleTo90k(fr.samples-base, sr)
		if n < skip {
			pts = rs.carryPTS
		}
		if pts < rs.audioStart || pts >= rs.audioEnd {
			continue
		}
		rs.one = append(rs.one, fr.data)
		rs.audio = append(rs.audio, Frame{PTS: pts, DTS: pts, Data: rs.one[len(rs.one)-1 : len(rs.one) : len(rs.one)]})
	}
	switch {
	case keep == 0:
		rs.carry = false
	case len(frames) == 0 && rs.carry:
		// A frame spanning the whole unit: it still starts where the carry said.
	case len(frames) <= skip:
		rs.carry, rs.carryPTS = true, u.pts
	default:
		rs.carry, rs.carryPTS = true, u.pts+scaleTo90k(total-base, sr)
	}
	return keep, nil
}

// cloneInfo returns a copy of i that shares no memory with it.
func cloneInfo(i Info) Info {
	i.SPS, i.PPS, i.VPS = cloneBytes(i.SPS), cloneBytes(i.PPS), cloneBytes(i.VPS)
	i.AudioConfig = cloneBytes(i.AudioConfig)
	return i
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

var _ Reader = (*tsReader)(nil)
