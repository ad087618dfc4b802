// Package fmp4 writes CMAF (fragmented MP4) from the muxer's access units:
// an initialization segment per stream profile and, for each segment of a
// channel, one CMAF fragment per track, cut where the MPEG-TS segments are.
//
// A segment is written as its video fragment followed by its audio fragment
// (each a moof with one traf, then its mdat), so the same bytes serve HLS as
// one muxed fMP4 segment and DASH as two per-track segments (Split).
// Timestamps are the channel's 90 kHz clock, unwrapped, in 64-bit tfdt.
//
// Specification: ISO/IEC 14496-12 (ISO BMFF), ISO/IEC 14496-15 (AVC/HEVC in
// ISO BMFF), ISO/IEC 23000-19 (CMAF).
package fmp4

import (
	"encoding/binary"
	"errors"
	"fmt"

	"onair/muxer"
)

// Timescale of every track: the channel clock.
const Timescale = 90000

// Track IDs of the video and the audio track in inits and fragments.
const (
	VideoTrackID = 1
	AudioTrackID = 2
)

// ErrUnsupported is wrapped by errors for programs CMAF cannot carry here.
var ErrUnsupported = errors.New("unsupported in cmaf")

// sample flags (ISO/IEC 14496-12, 8.8.3.1): a sync sample depends on no
// other; any other depends on others and is not a sync sample.
const (
	flagsSync    = 0x02000000
	flagsNonSync = 0x01010000
)

// trun flags: data-offset, sample duration, size, flags and composition time
// offset present.
const trunFlags = 0x000F01

// Layout is where the CMAF tracks are in a muxer.Config: the first video
// track and the first audio track (-1 when there is none). Other tracks are
// left out.
type Layout struct {
	Video, Audio int
}

// LayoutOf returns the layout of cfg; an error when it has neither a video
// nor an audio track CMAF can carry.
func LayoutOf(cfg *muxer.Config) (Layout, error) {
	l := Layout{Video: -1, Audio: -1}
	for i, t := range cfg.Tracks {
		switch t.Codec {
		case muxer.CodecH264, muxer.CodecH265:
			if l.Video < 0 {
				l.Video = i
			}
		case muxer.CodecAAC, muxer.CodecOpus:
			if l.Audio < 0 {
				l.Audio = i
			}
		}
	}
	if l.Video < 0 && l.Audio < 0 {
		return l, fmt.Errorf("%w: no H.264, H.265, AAC or Opus track", ErrUnsupported)
	}
	return l, nil
}

// Writer writes fragments. Its scratch memory is reused from one segment to
// the next; it is not safe for concurrent use (keep one per goroutine, or in
// a sync.Pool).
type Writer struct {
	samples []sample
	nals    [][]byte
}

type sample struct {
	unit     *muxer.Unit
	nals     [][]byte // video: the NAL units written (no AUD), a window of Writer.nals
	size     int
	duration int64
	cto      int64
	flags    uint32
}

