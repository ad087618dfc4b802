package rtsp

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpsimpleaudio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"onair/engine"
	"onair/muxer"
	"onair/outputs/session"
)

// stream is one channel's RTSP stream: a ServerStream fed by one session
// viewer, with one RTP encoder per track for its life.
type stream struct {
	o     *Output
	id    string
	ready chan struct{}
	err   error // set before ready closes

	sub    *session.Sub
	stream *gortsplib.ServerStream
	first  session.Batch
	tracks []*track  // by muxer track index; nil for a track not carried
	last   time.Time // guarded by Output.mu: when it last had a reader or request
	// readers is how many RTSP sessions did SETUP on it; guarded by Output.mu.
	readers int
	// base is the wall time of media time 0 for RTCP sender reports: set at
	// the first unit and after a jump, so the reports' NTP times follow the
	// RTP timestamps exactly (not the jitter of when a batch was written).
	base    time.Time
	hasBase bool

	nalus   [][]byte // scratch: the NAL units of the unit being written
	out     outPacket
	emitRTP func(*rtp.Packet) error // s.out.write, made once
}

// outPacket is where a packetizer's packets go: the track and the NTP time
// of the unit being written.
type outPacket struct {
	stream *gortsplib.ServerStream
	media  *description.Media
	ntp    time.Time
}

func (o *outPacket) write(p *rtp.Packet) error {
	return o.stream.WritePacketRTPWithNTP(o.media, p, o.ntp)
}

// track is one muxer track as RTP.
type track struct {
	media   *description.Media
	codec   muxer.Codec
	rate    int64 // RTP clock rate
	h264    *format.H264
	pkt264  *h264Packetizer
	h265    *format.H265
	enc265  *rtph265.Encoder
	encAAC  *rtpmpeg4audio.Encoder
	encOpus *rtpsimpleaudio.Encoder
}

func (s *stream) touch(now time.Time) { s.last = now }

// errNoVideo is returned for a channel whose media has no H.264 or H.265
// video.
var errNoVideo = errors.New("no H.264 or H.265 video track")

// init waits for the session's first batch and builds the stream from the
// first segment's tracks.
func (s *stream) init() error {
	b, ok := <-s.sub.C()
	if !ok {
		return errors.New("the channel session stopped")
	}
	s.first = b
	cfg := b.Seg.Config
	desc := &description.Session{Title: s.id}
	s.tracks = make([]*track, len(cfg.Tracks))
	var sps, pps []byte
	var hvps, hsps, hpps []byte
	for i := range b.Seg.Units {
		u := &b.Seg.Units[i]
		if !u.Key {
			continue
		}
		switch cfg.Tracks[u.Track].Codec {
		case muxer.CodecH264:
			if sps == nil {
				sps, pps = paramSetsH264(muxer.AppendNALUs(nil, u, muxer.CodecH264))
			}
		case muxer.CodecH265:
			if hsps == nil {
				hvps, hsps, hpps = paramSetsH265(muxer.AppendNALUs(nil, u, muxer.CodecH265))
			}
		}
	}
	var pt uint8 = 96
	for i, t := range cfg.Tracks {
		tr := &track{codec: t.Codec}
		switch t.Codec {
		case muxer.CodecH264:
			tr.h264 = &format.H264{PayloadTyp: pt, PacketizationMode: 1, SPS: sps, PPS: pps}
			tr.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{tr.h264}}
			tr.rate = 90000
			tr.pkt264 = newH264Packetizer(pt, uint16(rand.Uint32()))
		case muxer.CodecH265:
			tr.h265 = &format.H265{PayloadTyp: pt, VPS: hvps, SPS: hsps, PPS: hpps}
			tr.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{tr.h265}}
			tr.rate = 90000
			enc, err := tr.h265.CreateEncoder()
			if err != nil {
				return err
			}
			tr.enc265 = enc
		case muxer.CodecAAC:
			asc, err := audioConfig(t)
			if err != nil {
				s.o.cfg.Logger.Warn("rtsp: audio track left out", "channel", s.id, "err", err)
				continue
			}
			f := &format.MPEG4Audio{PayloadTyp: pt, Config: asc, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
			tr.media = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}
			tr.rate = int64(asc.SampleRate)
			enc, err := f.CreateEncoder()
			if err != nil {
				return err
			}
			tr.encAAC = enc
		case muxer.CodecOpus:
			f := &format.Opus{PayloadTyp: pt, ChannelCount: max(t.ChannelCount, 1)}
			tr.media = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}
			tr.rate = 48000
			enc, err := f.CreateEncoder()
			if err != nil {
				return err
			}
			tr.encOpus = enc
		default:
			continue // AC-3 and the rest: not carried over RTSP
		}
		pt++
		s.tracks[i] = tr
		desc.Medias = append(desc.Medias, tr.media)
	}
	if len(desc.Medias) == 0 || desc.Medias[0].Type != description.MediaTypeVideo {
		return fmt.Errorf("channel %s: %w", s.id, errNoVideo)
	}
	s.stream = &gortsplib.ServerStream{Server: s.o.server, Desc: desc}
	s.out.stream = s.stream
	s.emitRTP = s.out.write
	return s.stream.Initialize()
}

