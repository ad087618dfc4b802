package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"onair/engine/source"
	"onair/library"
	"onair/muxer"
)

// Sources opens the readers the splicer reads assets with (a *source.Cache).
type Sources interface {
	Open(path, container string, kf library.KeyframeIndex) (source.Reader, error)
}

// PIDs of a channel's elementary streams.
const (
	VideoPID = 0x100
	AudioPID = 0x101
)

// Segment is the media of one segment on the channel clock, ready to mux.
type Segment struct {
	Config muxer.Config
	Units  []muxer.Unit
}

// Splice reads segment i of item it from asset a and rebases it onto the
// channel clock.
//
// Video keeps its decode timing: the segment's first keyframe gets DTS
// it.Start+from (from is the segment's offset in the item) and every frame
// keeps its distance to it, so DTS runs on without a gap or overlap from one
// item to the next (an item's duration is a whole number of frames); PTS is
// DTS plus the file's composition offset, so B-frames stay correct.
//
// Audio is laid on the channel's own grid of audio frames — frame j is
// presented at j*samples*90000/rate, exactly, so nothing drifts over days — and
// each grid slot takes the source frame presented nearest to the same moment of
// the item; a slot with no source frame within one frame is left empty. So at
// every splice audio is within one audio frame of video.
func Splice(ctx context.Context, src Sources, a Asset, it *Item, i int) (Segment, error) {
	return SpliceWith(ctx, src, a, it, i, nil)
}

// Scratch is memory that consecutive SpliceWith calls reuse: a segment's
// units alias it until the next call with the same Scratch. Not safe for
// concurrent use; see ScratchPool.
type Scratch struct {
	src                  source.Buffers
	video, audio, merged []muxer.Unit
}

var scratchPool = sync.Pool{New: func() any { return new(Scratch) }}

// GetScratch takes a Scratch from a process-wide pool; PutScratch returns it
// once the segment made with it has been muxed.
func GetScratch() *Scratch { return scratchPool.Get().(*Scratch) }

// PutScratch returns sc to the pool.
func PutScratch(sc *Scratch) { scratchPool.Put(sc) }

// SpliceWith is Splice reusing the memory of sc (nil: fresh memory).
func SpliceWith(ctx context.Context, src Sources, a Asset, it *Item, i int, sc *Scratch) (Segment, error) {
	if sc == nil {
		sc = new(Scratch)
	}
	sc.src.AnnexB = true
	from, to := it.SegmentRange(i)
	r, err := src.Open(a.Path, a.Container, a.Index)
	if err != nil {
		return Segment{}, err
	}
	defer r.Close()
	info := r.Info()
	srcFrom := a.Index.StartPTS + it.In + from
	srcTo := a.Index.StartPTS + it.In + to
	video, audio, err := r.RangeWith(ctx, srcFrom, srcTo, &sc.src)
	if err != nil {
		return Segment{}, err
	}
	if len(video) == 0 || !video[0].Key || video[0].PTS != srcFrom {
		return Segment{}, fmt.Errorf("%s: segment %d of item %d: no keyframe at %s (the file changed since it was scheduled?)", a.Path, i, it.Index, TicksToDuration(it.In+from))
	}
	cfg, err := muxConfig(info, it.Start+to)
	if err != nil {
		return Segment{}, fmt.Errorf("%s: %w", a.Path, err)
	}
	segStart := it.Start + from
	segEnd := it.Start + to
	k := video[0]
	reorder := k.PTS - k.DTS
	units := sc.video[:0]
	for _, f := range video {
		if i == 0 && f.PTS < srcFrom {
			// A leading picture of an open-GOP keyframe: it references the
			// picture before the splice, which this channel did not play.
			continue
		}
		dts := segStart + (f.DTS - k.DTS)
		if dts >= segEnd {
			break
		}
		units = append(units, muxer.Unit{Track: 0, DTS: dts, PTS: dts + (f.PTS - f.DTS), Key: f.Key, Data: f.Data, AnnexB: f.AnnexB})
	}
	sc.video = units
	if len(cfg.Tracks) > 1 {
		sc.audio = alignAudio(sc.audio[:0], info, audio, srcFrom, segStart+reorder, segEnd+reorder)
		sc.merged = mergeByDTS(sc.merged[:0], units, sc.audio)
		units = sc.merged
	}
	return Segment{Config: cfg, Units: units}, nil
}

// alignAudio lays source audio frames onto the channel's audio grid for the
// presentation span [start, end); srcStart is the source time presented at start.
func alignAudio(out []muxer.Unit, info source.Info, audio []source.Frame, srcStart, start, end int64) []muxer.Unit {
	samples := int64(info.AudioFrameSamples)
	rate := int64(info.SampleRate)
	if samples <= 0 || rate <= 0 || len(audio) == 0 {
		return out
	}
	den := samples * Hz
	ptsOf := func(j int64) int64 { return floorDiv(j*den, rate) }
	frame := ptsOf(1)
	j0 := ceilDiv(start*rate, den)
	j1 := ceilDiv(end*rate, den)
	for j := j0; j < j1; j++ {
		pts := ptsOf(j)
		want := srcStart + (pts - start)
		n := sort.Search(len(audio), func(n int) bool { return audio[n].PTS >= want })
		best := -1
		for _, c := range []int{n - 1, n} {
			if c >= 0 && c < len(audio) && abs64(audio[c].PTS-want) <= frame/2+1 {
				if best < 0 || abs64(audio[c].PTS-want) < abs64(audio[best].PTS-want) {
					best = c
				}
			}
		}
		if best < 0 {
			continue
		}
		out = append(out, muxer.Unit{Track: 1, PTS: pts, DTS: pts, Data: audio[best].Data})
	}
	return out
}

// mergeByDTS interleaves video and audio units in DTS order (video first on ties).
func mergeByDTS(out, video, audio []muxer.Unit) []muxer.Unit {
	i, j := 0, 0
	for i < len(video) || j < len(audio) {
		if j >= len(audio) || (i < len(video) && video[i].DTS <= audio[j].DTS) {
			out = append(out, video[i])
			i++
		} else {
			out = append(out, audio[j])
			j++
		}
	}
	return out
}

// muxConfig is the muxer configuration of a stream with info's tracks.
func muxConfig(info source.Info, endDTS int64) (muxer.Config, error) {
	var cfg muxer.Config
	switch info.VideoCodec {
	case "h264":
		cfg.Tracks = append(cfg.Tracks, muxer.Track{PID: VideoPID, Codec: muxer.CodecH264})
	case "h265":
		cfg.Tracks = append(cfg.Tracks, muxer.Track{PID: VideoPID, Codec: muxer.CodecH265})
	default:
		return cfg, fmt.Errorf("unsupported video codec %q", info.VideoCodec)
	}
	if info.AudioCodec == "aac" && len(info.AudioConfig) > 0 {
		cfg.Tracks = append(cfg.Tracks, muxer.Track{PID: AudioPID, Codec: muxer.CodecAAC, AudioSpecificConfig: info.AudioConfig})
	}
	cfg.EndDTS = endDTS
	return cfg, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
