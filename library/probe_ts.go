package library

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg1audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"onair/internal/tsframe"
)

// MPEG-TS probing works in two passes over one read of the file:
//
//  1. mediacommon's mpegts.Reader parses the start of the file (tsHeadSize bytes, or up to
//     tsHeadMaxSize when the parameters are not found in the first part):
//     PAT, PMT, the audio configuration and the first video access unit, whose SPS goes
//     through mediacommon's H.264/H.265 parsers.
//  2. A light packet scan over the whole file follows only the video PID: for every PES it
//     reads the PTS from the PES header and the NAL unit types up to the first slice, and
//     records the offset of the packet that starts each keyframe's PES. It allocates nothing
//     per packet, which keeps it at memory speed (the generic demuxer allocates several
//     objects per packet).
//
// Specification: ISO/IEC 13818-1, 2.4.3.2 (transport packet), 2.4.3.6 (PES packet).

const (
	tsPacketSize = tsframe.PacketSize
	tsSyncByte   = tsframe.SyncByte
	// tsHeadSize is how much of the start of a file is first searched for the PMT and the
	// codec parameters; tsHeadMaxSize bounds it (a file may start mid-GOP, far from the
	// first SPS).
	tsHeadSize    = 4 << 20
	tsHeadMaxSize = 32 << 20
	// tsChunkSize is the read size of the packet scan.
	tsChunkSize = 1 << 20
)

// tsLayout is the packet framing of a file (see tsframe.Layout).
type tsLayout = tsframe.Layout

// detectTSLayout finds the framing whose sync bytes line up over the first packets.
var detectTSLayout = tsframe.Detect

var tsChunkPool = sync.Pool{New: func() any { b := make([]byte, tsChunkSize); return &b }}

