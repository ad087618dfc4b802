package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"onair/internal/mp4track"
	"onair/library"
)

// mp4Header is what a Cache keeps of an MP4 file: the sample tables of the first H.264/H.265
// track and of the first AAC, Opus or AC-3 track, and the codec parameters from their sample
// descriptions. The mp4ff box tree is not kept.
type mp4Header struct {
	video  *sampleTable
	audio  *sampleTable
	kind   nalKind
	nalLen int
	ps     [3][]byte
	inf    Info
}

func (h *mp4Header) info() Info { return h.inf }

func (h *mp4Header) newReader(f file, kf library.KeyframeIndex) Reader {
	return &mp4Reader{f: f, h: h, kf: kf}
}

// decodeMP4 runs mp4ff's decoder with a lazily skipped mdat, turning a panic into an error.
func decodeMP4(r io.ReadSeeker) (f *mp4.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return mp4.DecodeFile(r, mp4.WithDecodeMode(mp4.DecModeLazyMdat))
}

// parseMP4Header parses the moov box of f and expands the sample tables.
func parseMP4Header(f file) (*mp4Header, error) {
	path, size := f.Name(), f.Size()
	if size == 0 {
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrTruncated)
	}
	if err := checkTopBoxes(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mf, err := decodeMP4(io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: invalid MP4: %w", path, ErrCorrupt, err)
	}
	if mf.Moov == nil {
		return nil, fmt.Errorf("%s: %w: no moov box", path, ErrCorrupt)
	}
	if mf.IsFragmented() {
		return nil, fmt.Errorf("%s: %w: fragmented MP4", path, ErrUnsupported)
	}
	h, err := mp4Tracks(f, mf.Moov)
	if err != nil {
		if errors.Is(err, ErrTruncated) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("%s: %w: %w", path, ErrCorrupt, err)
	}
	return h, nil
}

// mp4Tracks picks the tracks (skipping QuickTime chapter tracks), as the library's probe does.
func mp4Tracks(f file, moov *mp4.MoovBox) (*mp4Header, error) {
	var movieTimescale uint32
	if moov.Mvhd != nil {
		movieTimescale = moov.Mvhd.Timescale
	}
	chapters := mp4track.ChapterTrackIDs(moov)
	h := &mp4Header{}
	var videoTrak, audioTrak *mp4.TrakBox
	for _, trak := range moov.Traks {
		if !mp4track.Complete(trak) {
			continue
		}
		if trak.Tkhd != nil && chapters[trak.Tkhd.TrackID] {
			continue
		}
		stsd := trak.Mdia.Minf.Stbl.Stsd
		switch trak.Mdia.Hdlr.HandlerType {
		case "vide":
			if videoTrak == nil && h.videoParams(stsd) {
				videoTrak = trak
			}
		case "soun":
			if audioTrak == nil {
				ok, err := h.audioParams(stsd)
				if err != nil {
					return nil, err
				}
				if ok {
					audioTrak = trak
				}
			}
		}
	}
	if videoTrak == nil {
		return nil, fmt.Errorf("%w: no H.264 or H.265 video track", ErrUnsupported)
	}
	var err error
	if h.video, err = buildSampleTable(videoTrak, movieTimescale, f.Size()); err != nil {
		return nil, fmt.Errorf("video track: %w", err)
	}
	if audioTrak != nil {
		if h.audio, err = buildSampleTable(audioTrak, movieTimescale, f.Size()); err != nil {
			return nil, fmt.Errorf("audio track: %w", err)
		}
		if h.inf.AudioCodec == codecOpus && h.audio.timescale > 0 {
			h.inf.AudioFrameSamples = int(h.audio.delta * opusSampleRate / int64(h.audio.timescale))
		}
	}
	if perr := h.inBandParams(f); perr != nil {
		return nil, perr
	}
	h.inf.VPS, h.inf.SPS, h.inf.PPS = h.ps[0], h.ps[1], h.ps[2]
	fps, err := spsParams(&h.inf, h.kind)
	if err != nil {
		return nil, err
	}
	h.inf.FrameDuration = h.video.ticks
	if h.inf.FrameDuration <= 0 && fps > 0 {
		h.inf.FrameDuration = int64(90000/fps + 0.5)
	}
	return h, nil
}

