package library

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"time"

	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"onair/internal/mp4track"
)

// MP4 probing reads the box structure with mp4ff (lazily: the mdat payload is skipped) and
// walks the sample tables of the first supported video and audio tracks: stsz (sizes), stsc
// and stco/co64 (chunk offsets), stts and ctts (decode and composition times), stss (sync
// samples) and the edit list.
// Specification: ISO/IEC 14496-12, 8.6 (time to sample), 8.7 (sample tables), 8.6.6 (edit list).

const (
	// mp4MaxSamples bounds the sample count of a track (16 M frames is 77 hours at 60 fps).
	mp4MaxSamples = 1 << 24
	// mp4MaxTopBoxes bounds the number of top-level boxes.
	mp4MaxTopBoxes = 1 << 16
)

// mp4TopBoxes are box types that may start an ISO BMFF or QuickTime file.
var mp4TopBoxes = map[string]bool{
	"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true, "wide": true,
	"pnot": true, "uuid": true, "styp": true, "meta": true, "junk": true, "pdin": true,
}

// probeMP4 probes an MP4 (or QuickTime) file of the given size. The error is an I/O error;
// content problems are in probeResult.problem.
func probeMP4(rs io.ReadSeeker, size int64) (probeResult, error) {
	res := probeResult{container: ContainerMP4}
	if size == 0 {
		res.problem = "empty file"
		return res, nil
	}
	if err := res.setProblem(checkMP4Boxes(rs, size)); err != nil || res.problem != "" {
		return res, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	f, err := decodeMP4(rs)
	if err != nil {
		// The box headers were readable a moment ago: a failure now is in the content.
		res.problem = fmt.Sprintf("invalid MP4: %v", err)
		return res, nil
	}
	if f.Moov == nil {
		res.problem = "invalid MP4: no moov box"
		return res, nil
	}
	if err := res.setProblem(mp4Tracks(f.Moov, size, &res)); err != nil {
		return res, err
	}
	res.finish()
	return res, nil
}

// decodeMP4 runs mp4ff's decoder, turning a panic inside it into an error.
func decodeMP4(rs io.ReadSeeker) (f *mp4.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return mp4.DecodeFile(rs, mp4.WithDecodeMode(mp4.DecModeLazyMdat))
}

// checkMP4Boxes walks the top-level box headers: every box must fit in the file, and there
// must be a moov box and no moof box (fragmented files are not supported).
func checkMP4Boxes(rs io.ReadSeeker, size int64) error {
	var hdr [16]byte
	pos := int64(0)
	hasMoov := false
	for i := 0; pos < size; i++ {
		if i >= mp4MaxTopBoxes {
			return problemf("invalid MP4: more than %d top-level boxes", mp4MaxTopBoxes)
		}
		if size-pos < 8 {
			return problemf("truncated: %d bytes after the last box", size-pos)
		}
		if _, err := rs.Seek(pos, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.ReadFull(rs, hdr[:8]); err != nil {
			return err
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		if i == 0 && !mp4TopBoxes[typ] {
			return problemf("not an MP4 file")
		}
		for _, c := range hdr[4:8] {
			if c < 0x20 || c > 0x7e {
				return problemf("invalid MP4: bad box type %q at byte %d", typ, pos)
			}
		}
		switch boxSize {
		case 0:
			return problemf("invalid MP4: box %q at byte %d extends to the end of the file (size 0 is not supported)", typ, pos)
		case 1:
			if size-pos < 16 {
				return problemf("truncated: box %q at byte %d", typ, pos)
			}
			if _, err := io.ReadFull(rs, hdr[8:16]); err != nil {
				return err
			}
			large := binary.BigEndian.Uint64(hdr[8:16])
			if large > uint64(size) {
				return problemf("truncated: box %q at byte %d has size %d, beyond the end of the file", typ, pos, large)
			}
			boxSize = int64(large)
		}
		if boxSize < 8 {
			return problemf("invalid MP4: box %q at byte %d has size %d", typ, pos, boxSize)
		}
		if boxSize > size-pos {
			return problemf("truncated: box %q at byte %d needs %d bytes, %d left", typ, pos, boxSize, size-pos)
		}
		switch typ {
		case "moov":
			hasMoov = true
		case "moof":
			return problemf("fragmented MP4 is not supported")
		}
		pos += boxSize
	}
	if !hasMoov {
		return problemf("invalid MP4: no moov box")
	}
	return nil
}

// mp4Tracks fills res from the first supported video and audio tracks of moov.
func mp4Tracks(moov *mp4.MoovBox, size int64, res *probeResult) error {
	var movieTimescale uint32
	if moov.Mvhd != nil {
		movieTimescale = moov.Mvhd.Timescale
	}
	chapterIDs := mp4track.ChapterTrackIDs(moov)

	var videoTrak, audioTrak *mp4.TrakBox
	var vp videoParams
	unsupportedVideo, unsupportedAudio := "", ""
	for _, trak := range moov.Traks {
		if !mp4track.Complete(trak) {
			continue
		}
		if trak.Tkhd != nil && chapterIDs[trak.Tkhd.TrackID] {
			res.chapters = append(res.chapters, mp4ChapterTimes(trak)...)
			continue
		}
		stsd := trak.Mdia.Minf.Stbl.Stsd
		switch trak.Mdia.Hdlr.HandlerType {
		case "vide":
			if videoTrak != nil {
				continue
			}
			p, codec, err := mp4VideoParams(stsd)
			if err != nil {
				return err
			}
			if codec != "" {
				unsupportedVideo = cmpOr(unsupportedVideo, codec)
				continue
			}
			videoTrak, vp = trak, p
		case "soun":
			if audioTrak != nil {
				continue
			}
			info, err := mp4AudioInfo(stsd)
			if err != nil {
				return err
			}
			if info.Codec != codecAAC && info.Codec != codecOpus && info.Codec != codecAC3 {
				unsupportedAudio = cmpOr(unsupportedAudio, info.Codec)
				continue
			}
			audioTrak, res.audio = trak, &info
		}
	}
	res.chapters = append(res.chapters, mp4NeroChapters(moov)...)
	if videoTrak == nil {
		if unsupportedVideo != "" {
			res.video = &VideoInfo{Codec: unsupportedVideo}
			return problemf("unsupported video codec %s", unsupportedVideo)
		}
		return problemf("no video track")
	}
	res.video = &vp.info
	if audioTrak == nil && unsupportedAudio != "" {
		res.audio = &AudioInfo{Codec: unsupportedAudio}
		return problemf("unsupported audio codec %s", unsupportedAudio)
	}

	st, err := walkMP4Samples(videoTrak, movieTimescale, size, true)
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	if audioTrak != nil {
		if _, err := walkMP4Samples(audioTrak, movieTimescale, size, false); err != nil {
			return fmt.Errorf("audio track: %w", err)
		}
	}
	res.duration = st.duration
	res.index = KeyframeIndex{StartPTS: st.start, Keyframes: st.keyframes}
	res.video.BFrames = vp.reorder > 0 || st.reorder
	if res.video.FrameRate.Num == 0 && st.samples > 0 {
		res.video.FrameRate = frameRateFromDuration(float64(st.duration) / float64(st.samples))
	}
	// Chapter times are on the movie time line; keep those inside the asset.
	slices.Sort(res.chapters)
	res.chapters = slices.Compact(res.chapters)
	end := ticksToDuration(res.duration)
	res.chapters = slices.DeleteFunc(res.chapters, func(d time.Duration) bool { return d <= 0 || d >= end })
	return nil
}

// mp4VideoParams returns the parameters of an H.264 or H.265 sample entry, or the name of an
// unsupported codec.
func mp4VideoParams(stsd *mp4.StsdBox) (videoParams, string, error) {
	switch {
	case stsd.AvcX != nil:
		if stsd.AvcX.AvcC == nil || len(stsd.AvcX.AvcC.SPSnalus) == 0 {
			return videoParams{}, "", problemf("H.264 track without SPS in its avcC box")
		}
		p, err := h264Params(stsd.AvcX.AvcC.SPSnalus[0])
		if err != nil {
			return p, "", problemf("%v", err)
		}
		return p, "", nil
	case stsd.HvcX != nil:
		if stsd.HvcX.HvcC != nil {
			for i := range stsd.HvcX.HvcC.NaluArrays {
				a := &stsd.HvcX.HvcC.NaluArrays[i]
				if a.NaluType() == hevc.NALU_SPS && len(a.Nalus) > 0 {
					p, err := h265Params(a.Nalus[0])
					if err != nil {
						return p, "", problemf("%v", err)
					}
					return p, "", nil
				}
			}
		}
		return videoParams{}, "", problemf("H.265 track without SPS in its hvcC box")
	}
	if len(stsd.Children) == 0 {
		return videoParams{}, "", problemf("video track without sample description")
	}
	entry := stsd.Children[0]
	switch entry.Type() {
	case "mp4v":
		if vse, ok := entry.(*mp4.VisualSampleEntryBox); ok && vse.Esds != nil && vse.Esds.DecConfigDescriptor != nil {
			// ISO/IEC 14496-1, Table 5 (objectTypeIndication).
			switch ot := vse.Esds.DecConfigDescriptor.ObjectType; {
			case ot >= 0x60 && ot <= 0x65:
				return videoParams{}, "mpeg2", nil
			case ot == 0x6a:
				return videoParams{}, "mpeg1", nil
			case ot == 0x6c:
				return videoParams{}, "mjpeg", nil
			}
		}
		return videoParams{}, "mpeg4", nil
	case "vp08":
		return videoParams{}, "vp8", nil
	case "vp09":
		return videoParams{}, "vp9", nil
	case "av01":
		return videoParams{}, "av1", nil
	case "vvc1", "vvi1":
		return videoParams{}, "h266", nil
	case "mjpg", "jpeg":
		return videoParams{}, "mjpeg", nil
	case "encv":
		return videoParams{}, "encrypted", nil
	}
	return videoParams{}, entry.Type(), nil
}

// mp4AudioInfo describes an audio sample entry; Codec names unsupported codecs too.
func mp4AudioInfo(stsd *mp4.StsdBox) (AudioInfo, error) {
	switch {
	case stsd.Mp4a != nil:
		e := stsd.Mp4a
		info := AudioInfo{Codec: codecAAC, SampleRate: int(e.SampleRate), Channels: int(e.ChannelCount)}
		esds := e.Esds
		if esds == nil && e.Wave != nil {
			// QuickTime puts the esds box in a wave box.
			esds = e.Wave.Esds
		}
		if esds == nil || esds.DecConfigDescriptor == nil {
			return info, problemf("AAC track without esds box")
		}
		dc := esds.DecConfigDescriptor
		switch ot := dc.ObjectType; {
		case ot == 0x40 || (ot >= 0x66 && ot <= 0x68):
		case ot == 0x69 || ot == 0x6b:
			return AudioInfo{Codec: "mp3"}, nil
		default:
			return AudioInfo{Codec: fmt.Sprintf("mp4a.%02x", ot)}, nil
		}
		if dc.DecSpecificInfo != nil && len(dc.DecSpecificInfo.DecConfig) > 0 {
			var asc mpeg4audio.AudioSpecificConfig
			if err := asc.Unmarshal(dc.DecSpecificInfo.DecConfig); err != nil {
				return info, problemf("invalid AAC AudioSpecificConfig: %v", err)
			}
			info.SampleRate = asc.SampleRate
			if ch := aacChannels(&asc); ch > 0 {
				info.Channels = ch
			}
		}
		return info, nil
	case stsd.Opus != nil:
		info := AudioInfo{Codec: codecOpus, SampleRate: 48000, Channels: int(stsd.Opus.ChannelCount)}
		if stsd.Opus.Dops != nil {
			info.Channels = int(stsd.Opus.Dops.OutputChannelCount)
		}
		return info, nil
	case stsd.AC3 != nil:
		info := AudioInfo{Codec: codecAC3, SampleRate: int(stsd.AC3.SampleRate), Channels: int(stsd.AC3.ChannelCount)}
		if d := stsd.AC3.Dac3; d != nil {
			info.SampleRate = d.SamplingFrequency()
			info.Channels, _ = d.ChannelInfo()
		}
		return info, nil
	case stsd.EC3 != nil:
		return AudioInfo{Codec: "eac3"}, nil
	case stsd.Mp3 != nil:
		return AudioInfo{Codec: "mp3"}, nil
	case stsd.QtPcm != nil:
		return AudioInfo{Codec: "pcm"}, nil
	}
	if len(stsd.Children) == 0 {
		return AudioInfo{}, problemf("audio track without sample description")
	}
	return AudioInfo{Codec: stsd.Children[0].Type()}, nil
}

// mp4SampleStats is what walking a track's samples finds.
type mp4SampleStats struct {
	samples int
	// start and duration of the presentation at 90 kHz, after the edit list.
	start    int64
	duration int64
	// keyframes are the sync samples (only when asked for).
	keyframes []Keyframe
	// reorder is true when composition times go backwards in decode order (B-frames).
	reorder bool
}

// walkMP4Samples visits every sample of a track once, checking that each lies inside the file.
func walkMP4Samples(trak *mp4.TrakBox, movieTimescale uint32, fileSize int64, wantKeyframes bool) (mp4SampleStats, error) {
	var st mp4SampleStats
	stbl := trak.Mdia.Minf.Stbl
	timescale := trak.Mdia.Mdhd.Timescale
	if timescale == 0 {
		return st, problemf("invalid MP4: media timescale 0")
	}
	if stbl.Stsz == nil || stbl.Stts == nil || stbl.Stsc == nil || (stbl.Stco == nil && stbl.Co64 == nil) {
		return st, problemf("invalid MP4: incomplete sample table")
	}
	n := int64(stbl.Stsz.SampleNumber)
	if n == 0 {
		return st, problemf("invalid MP4: track has no samples")
	}
	if n > mp4MaxSamples {
		return st, problemf("invalid MP4: %d samples", n)
	}
	uniform := int64(stbl.Stsz.SampleUniformSize)
	if uniform == 0 && int64(len(stbl.Stsz.SampleSize)) < n {
		return st, problemf("invalid MP4: stsz lists fewer sizes than samples")
	}
	if uniform != 0 && n > fileSize/uniform {
		return st, problemf("truncated: %d samples of %d bytes do not fit in the file", n, uniform)
	}
	var chunkOffsets []uint64
	if stbl.Co64 != nil {
		chunkOffsets = stbl.Co64.ChunkOffset
	} else {
		chunkOffsets = make([]uint64, len(stbl.Stco.ChunkOffset))
		for i, o := range stbl.Stco.ChunkOffset {
			chunkOffsets[i] = uint64(o)
		}
	}
	stsc := stbl.Stsc.Entries
	if len(stsc) == 0 || stsc[0].FirstChunk != 1 {
		return st, problemf("invalid MP4: stsc does not start at chunk 1")
	}

	// Edit list (ISO/IEC 14496-12, 8.6.6): leading empty edits delay the presentation; the
	// first media edit says which media time is presented first, and for how long.
	var mediaTime, delay90, editDur90 int64
	if trak.Edts != nil && len(trak.Edts.Elst) > 0 && movieTimescale > 0 {
		for _, e := range trak.Edts.Elst[0].Entries {
			if e.MediaTime == -1 {
				delay90 += scaleTo90k(int64(min(e.SegmentDuration, 1<<62)), movieTimescale)
				continue
			}
			mediaTime = e.MediaTime
			editDur90 = scaleTo90k(int64(min(e.SegmentDuration, 1<<62)), movieTimescale)
			break
		}
	}

	stts := stbl.Stts
	sttsIdx, sttsLeft := 0, uint32(0)
	ctts := stbl.Ctts
	cttsIdx := 0
	stss := stbl.Stss
	stssIdx := 0

	var dts int64
	var prevPTS int64
	minPTS, maxEnd := int64(1<<62), int64(-1<<62)
	s := int64(0) // sample index
	stscIdx := 0
	for chunk := 0; chunk < len(chunkOffsets) && s < n; chunk++ {
		for stscIdx+1 < len(stsc) && int(stsc[stscIdx+1].FirstChunk) <= chunk+1 {
			stscIdx++
		}
		off := int64(chunkOffsets[chunk])
		for j := uint32(0); j < stsc[stscIdx].SamplesPerChunk && s < n; j++ {
			size := uniform
			if size == 0 {
				size = int64(stbl.Stsz.SampleSize[s])
			}
			if off < 0 || off > fileSize || size > fileSize-off {
				return st, problemf("truncated: sample %d at byte %d (%d bytes) is beyond the end of the file", s+1, off, size)
			}
			for sttsLeft == 0 {
				if sttsIdx >= len(stts.SampleCount) {
					return st, problemf("invalid MP4: stts covers fewer samples than stsz")
				}
				sttsLeft = stts.SampleCount[sttsIdx]
				sttsIdx++
			}
			delta := int64(stts.SampleTimeDelta[sttsIdx-1])
			sttsLeft--
			var cto int64
			if ctts != nil {
				for cttsIdx < len(ctts.SampleOffset) && s >= int64(ctts.EndSampleNr[cttsIdx+1]) {
					cttsIdx++
				}
				if cttsIdx < len(ctts.SampleOffset) {
					cto = int64(ctts.SampleOffset[cttsIdx])
				}
			}
			pts := dts + cto
			if s > 0 && pts < prevPTS {
				st.reorder = true
			}
			prevPTS = pts
			minPTS = min(minPTS, pts)
			maxEnd = max(maxEnd, pts+delta)

			sync := stss == nil
			if !sync {
				for stssIdx < len(stss.SampleNumber) && int64(stss.SampleNumber[stssIdx]) < s+1 {
					stssIdx++
				}
				sync = stssIdx < len(stss.SampleNumber) && int64(stss.SampleNumber[stssIdx]) == s+1
			}
			if sync && wantKeyframes {
				st.keyframes = append(st.keyframes, Keyframe{PTS: scaleTo90k(pts-mediaTime, timescale) + delay90, Offset: off})
			}
			dts += delta
			off += size
			s++
		}
	}
	if s < n {
		return st, problemf("invalid MP4: chunks hold %d of %d samples", s, n)
	}
	st.samples = int(n)
	st.start = scaleTo90k(max(minPTS, mediaTime)-mediaTime, timescale) + delay90
	st.duration = scaleTo90k(maxEnd-max(minPTS, mediaTime), timescale)
	if editDur90 > 0 && editDur90 < st.duration {
		st.duration = editDur90
	}
	slices.SortStableFunc(st.keyframes, func(a, b Keyframe) int { return cmpInt64(a.PTS, b.PTS) })
	return st, nil
}

// scaleTo90k converts v in units of 1/timescale s to 90 kHz ticks, rounding to nearest,
// without overflow.
func scaleTo90k(v int64, timescale uint32) int64 {
	if timescale == 0 {
		return 0
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	hi, lo := bits.Mul64(u, 90000)
	lo, carry := bits.Add64(lo, uint64(timescale/2), 0)
	hi += carry
	if hi >= uint64(timescale) {
		return 0
	}
	q, _ := bits.Div64(hi, lo, uint64(timescale))
	q = min(q, 1<<62)
	if neg {
		return -int64(q)
	}
	return int64(q)
}

// mp4ChapterTimes returns the start times of the samples of a QuickTime chapter (text) track.
func mp4ChapterTimes(trak *mp4.TrakBox) []time.Duration {
	stts := trak.Mdia.Minf.Stbl.Stts
	ts := trak.Mdia.Mdhd.Timescale
	if stts == nil || ts == 0 {
		return nil
	}
	var out []time.Duration
	var t int64
	for i, c := range stts.SampleCount {
		for j := uint32(0); j < c && len(out) < 1000; j++ {
			out = append(out, ticksToDuration(scaleTo90k(t, ts)))
			t += int64(stts.SampleTimeDelta[i])
		}
	}
	return out
}

// mp4NeroChapters returns the chapter start times of a Nero chpl box in moov/udta:
// version, flags, (a 4-byte reserved field in version 1), a count byte, then per chapter an
// 8-byte start in 100 ns units and a length-prefixed title.
func mp4NeroChapters(moov *mp4.MoovBox) []time.Duration {
	var out []time.Duration
	for _, c := range moov.Children {
		udta, ok := c.(*mp4.UdtaBox)
		if !ok {
			continue
		}
		for _, uc := range udta.Children {
			u, ok := uc.(*mp4.UnknownBox)
			if !ok || u.Type() != "chpl" {
				continue
			}
			p := u.Payload()
			if len(p) < 5 {
				continue
			}
			pos := 4
			if p[0] != 0 {
				pos += 4
			}
			if pos >= len(p) {
				continue
			}
			count := int(p[pos])
			pos++
			for i := 0; i < count && pos+9 <= len(p); i++ {
				start := binary.BigEndian.Uint64(p[pos:])
				titleLen := int(p[pos+8])
				pos += 9 + titleLen
				if start < 1<<62/100 {
					out = append(out, time.Duration(start*100))
				}
			}
		}
	}
	return out
}