// probeTS reads an MPEG-TS or M2TS stream to its end, copying every byte to h when h is not
// nil (for hashing), and returns what it found and the number of bytes read. The error is
// an I/O error; content problems are in probeResult.problem.
func probeTS(r io.Reader, h io.Writer) (probeResult, int64, error) {
	res := probeResult{container: ContainerTS}
	if h == nil {
		h = io.Discard
	}
	head, err := io.ReadAll(io.LimitReader(r, tsHeadSize))
	n := int64(len(head))
	if err != nil {
		return res, n, err
	}
	_, _ = h.Write(head)
	drain := func() (probeResult, int64, error) {
		m, cerr := io.Copy(h, r)
		return res, n + m, cerr
	}
	if len(head) == 0 {
		res.problem = "empty file"
		return res, n, nil
	}
	layout, ok := detectTSLayout(head)
	if !ok {
		res.problem = "not an MPEG-TS stream: no sync byte"
		return drain()
	}
	sc, err := tsHeadParams(head, layout, &res)
	if errors.Is(err, errHeadTooShort) && len(head) == tsHeadSize {
		more, rerr := io.ReadAll(io.LimitReader(r, tsHeadMaxSize-tsHeadSize))
		n += int64(len(more))
		if rerr != nil {
			return res, n, rerr
		}
		_, _ = h.Write(more)
		head = append(head, more...)
		res = probeResult{container: ContainerTS}
		sc, err = tsHeadParams(head, layout, &res)
	}
	if err != nil {
		if perr := res.setProblem(err); perr != nil {
			return res, n, perr
		}
		return drain()
	}

	consumed := sc.feed(head)
	bufp := tsChunkPool.Get().(*[]byte)
	defer tsChunkPool.Put(bufp)
	buf := *bufp
	carry := 0
	if sc.lostSync < 0 {
		carry = copy(buf, head[consumed:])
	}
	for {
		k, rerr := r.Read(buf[carry:])
		if k > 0 {
			n += int64(k)
			_, _ = h.Write(buf[carry : carry+k])
			if sc.lostSync < 0 {
				data := buf[:carry+k]
				c := sc.feed(data)
				carry = copy(buf, data[c:])
			} else {
				carry = 0
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return res, n, rerr
		}
	}
	switch {
	case sc.lostSync >= 0:
		res.problem = fmt.Sprintf("corrupt: lost packet sync at byte %d", sc.lostSync)
	case carry > 0:
		res.problem = fmt.Sprintf("truncated: %d bytes after the last whole %d-byte packet", carry, layout.Stride)
	}
	sc.finish(&res)
	res.finish()
	return res, n, nil
}

// tsPackets returns the whole 188-byte packets of head, without M2TS prefixes.
func tsPackets(head []byte, layout tsLayout) []byte {
	whole := len(head) / layout.Stride
	if layout.SyncOff == 0 {
		return head[:whole*layout.Stride]
	}
	out := make([]byte, 0, whole*tsPacketSize)
	for i := 0; i < whole; i++ {
		start := i*layout.Stride + layout.SyncOff
		out = append(out, head[start:start+tsPacketSize]...)
	}
	return out
}

var errStopReading = errors.New("stop reading")

// errHeadTooShort is wrapped by the problems of a head that ended before the parameters.
var errHeadTooShort = errors.New("not found at the start of the file")

// headProblem is a problem that a longer head may solve.
type headProblem struct{ problemError }

func (e *headProblem) Unwrap() []error { return []error{&e.problemError, errHeadTooShort} }

func headProblemf(format string, args ...any) error {
	return &headProblem{problemError{msg: fmt.Sprintf(format, args...)}}
}

// tsHeadParams runs mediacommon's reader over the start of the file to find the tracks, the
// audio parameters and the video SPS, and returns a scanner for the chosen video PID.
func tsHeadParams(head []byte, layout tsLayout, res *probeResult) (sc *tsScanner, err error) {
	defer func() {
		if r := recover(); r != nil {
			sc, err = nil, problemf("invalid MPEG-TS program: demuxer panic: %v", r)
		}
	}()
	// mediacommon's reader looks for the program within 1 MB: start it at the first PAT.
	pat := -1
	for i := 0; i+layout.Stride <= len(head); i += layout.Stride {
		p := head[i+layout.SyncOff:]
		if p[0] == tsSyncByte && p[1]&0x1f == 0 && p[2] == 0 {
			pat = i
			break
		}
	}
	if pat < 0 {
		return nil, headProblemf("no MPEG-TS program (PAT) in the first %d bytes", len(head))
	}
	mr := &mpegts.Reader{R: bytes.NewReader(tsPackets(head[pat:], layout))}
	if ierr := mr.Initialize(); ierr != nil {
		err = ierr
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, headProblemf("no MPEG-TS program (PAT/PMT and first audio frame) in the first %d bytes", len(head))
		}
		return nil, problemf("no MPEG-TS program (PAT/PMT and first audio frame) within 1 MB of the first PAT: %v", err)
	}

	var videoTrack, mpegAudioTrack *mpegts.Track
	unsupportedVideo, unsupportedAudio := "", ""
	for _, t := range mr.Tracks() {
		switch c := t.Codec.(type) {
		case *codecs.H264, *codecs.H265:
			if videoTrack == nil {
				videoTrack = t
			}
		case *codecs.MPEG1Video:
			// mediacommon reports MPEG-1 and MPEG-2 video (stream types 0x01, 0x02) alike.
			unsupportedVideo = cmpOr(unsupportedVideo, "mpeg2")
		case *codecs.MPEG4Video:
			unsupportedVideo = cmpOr(unsupportedVideo, "mpeg4")
		case *codecs.MPEG4Audio:
			if res.audio == nil {
				res.audio = &AudioInfo{Codec: codecAAC, SampleRate: c.SampleRate, Channels: aacChannels(&c.Config)}
			}
		case *codecs.Opus:
			if res.audio == nil {
				ch := c.ChannelCount //nolint:staticcheck // set alongside Desc
				if c.Desc != nil {
					ch = c.Desc.ChannelCount()
				}
				res.audio = &AudioInfo{Codec: codecOpus, SampleRate: 48000, Channels: ch}
			}
		case *codecs.AC3:
			if res.audio == nil {
				res.audio = &AudioInfo{Codec: codecAC3, SampleRate: c.SampleRate, Channels: c.ChannelCount}
			}
		case *codecs.EAC3:
			unsupportedAudio = cmpOr(unsupportedAudio, "eac3")
		case *codecs.MPEG4AudioLATM:
			unsupportedAudio = cmpOr(unsupportedAudio, "aac_latm")
		case *codecs.MPEG1Audio:
			unsupportedAudio = cmpOr(unsupportedAudio, "mpeg1audio")
			if mpegAudioTrack == nil {
				mpegAudioTrack = t
			}
		}
	}
	if videoTrack == nil {
		if unsupportedVideo != "" {
			res.video = &VideoInfo{Codec: unsupportedVideo}
			return nil, problemf("unsupported video codec %s", unsupportedVideo)
		}
		return nil, problemf("no video track")
	}

	// Read access units until the first SPS (and the MPEG audio layer, for the message).
	var sps []byte
	_, isH265 := videoTrack.Codec.(*codecs.H265)
	needLayer := res.audio == nil && mpegAudioTrack != nil
	onAU := func(_, _ int64, au [][]byte) error {
		for _, nalu := range au {
			if sps != nil || len(nalu) < 2 {
				continue
			}
			if (!isH265 && h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS) ||
				(isH265 && h265.NALUType((nalu[0]>>1)&0x3f) == h265.NALUType_SPS_NUT) {
				sps = bytes.Clone(nalu)
			}
		}
		if sps != nil && !needLayer {
			return errStopReading
		}
		return nil
	}
	if isH265 {
		mr.OnDataH265(videoTrack, onAU)
	} else {
		mr.OnDataH264(videoTrack, onAU)
	}
	if needLayer {
		mr.OnDataMPEG1Audio(mpegAudioTrack, func(_ int64, frames [][]byte) error {
			var fh mpeg1audio.FrameHeader
			if len(frames) > 0 && fh.Unmarshal(frames[0]) == nil {
				unsupportedAudio = fmt.Sprintf("mp%d", fh.Layer)
			}
			needLayer = false
			if sps != nil {
				return errStopReading
			}
			return nil
		})
	}
	for mr.Read() == nil {
	}
	if res.audio == nil && unsupportedAudio != "" {
		res.audio = &AudioInfo{Codec: unsupportedAudio}
	}
	if sps == nil {
		codec := codecH264
		if isH265 {
			codec = codecH265
		}
		res.video = &VideoInfo{Codec: codec}
		return nil, headProblemf("no %s sequence parameter set in the first %d bytes", codec, len(head))
	}
	var p videoParams
	if isH265 {
		p, err = h265Params(sps)
	} else {
		p, err = h264Params(sps)
	}
	if err != nil {
		return nil, problemf("%v", err)
	}
	res.video = &p.info
	return &tsScanner{layout: layout, pid: videoTrack.PID, h265: isH265, spsReorder: p.reorder, lostSync: -1}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tsScanner follows the video PID of a transport stream packet by packet.
type tsScanner struct {
	layout     tsLayout
	pid        uint16
	h265       bool
	spsReorder int

	// off is the file offset of the next packet; lostSync the offset of the first packet
	// without a sync byte, -1 while in sync.
	off      int64
	lostSync int64

	// The PES being read.
	pesOff    int64
	pesPTS    int64
	pesHasPTS bool
	searching bool
	nal       nalScanner

	pts       []int64 // unwrapped PTS of every video PES, in decode order
	keyframes []Keyframe
	unwrap    ptsUnwrapper
}

// feed scans the whole packets at the start of b and returns how many bytes it used. It stops
// at a packet without a sync byte and sets lostSync.
func (s *tsScanner) feed(b []byte) int {
	stride, so := s.layout.Stride, s.layout.SyncOff
	i := 0
	for ; i+stride <= len(b); i += stride {
		p := b[i+so : i+so+tsPacketSize : i+so+tsPacketSize]
		if p[0] != tsSyncByte {
			s.lostSync = s.off
			return i
		}
		if uint16(p[1]&0x1f)<<8|uint16(p[2]) == s.pid {
			s.packet(p)
		}
		s.off += int64(stride)
	}
	return i
}

// packet handles one packet of the video PID.
func (s *tsScanner) packet(p []byte) {
	afc := (p[3] >> 4) & 3
	start := 4
	if afc&2 != 0 {
		start = 5 + int(p[4])
	}
	if afc&1 == 0 || start >= tsPacketSize {
		return
	}
	payload := p[start:]
	if p[1]&0x40 != 0 {
		s.startPES(payload)
	} else if s.searching {
		s.searchVCL(payload)
	}
}

// startPES parses a PES header (ISO/IEC 13818-1, 2.4.3.7) at the start of a payload.
func (s *tsScanner) startPES(b []byte) {
	s.searching = false
	s.pesHasPTS = false
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return
	}
	flags := b[7] >> 6
	es := 9 + int(b[8])
	if es > len(b) {
		return
	}
	s.pesOff = s.off
	if flags&2 != 0 && len(b) >= 14 {
		s.pesPTS = s.unwrap.next(readTimestamp(b[9:14]))
		s.pesHasPTS = true
		s.pts = append(s.pts, s.pesPTS)
	}
	s.searching = true
	s.nal = nalScanner{}
	s.searchVCL(b[es:])
}