// videoParams takes the parameter sets of an avc1/avc3 or hvc1/hev1 sample entry and reports
// whether the entry is one of those.
func (h *mp4Header) videoParams(stsd *mp4.StsdBox) bool {
	switch {
	case stsd.AvcX != nil && stsd.AvcX.AvcC != nil:
		c := stsd.AvcX.AvcC
		h.kind, h.nalLen, h.inf.VideoCodec = nalKind{}, 4, codecH264
		if len(c.SPSnalus) > 0 {
			h.ps[1] = c.SPSnalus[0]
		}
		if len(c.PPSnalus) > 0 {
			h.ps[2] = c.PPSnalus[0]
		}
		return true
	case stsd.HvcX != nil && stsd.HvcX.HvcC != nil:
		c := stsd.HvcX.HvcC
		h.kind, h.nalLen, h.inf.VideoCodec = nalKind{h265: true}, int(c.LengthSizeMinusOne&3)+1, codecH265
		for i := range c.NaluArrays {
			a := &c.NaluArrays[i]
			if len(a.Nalus) == 0 {
				continue
			}
			switch a.NaluType() {
			case hevc.NALU_VPS:
				h.ps[0] = cmpOrBytes(h.ps[0], a.Nalus[0])
			case hevc.NALU_SPS:
				h.ps[1] = cmpOrBytes(h.ps[1], a.Nalus[0])
			case hevc.NALU_PPS:
				h.ps[2] = cmpOrBytes(h.ps[2], a.Nalus[0])
			}
		}
		return true
	}
	return false
}

func cmpOrBytes(a, b []byte) []byte {
	if a != nil {
		return a
	}
	return b
}

// audioParams takes the parameters of an AAC, Opus or AC-3 sample entry and reports whether
// the entry is one of those.
func (h *mp4Header) audioParams(stsd *mp4.StsdBox) (bool, error) {
	switch {
	case stsd.Mp4a != nil:
		e := stsd.Mp4a
		if e.Esds == nil || e.Esds.DecConfigDescriptor == nil {
			return false, nil
		}
		dc := e.Esds.DecConfigDescriptor
		if ot := dc.ObjectType; ot != 0x40 && (ot < 0x66 || ot > 0x68) {
			return false, nil // MP3 and others
		}
		if dc.DecSpecificInfo == nil || len(dc.DecSpecificInfo.DecConfig) == 0 {
			return false, fmt.Errorf("%w: AAC track without AudioSpecificConfig", ErrCorrupt)
		}
		cfg := dc.DecSpecificInfo.DecConfig
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(cfg); err != nil {
			return false, fmt.Errorf("%w: invalid AAC AudioSpecificConfig: %w", ErrCorrupt, err)
		}
		h.inf.AudioCodec = codecAAC
		h.inf.AudioConfig = bytes.Clone(cfg)
		h.inf.SampleRate = asc.SampleRate
		h.inf.Channels = aacChannels(int(asc.ChannelConfig))
		if h.inf.Channels == 0 {
			h.inf.Channels = int(e.ChannelCount)
		}
		h.inf.AudioFrameSamples = aacFrameSamples
		if asc.FrameLengthFlag {
			h.inf.AudioFrameSamples = 960
		}
		return true, nil
	case stsd.Opus != nil:
		h.inf.AudioCodec = codecOpus
		h.inf.SampleRate = opusSampleRate
		h.inf.Channels = int(stsd.Opus.ChannelCount)
		if stsd.Opus.Dops != nil {
			h.inf.Channels = int(stsd.Opus.Dops.OutputChannelCount)
		}
		return true, nil
	case stsd.AC3 != nil:
		h.inf.AudioCodec = codecAC3
		h.inf.SampleRate = int(stsd.AC3.SampleRate)
		h.inf.Channels = int(stsd.AC3.ChannelCount)
		if d := stsd.AC3.Dac3; d != nil {
			h.inf.SampleRate = d.SamplingFrequency()
			h.inf.Channels, _ = d.ChannelInfo()
		}
		h.inf.AudioFrameSamples = ac3FrameSamples
		return true, nil
	}
	return false, nil
}