// audioConfig returns the AudioSpecificConfig of an AAC track.
func audioConfig(t muxer.Track) (*mpeg4audio.AudioSpecificConfig, error) {
	var asc mpeg4audio.AudioSpecificConfig
	if len(t.AudioSpecificConfig) > 0 {
		if err := asc.Unmarshal(t.AudioSpecificConfig); err != nil {
			return nil, fmt.Errorf("audio specific config: %w", err)
		}
		return &asc, nil
	}
	ot := t.ObjectType
	if ot == 0 {
		ot = 2
	}
	if t.SampleRate <= 0 || t.ChannelCount <= 0 {
		return nil, errors.New("AAC track without sample rate or channel count")
	}
	asc.Type = mpeg4audio.ObjectType(ot)
	asc.SampleRate = t.SampleRate
	asc.ChannelConfig = uint8(t.ChannelCount) // 1-6 map to themselves (ISO/IEC 14496-3, Table 1.19)
	return &asc, nil
}

// pump writes the session's batches to the ServerStream until the session
// ends or the stream has had no reader for Grace.
func (s *stream) pump() {
	defer s.sub.Close()
	s.write(s.first)
	for b := range s.sub.C() {
		if s.o.idle(s, s.o.clock.Now()) {
			return
		}
		s.write(b)
	}
}

// write sends a batch's units as RTP.
func (s *stream) write(b session.Batch) {
	for _, u := range b.Units() {
		if !s.hasBase || b.Jump {
			s.base = s.o.clock.Now().Add(-engine.TicksToDuration(u.PTS))
			s.hasBase = true
			b.Jump = false
		}
		ntp := s.base.Add(engine.TicksToDuration(u.PTS))
		if u.Track >= len(s.tracks) || s.tracks[u.Track] == nil {
			continue
		}
		tr := s.tracks[u.Track]
		ts := uint32(u.PTS * tr.rate / 90000)
		var pkts []*rtp.Packet
		var err error
		switch {
		case tr.h264 != nil || tr.h265 != nil:
			s.nalus = muxer.AppendNALUs(s.nalus[:0], &u, tr.codec)
			if len(s.nalus) == 0 {
				continue
			}
			if u.Key {
				s.params(tr, s.nalus)
			}
			if tr.enc265 != nil {
				pkts, err = tr.enc265.Encode(s.nalus)
				break
			}
			s.out.media, s.out.ntp = tr.media, ntp
			if werr := tr.pkt264.packetize(s.nalus, ts, s.emitRTP); werr != nil {
				return // the stream is closing
			}
			continue
		case tr.encAAC != nil:
			pkts, err = tr.encAAC.Encode(u.Data)
		case tr.encOpus != nil:
			for _, d := range u.Data {
				p, perr := tr.encOpus.Encode(d)
				if perr != nil {
					err = perr
					break
				}
				pkts = append(pkts, p)
			}
		}
		if err != nil {
			s.o.cfg.Logger.Warn("rtsp: packetizing", "channel", s.id, "err", err)
			continue
		}
		for _, p := range pkts {
			p.Timestamp = ts
			if err := s.stream.WritePacketRTPWithNTP(tr.media, p, ntp); err != nil {
				return
			}
		}
	}
}

// params publishes the parameter sets of a video keyframe with ReloadDesc
// when they differ from the description's.
func (s *stream) params(tr *track, nalus [][]byte) {
	//nolint:staticcheck // SafeParams and SafeSetParams: gortsplib reads the format concurrently
	switch {
	case tr.h264 != nil:
		sps, pps := paramSetsH264(nalus)
		old, oldP := tr.h264.SafeParams()
		if sps == nil || pps == nil || bytes.Equal(old, sps) && bytes.Equal(oldP, pps) {
			return
		}
		tr.h264.SafeSetParams(bytes.Clone(sps), bytes.Clone(pps))
	case tr.h265 != nil:
		vps, sps, pps := paramSetsH265(nalus)
		oldV, oldS, oldP := tr.h265.SafeParams()
		if vps == nil || sps == nil || pps == nil ||
			bytes.Equal(oldV, vps) && bytes.Equal(oldS, sps) && bytes.Equal(oldP, pps) {
			return
		}
		tr.h265.SafeSetParams(bytes.Clone(vps), bytes.Clone(sps), bytes.Clone(pps))
	default:
		return
	}
	s.stream.ReloadDesc()
}

// paramSetsH264 returns the last SPS and PPS among nalus, or nil.
func paramSetsH264(nalus [][]byte) (sps, pps []byte) {
	for _, n := range nalus {
		switch n[0] & 0x1F {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	return sps, pps
}

// H.265 NAL unit types of the parameter sets (ITU-T H.265, Table 7-1).
const (
	hevcVPS = 32
	hevcSPS = 33
	hevcPPS = 34
)

// paramSetsH265 returns the last VPS, SPS and PPS among nalus, or nil.
func paramSetsH265(nalus [][]byte) (vps, sps, pps []byte) {
	for _, n := range nalus {
		switch (n[0] >> 1) & 0x3F {
		case hevcVPS:
			vps = n
		case hevcSPS:
			sps = n
		case hevcPPS:
			pps = n
		}
	}
	return vps, sps, pps
}