// searchVCL looks for the first slice NAL unit of the current PES.
func (s *tsScanner) searchVCL(b []byte) {
	t := s.nal.feed(b, s.h265)
	if t < 0 {
		return
	}
	s.searching = false
	if s.pesHasPTS && isKeyNALU(t, s.h265) {
		s.keyframes = append(s.keyframes, Keyframe{PTS: s.pesPTS, Offset: s.pesOff})
	}
}

// finish fills res from what the scan found.
func (s *tsScanner) finish(res *probeResult) {
	if len(s.pts) == 0 {
		return
	}
	reorder := s.spsReorder > 0
	for i := 1; i < len(s.pts) && !reorder; i++ {
		reorder = s.pts[i] < s.pts[i-1]
	}
	sorted := slices.Clone(s.pts)
	slices.Sort(sorted)
	frameDur := frameDurationFromPTS(sorted)
	if frameDur == 0 && res.video != nil && res.video.FrameRate.Num > 0 {
		frameDur = 90000 / res.video.FrameRate.Float()
	}
	res.duration = sorted[len(sorted)-1] - sorted[0] + int64(frameDur+0.5)
	if res.video != nil {
		res.video.BFrames = reorder
		if res.video.FrameRate.Num == 0 {
			res.video.FrameRate = frameRateFromDuration(frameDur)
		}
	}
	kfs := s.keyframes
	slices.SortStableFunc(kfs, func(a, b Keyframe) int { return cmpInt64(a.PTS, b.PTS) })
	res.index = KeyframeIndex{StartPTS: sorted[0], Keyframes: kfs}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readTimestamp decodes a 33-bit PTS or DTS field (ISO/IEC 13818-1, 2.4.3.7).
func readTimestamp(b []byte) int64 {
	v, _ := tsframe.Timestamp(b)
	return v
}

// ptsUnwrapper turns 33-bit timestamps into a continuous int64 time line, assuming
// consecutive values are less than 2^32 ticks (13 hours) apart.
type ptsUnwrapper struct {
	started bool
	prevRaw int64
	prev    int64
}

func (u *ptsUnwrapper) next(raw int64) int64 {
	if !u.started {
		u.started = true
		u.prevRaw, u.prev = raw, raw
		return raw
	}
	const wrap = int64(1) << 33
	d := (raw - u.prevRaw) & (wrap - 1)
	if d >= wrap/2 {
		d -= wrap
	}
	u.prevRaw = raw
	u.prev += d
	return u.prev
}

// nalScanner finds Annex B start codes across buffer boundaries.
type nalScanner struct {
	zeros   int
	wantHdr bool
}

// feed returns the type of the first slice (VCL) NAL unit that starts in b, or -1.
func (n *nalScanner) feed(b []byte, isH265 bool) int {
	for _, c := range b {
		if n.wantHdr {
			n.wantHdr = false
			if isH265 {
				if t := int(c>>1) & 0x3f; t < 32 {
					return t
				}
			} else if t := int(c & 0x1f); t >= 1 && t <= 5 {
				return t
			}
		}
		switch {
		case c == 0:
			n.zeros++
		case c == 1 && n.zeros >= 2:
			n.wantHdr = true
			n.zeros = 0
		default:
			n.zeros = 0
		}
	}
	return -1
}

// isKeyNALU reports whether a slice NAL unit type starts a keyframe: an H.264 IDR picture,
// or an H.265 IRAP picture (BLA, IDR, CRA: types 16 to 21).
func isKeyNALU(t int, isH265 bool) bool {
	if isH265 {
		return t >= 16 && t <= 21
	}
	return t == 5
}