// inBandParams completes parameter sets missing from avcC/hvcC (avc3, hev1) from the first
// sync sample.
func (h *mp4Header) inBandParams(f file) error {
	need := 1
	if h.kind.h265 {
		need = 0
	}
	missing := false
	for s := need; s < 3; s++ {
		missing = missing || h.ps[s] == nil
	}
	if !missing {
		return nil
	}
	t := h.video
	if len(t.syncByPTS) == 0 {
		return fmt.Errorf("%w: no sync sample", ErrCorrupt)
	}
	i := t.syncByPTS[0]
	if t.size[i] > 64<<20 {
		return fmt.Errorf("%w: sample %d of %d bytes", ErrCorrupt, i+1, t.size[i])
	}
	buf := make([]byte, t.size[i])
	if _, err := f.ReadAt(buf, t.off[i]); err != nil {
		return fmt.Errorf("%w: reading sample %d: %w", ErrTruncated, i+1, err)
	}
	nals, err := splitLengthPrefixed(nil, buf, h.nalLen)
	if err != nil {
		return fmt.Errorf("%w: sample %d at byte %d: %w", ErrCorrupt, i+1, t.off[i], err)
	}
	for _, nal := range nals {
		if s := h.kind.paramSlot(h.kind.typ(nal)); s >= 0 && h.ps[s] == nil {
			h.ps[s] = nal
		}
	}
	for s := need; s < 3; s++ {
		if h.ps[s] == nil {
			return fmt.Errorf("%w: no %s parameter sets in the sample description or the first keyframe", ErrCorrupt, h.inf.VideoCodec)
		}
	}
	return nil
}

// mp4MaxMoov bounds the size of the moov box this package decodes (mp4ff reads it whole).
const mp4MaxMoov = 256 << 20

// checkTopBoxes walks the top-level box headers before mp4ff decodes them: every box fits in
// the file, there is a moov box of a sane size, and the file is not fragmented.
func checkTopBoxes(f file) error {
	size := f.Size()
	var hdr [16]byte
	moov := false
	for pos, i := int64(0), 0; pos < size; i++ {
		if i > 1<<16 {
			return fmt.Errorf("%w: more than %d top-level boxes", ErrCorrupt, 1<<16)
		}
		if size-pos < 8 {
			return fmt.Errorf("%w: %d bytes after the last box", ErrTruncated, size-pos)
		}
		if _, err := f.ReadAt(hdr[:8], pos); err != nil {
			return fmt.Errorf("%w: reading box header at byte %d: %w", ErrTruncated, pos, err)
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		for _, c := range hdr[4:8] {
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("%w: bad box type %q at byte %d", ErrCorrupt, typ, pos)
			}
		}
		switch boxSize {
		case 0:
			boxSize = size - pos // to the end of the file
		case 1:
			if size-pos < 16 {
				return fmt.Errorf("%w: box %q at byte %d", ErrTruncated, typ, pos)
			}
			if _, err := f.ReadAt(hdr[8:16], pos+8); err != nil {
				return fmt.Errorf("%w: reading box header at byte %d: %w", ErrTruncated, pos, err)
			}
			boxSize = int64(min(binary.BigEndian.Uint64(hdr[8:16]), 1<<62))
		}
		if boxSize < 8 {
			return fmt.Errorf("%w: box %q at byte %d has size %d", ErrCorrupt, typ, pos, boxSize)
		}
		if boxSize > size-pos {
			return fmt.Errorf("%w: box %q at byte %d needs %d bytes, %d left", ErrTruncated, typ, pos, boxSize, size-pos)
		}
		switch typ {
		case "moov":
			if boxSize > mp4MaxMoov {
				return fmt.Errorf("%w: moov box of %d bytes", ErrUnsupported, boxSize)
			}
			moov = true
		case "moof":
			return fmt.Errorf("%w: fragmented MP4", ErrUnsupported)
		}
		pos += boxSize
	}
	if !moov {
		return fmt.Errorf("%w: no moov box", ErrCorrupt)
	}
	return nil
}