// AppendSegment appends the fragments of one segment to dst: the video
// fragment (sequence number 2*seq+1) then the audio fragment (2*seq+2), a
// track missing from the layout writing nothing. units are the segment's
// units in DTS order; cfg.EndDTS, when set, is where the next segment starts
// and gives the last video sample its duration.
func (w *Writer) AppendSegment(dst []byte, cfg *muxer.Config, units []muxer.Unit, seq int64) ([]byte, error) {
	l, err := LayoutOf(cfg)
	if err != nil {
		return dst, err
	}
	if l.Video >= 0 {
		if dst, err = w.appendFragment(dst, cfg, units, l.Video, VideoTrackID, uint32(2*seq+1)); err != nil {
			return dst, err
		}
	}
	if l.Audio >= 0 {
		if dst, err = w.appendFragment(dst, cfg, units, l.Audio, AudioTrackID, uint32(2*seq+2)); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendFragment appends moof and mdat of the units of track.
func (w *Writer) appendFragment(dst []byte, cfg *muxer.Config, units []muxer.Unit, track, trackID int, seqNo uint32) ([]byte, error) {
	codec := cfg.Tracks[track].Codec
	video := codec.IsVideo()
	w.samples = w.samples[:0]
	w.nals = w.nals[:0]
	for i := range units {
		u := &units[i]
		if u.Track != track {
			continue
		}
		s := sample{unit: u, flags: flagsSync}
		if video {
			start := len(w.nals)
			w.nals = muxer.AppendNALUs(w.nals, u, codec)
			s.nals = w.nals[start:len(w.nals):len(w.nals)]
			for _, n := range s.nals {
				s.size += 4 + len(n)
			}
			s.cto = u.PTS - u.DTS
			if !u.Key {
				s.flags = flagsNonSync
			}
		} else {
			for _, d := range u.Data {
				s.size += len(d)
			}
		}
		w.samples = append(w.samples, s)
	}
	// Durations: to the next sample; the last video sample to the segment's
	// end, the last audio sample one frame.
	for i := range w.samples {
		s := &w.samples[i]
		if i+1 < len(w.samples) {
			s.duration = decodeTime(w.samples[i+1].unit, video) - decodeTime(s.unit, video)
			continue
		}
		switch {
		case video && cfg.EndDTS > s.unit.DTS:
			s.duration = cfg.EndDTS - s.unit.DTS
		case i > 0:
			s.duration = w.samples[i-1].duration
		default:
			s.duration = frameTicks(&cfg.Tracks[track])
		}
	}
	for i := range w.samples {
		s := &w.samples[i]
		if s.duration <= 0 || s.duration > 1<<32-1 {
			return dst, fmt.Errorf("%w: track %d: sample at dts %d lasts %d ticks", muxer.ErrUnitOrder, track, s.unit.DTS, s.duration)
		}
		if s.cto < -1<<31 || s.cto > 1<<31-1 {
			return dst, fmt.Errorf("%w: track %d: composition offset %d", muxer.ErrInvalidUnit, track, s.cto)
		}
	}
	var base int64
	if len(w.samples) > 0 {
		base = decodeTime(w.samples[0].unit, video)
	} else if cfg.EndDTS > 0 {
		base = cfg.EndDTS
	}
	if base < 0 {
		return dst, fmt.Errorf("%w: negative decode time %d", muxer.ErrInvalidUnit, base)
	}

	n := len(w.samples)
	trunSize := 12 + 8 + 16*n
	trafSize := 8 + 16 + 20 + trunSize
	moofSize := 8 + 16 + trafSize
	dataSize := 0
	for i := range w.samples {
		dataSize += w.samples[i].size
	}
	dst = grow(dst, moofSize+8+dataSize)

	dst = appendBoxHeader(dst, moofSize, "moof")
	dst = appendBoxHeader(dst, 16, "mfhd")
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, seqNo)
	dst = appendBoxHeader(dst, trafSize, "traf")
	dst = appendBoxHeader(dst, 16, "tfhd")
	dst = binary.BigEndian.AppendUint32(dst, 0x020000) // default-base-is-moof
	dst = binary.BigEndian.AppendUint32(dst, uint32(trackID))
	dst = appendBoxHeader(dst, 20, "tfdt")
	dst = binary.BigEndian.AppendUint32(dst, 1<<24) // version 1: 64-bit time
	dst = binary.BigEndian.AppendUint64(dst, uint64(base))
	dst = appendBoxHeader(dst, trunSize, "trun")
	dst = binary.BigEndian.AppendUint32(dst, 1<<24|trunFlags) // version 1: signed offsets
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, uint32(moofSize+8))
	for i := range w.samples {
		s := &w.samples[i]
		dst = binary.BigEndian.AppendUint32(dst, uint32(s.duration))
		dst = binary.BigEndian.AppendUint32(dst, uint32(s.size))
		dst = binary.BigEndian.AppendUint32(dst, s.flags)
		dst = binary.BigEndian.AppendUint32(dst, uint32(int32(s.cto)))
	}
	dst = appendBoxHeader(dst, 8+dataSize, "mdat")
	for i := range w.samples {
		s := &w.samples[i]
		if video {
			for _, nal := range s.nals {
				dst = binary.BigEndian.AppendUint32(dst, uint32(len(nal)))
				dst = append(dst, nal...)
			}
			continue
		}
		for _, d := range s.unit.Data {
			dst = append(dst, d...)
		}
	}
	return dst, nil
}

// decodeTime is a unit's DTS (video) or PTS (audio).
func decodeTime(u *muxer.Unit, video bool) int64 {
	if video {
		return u.DTS
	}
	return u.PTS
}

// frameTicks is the duration of one audio frame of t in ticks (AAC: 1024
// samples; Opus: 20 ms), used for a lone last sample.
func frameTicks(t *muxer.Track) int64 {
	if t.Codec == muxer.CodecOpus {
		return Timescale / 50
	}
	rate := t.SampleRate
	if asc, err := audioConfig(t); err == nil {
		rate = asc.SampleRate
	}
	if rate <= 0 {
		rate = 48000
	}
	return int64(1024 * Timescale / rate)
}

// grow makes room for n more bytes in dst.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	out := make([]byte, len(dst), len(dst)+n)
	copy(out, dst)
	return out
}

func appendBoxHeader(dst []byte, size int, typ string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	return append(dst, typ...)
}

// Split returns the video and audio fragments of a segment AppendSegment
// wrote (nil for a track it does not have), as subslices of seg.
func Split(seg []byte) (video, audio []byte, err error) {
	for len(seg) > 0 {
		moof, err := boxSize(seg, "moof")
		if err != nil {
			return nil, nil, err
		}
		mdat, err := boxSize(seg[moof:], "mdat")
		if err != nil {
			return nil, nil, err
		}
		frag := seg[:moof+mdat]
		// moof, mfhd (16), traf header (8), tfhd: track_ID at offset 12.
		if moof < 8+16+8+16 {
			return nil, nil, errors.New("fmp4: moof too short")
		}
		switch binary.BigEndian.Uint32(frag[8+16+8+12:]) {
		case VideoTrackID:
			video = frag
		case AudioTrackID:
			audio = frag
		default:
			return nil, nil, errors.New("fmp4: unknown track id")
		}
		seg = seg[moof+mdat:]
	}
	return video, audio, nil
}

// boxSize checks that b starts with a box of type typ and returns its size.
func boxSize(b []byte, typ string) (int, error) {
	if len(b) < 8 || string(b[4:8]) != typ {
		return 0, fmt.Errorf("fmp4: want a %s box", typ)
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < 8 || n > len(b) {
		return 0, fmt.Errorf("fmp4: %s box of %d bytes in %d", typ, n, len(b))
	}
	return n, nil
}
