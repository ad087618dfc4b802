package fmp4

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"onair/muxer"
)

// Profile describes the tracks of an init segment, for playlists and
// manifests.
type Profile struct {
	// VideoCodec and AudioCodec are RFC 6381 codec strings ("avc1.64001f",
	// "mp4a.40.2"); empty for a missing track.
	VideoCodec, AudioCodec string
	// Width and Height of the picture, from the SPS.
	Width, Height int
	// SampleRate and Channels of the audio.
	SampleRate, Channels int
}

// Codecs is the CODECS list of both tracks, comma-separated.
func (p Profile) Codecs() string {
	switch {
	case p.VideoCodec != "" && p.AudioCodec != "":
		return p.VideoCodec + "," + p.AudioCodec
	case p.VideoCodec != "":
		return p.VideoCodec
	}
	return p.AudioCodec
}

// Init holds the initialization segments of one stream profile: Muxed (both
// tracks, for HLS) and one per track (for DASH), nil when the track is
// missing.
type Init struct {
	Muxed, Video, Audio []byte
	Profile             Profile
}

// NewInit returns the init segments of the program cfg, with the parameter
// sets of the first keyframe of units (a segment of the profile: every
// segment starts with a keyframe carrying them).
func NewInit(cfg *muxer.Config, units []muxer.Unit) (*Init, error) {
	l, err := LayoutOf(cfg)
	if err != nil {
		return nil, err
	}
	var tracks []*mcfmp4.InitTrack
	var p Profile
	if l.Video >= 0 {
		vt, verr := videoTrack(cfg, units, l.Video, &p)
		if verr != nil {
			return nil, verr
		}
		tracks = append(tracks, vt)
	}
	if l.Audio >= 0 {
		at, aerr := audioTrack(&cfg.Tracks[l.Audio], &p)
		if aerr != nil {
			return nil, aerr
		}
		tracks = append(tracks, at)
	}
	in := &Init{Profile: p}
	if in.Muxed, err = marshalInit(tracks); err != nil {
		return nil, err
	}
	for _, t := range tracks {
		b, err := marshalInit([]*mcfmp4.InitTrack{t})
		if err != nil {
			return nil, err
		}
		if t.ID == VideoTrackID {
			in.Video = b
		} else {
			in.Audio = b
		}
	}
	return in, nil
}

func marshalInit(tracks []*mcfmp4.InitTrack) ([]byte, error) {
	var buf seekablebuffer.Buffer
	if err := (mcfmp4.Init{Tracks: tracks}).Marshal(&buf); err != nil {
		return nil, fmt.Errorf("fmp4 init: %w", err)
	}
	return buf.Bytes(), nil
}

// videoTrack builds the video track from the parameter sets of the first
// keyframe of track.
func videoTrack(cfg *muxer.Config, units []muxer.Unit, track int, p *Profile) (*mcfmp4.InitTrack, error) {
	codec := cfg.Tracks[track].Codec
	var vps, sps, pps []byte
	var nals [][]byte
	for i := range units {
		u := &units[i]
		if u.Track != track || !u.Key {
			continue
		}
		nals = muxer.AppendNALUs(nals[:0], u, codec)
		for _, n := range nals {
			if codec == muxer.CodecH265 {
				switch h265.NALUType((n[0] >> 1) & 0x3f) {
				case h265.NALUType_VPS_NUT:
					vps = n
				case h265.NALUType_SPS_NUT:
					sps = n
				case h265.NALUType_PPS_NUT:
					pps = n
				}
				continue
			}
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
		if sps != nil && pps != nil && (vps != nil || codec == muxer.CodecH264) {
			break
		}
	}
	if sps == nil || pps == nil || (codec == muxer.CodecH265 && vps == nil) {
		return nil, fmt.Errorf("fmp4 init: no parameter sets before the first keyframe of track %d", track)
	}
	t := &mcfmp4.InitTrack{ID: VideoTrackID, TimeScale: Timescale}
	if codec == muxer.CodecH265 {
		var s h265.SPS
		if err := s.Unmarshal(sps); err != nil {
			return nil, fmt.Errorf("fmp4 init: h265 sps: %w", err)
		}
		p.Width, p.Height = s.Width(), s.Height()
		p.VideoCodec = "hvc1.1.6.L93.B0"
		t.Codec = &codecs.H265{VPS: clone(vps), SPS: clone(sps), PPS: clone(pps)}
		return t, nil
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("fmp4 init: h264 sps: %w", err)
	}
	p.Width, p.Height = s.Width(), s.Height()
	if len(sps) < 4 {
		return nil, fmt.Errorf("fmp4 init: h264 sps of %d bytes", len(sps))
	}
	p.VideoCodec = fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3])
	t.Codec = &codecs.H264{SPS: clone(sps), PPS: clone(pps)}
	return t, nil
}

func audioTrack(tr *muxer.Track, p *Profile) (*mcfmp4.InitTrack, error) {
	t := &mcfmp4.InitTrack{ID: AudioTrackID, TimeScale: Timescale}
	if tr.Codec == muxer.CodecOpus {
		if tr.ChannelCount < 1 || tr.ChannelCount > 8 {
			return nil, fmt.Errorf("fmp4 init: opus channel count %d", tr.ChannelCount)
		}
		t.Codec = &codecs.Opus{ChannelCount: tr.ChannelCount}
		p.AudioCodec, p.SampleRate, p.Channels = "opus", 48000, tr.ChannelCount
		return t, nil
	}
	asc, err := audioConfig(tr)
	if err != nil {
		return nil, err
	}
	t.Codec = &codecs.MPEG4Audio{Config: asc}
	p.AudioCodec = fmt.Sprintf("mp4a.40.%d", int(asc.Type))
	p.SampleRate = asc.SampleRate
	p.Channels = int(asc.ChannelConfig)
	if asc.ChannelConfig == 7 {
		p.Channels = 8
	}
	return t, nil
}

// audioConfig is the AAC AudioSpecificConfig of t: its own, or one made of
// ObjectType, SampleRate and ChannelCount.
func audioConfig(t *muxer.Track) (mpeg4audio.AudioSpecificConfig, error) {
	var asc mpeg4audio.AudioSpecificConfig
	if len(t.AudioSpecificConfig) > 0 {
		if err := asc.Unmarshal(t.AudioSpecificConfig); err != nil {
			return asc, fmt.Errorf("fmp4: audio specific config: %w", err)
		}
		return asc, nil
	}
	ot := t.ObjectType
	if ot == 0 {
		ot = 2
	}
	if t.SampleRate <= 0 || t.ChannelCount < 1 || t.ChannelCount > 8 || t.ChannelCount == 7 {
		return asc, fmt.Errorf("fmp4: aac track without a usable configuration (rate %d, channels %d)", t.SampleRate, t.ChannelCount)
	}
	asc.Type = mpeg4audio.ObjectType(ot)
	asc.SampleRate = t.SampleRate
	asc.ChannelConfig = uint8(t.ChannelCount)
	if t.ChannelCount == 8 {
		asc.ChannelConfig = 7
	}
	return asc, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
