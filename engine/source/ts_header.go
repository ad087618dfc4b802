package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"

	"onair/internal/mpegcrc"
	"onair/library"
)

// The head of a MPEG-TS file, parsed once per file version: the packet layout, the PIDs of
// the video stream and of the first supported audio stream (from PAT and PMT), and the codec
// parameters of the first access units.
// Specification: ISO/IEC 13818-1, 2.4.4 (program specific information).

const (
	// tsHeadFirst is the first read of a file's head; it is enlarged (by 4) up to tsHeadMax
	// until the PMT, the parameter sets, the first audio frame and a few timestamps are in it.
	tsHeadFirst = 64 << 10
	tsHeadMax   = 8 << 20
	// headPTSWanted is how many video timestamps the frame duration is taken from.
	headPTSWanted = 24
)

// PMT stream types and descriptors (ISO/IEC 13818-1 Table 2-34; ETSI EN 300 468; ATSC A/52).
const (
	streamTypeAAC     = 0x0f
	streamTypeH264    = 0x1b
	streamTypeH265    = 0x24
	streamTypeAC3     = 0x81
	streamTypePrivate = 0x06

	descRegistration = 0x05
	descDVBAC3       = 0x6a
	descExtension    = 0x7f
	descExtOpus      = 0x80
)

// tsHeader is what a Cache keeps of a MPEG-TS file.
type tsHeader struct {
	layout     tsLayout
	videoPID   uint16
	audioPID   uint16
	kind       nalKind
	audioCodec string
	// ps holds the first VPS, SPS and PPS of the stream, for keyframes without them.
	ps  [3][]byte
	inf Info
}

func (h *tsHeader) info() Info { return h.inf }

func (h *tsHeader) newReader(f file, kf library.KeyframeIndex) Reader {
	return &tsReader{f: f, h: h, kf: kf}
}

// parseTSHeader reads the head of a MPEG-TS file, growing the read until it holds what is
// needed.
func parseTSHeader(f file) (*tsHeader, error) {
	path, size := f.Name(), f.Size()
	if size == 0 {
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrTruncated)
	}
	var head []byte
	for n := int64(tsHeadFirst); ; n *= 4 {
		n = min(n, size, tsHeadMax)
		head = slices.Grow(head[:0], int(n))[:n]
		if k, err := f.ReadAt(head, 0); int64(k) < n {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: %w: file ends at byte %d", path, ErrTruncated, k)
			}
			return nil, fmt.Errorf("%s: read: %w", path, err)
		}
		hs, err := scanTSHead(path, head, n == size)
		if err != nil {
			return nil, err
		}
		if hs.done() || hs.broken || n == size || n >= tsHeadMax {
			return hs.finish(path, n)
		}
	}
}

// tsHeadScan collects what the head of a file tells.
type tsHeadScan struct {
	h       tsHeader
	pmtPID  int
	havePMT bool
	// opusChannels is the channel count from the PMT's Opus descriptor.
	opusChannels int

	// Found by demuxing the head.
	demux     *tsDemux
	pts       []int64
	audioSeen bool
	nals      [][]byte
	// broken is set when the head is damaged after the essentials.
	broken bool
}

// scanTSHead parses PAT, PMT and the first access units of head; eof says head is the whole file.
func scanTSHead(path string, head []byte, eof bool) (*tsHeadScan, error) {
	layout, ok := detectTSLayout(head)
	if !ok {
		return nil, fmt.Errorf("%s: %w: not an MPEG-TS stream (no sync byte)", path, ErrUnsupported)
	}
	hs := &tsHeadScan{pmtPID: -1}
	hs.h.layout = layout
	hs.h.audioPID = noPID
	whole := len(head) / layout.Stride * layout.Stride
	head = head[:whole]

	var pat, pmt psiAssembler
	for i := 0; i+layout.Stride <= len(head) && !hs.havePMT; i += layout.Stride {
		p := head[i+layout.SyncOff : i+layout.SyncOff+tsPacketSize]
		if p[0] != tsSyncByte {
			return nil, fmt.Errorf("%s: %w: lost packet sync at byte %d", path, ErrCorrupt, i)
		}
		pid := int(p[1]&0x1f)<<8 | int(p[2])
		isPAT, isPMT := pid == 0, pid == hs.pmtPID && pid != 0
		if isPAT {
			if sec := pat.feed(p); sec != nil {
				hs.parsePAT(sec)
			}
		}
		if isPMT {
			if sec := pmt.feed(p); sec != nil {
				hs.parsePMT(sec)
			}
		}
	}
	if !hs.havePMT {
		return hs, nil
	}
	if hs.h.videoPID == noPID {
		return nil, fmt.Errorf("%s: %w: no H.264 or H.265 video stream in the program", path, ErrUnsupported)
	}

	hs.demux = newTSDemux(path, layout, hs.h.videoPID, hs.h.audioPID, hs)
	err := hs.demux.feed(head, 0)
	if err == nil && eof && !hs.demux.stop {
		err = hs.demux.flush()
	}
	if err != nil && !hs.essentials() {
		return nil, err
	}
	// Damage after the parameter sets and the first audio frame is for Range to report, on
	// the ranges it affects.
	hs.broken = err != nil
	return hs, nil
}

// essentials reports whether the scan has what a Reader needs (all but the timestamps).
func (hs *tsHeadScan) essentials() bool {
	return hs.havePMT && hs.psDone() && (hs.h.audioPID == noPID || hs.audioSeen)
}

// done reports whether the scan has everything it looks for.
func (hs *tsHeadScan) done() bool {
	return hs.havePMT && hs.psDone() && len(hs.pts) >= headPTSWanted && (hs.h.audioPID == noPID || hs.audioSeen)
}

func (hs *tsHeadScan) psDone() bool {
	return (!hs.h.kind.h265 || hs.h.ps[0] != nil) && hs.h.ps[1] != nil && hs.h.ps[2] != nil
}

func (hs *tsHeadScan) start(s *tsStream, u unitInfo) (bool, error) {
	if s.video && len(hs.pts) < headPTSWanted {
		hs.pts = append(hs.pts, u.pts)
	}
	if hs.done() {
		hs.demux.stop = true
		return false, nil
	}
	if s.video {
		return !hs.psDone(), nil
	}
	return !hs.audioSeen, nil
}

func (hs *tsHeadScan) unit(s *tsStream, u unitInfo, data []byte) (int, error) {
	if s.video {
		nals, err := splitAnnexB(hs.nals[:0], data)
		if err != nil {
			return 0, fmt.Errorf("%s: %w: video PES at byte %d: %w", hs.demux.path, ErrCorrupt, u.off, err)
		}
		hs.nals = nals
		for _, nal := range nals {
			if slot := hs.h.kind.paramSlot(hs.h.kind.typ(nal)); slot >= 0 && hs.h.ps[slot] == nil {
				hs.h.ps[slot] = bytes.Clone(nal)
			}
		}
	} else {
		if hs.h.audioCodec == "" {
			switch {
			case len(data) >= 2 && data[0] == 0xff && data[1]&0xf6 == 0xf0:
				hs.h.audioCodec = codecAAC
			case len(data) >= 2 && data[0] == 0x0b && data[1] == 0x77:
				hs.h.audioCodec = codecAC3
			default:
				// Not audio this package reads: go on without audio.
				hs.h.audioPID = noPID
				hs.demux.a.pid = noPID
				if hs.done() {
					hs.demux.stop = true
				}
				return 0, nil
			}
		}
		hs.h.inf.Channels = hs.opusChannels
		if err := audioParams(&hs.h.inf, hs.h.audioCodec, data); err != nil {
			return 0, fmt.Errorf("%s: %w: audio PES at byte %d: %w", hs.demux.path, ErrCorrupt, u.off, err)
		}
		hs.audioSeen = true
	}
	if hs.done() {
		hs.demux.stop = true
	}
	return 0, nil
}

// finish checks the scan of an n-byte head and fills Info.
func (hs *tsHeadScan) finish(path string, n int64) (*tsHeader, error) {
	if !hs.havePMT {
		return nil, fmt.Errorf("%s: %w: no PAT and PMT in the first %d bytes", path, ErrCorrupt, n)
	}
	h := &hs.h
	if !hs.psDone() {
		return nil, fmt.Errorf("%s: %w: no complete %s parameter sets in the first %d bytes", path, ErrCorrupt, h.inf.VideoCodec, n)
	}
	if h.audioPID != noPID && !hs.audioSeen {
		// An audio stream without a frame near the start: play the file without audio.
		h.audioPID, h.audioCodec = noPID, ""
		h.inf.AudioCodec, h.inf.AudioConfig, h.inf.SampleRate, h.inf.Channels, h.inf.AudioFrameSamples = "", nil, 0, 0, 0
	}
	h.inf.VPS, h.inf.SPS, h.inf.PPS = h.ps[0], h.ps[1], h.ps[2]
	fps, err := spsParams(&h.inf, h.kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, ErrCorrupt, err)
	}
	h.inf.FrameDuration = frameDurationFromPTS(hs.pts)
	if h.inf.FrameDuration == 0 && fps > 0 {
		h.inf.FrameDuration = int64(90000/fps + 0.5)
	}
	return h, nil
}

// frameDurationFromPTS returns the most common positive distance between consecutive
// presentation times (the smallest of equally common ones), 0 for fewer than two.
func frameDurationFromPTS(pts []int64) int64 {
	s := slices.Clone(pts)
	slices.Sort(s)
	counts := map[int64]int{}
	var best int64
	for i := 1; i < len(s); i++ {
		d := s[i] - s[i-1]
		if d <= 0 {
			continue
		}
		counts[d]++
		if c, bc := counts[d], counts[best]; c > bc || (c == bc && d < best) {
			best = d
		}
	}
	return best
}

// parsePAT takes the PMT PID of the first program (2.4.4.3).
func (hs *tsHeadScan) parsePAT(sec []byte) {
	if hs.pmtPID >= 0 || sec[0] != 0x00 || !psiValid(sec) {
		return
	}
	for i := 8; i+4 <= len(sec)-4; i += 4 {
		prog := int(sec[i])<<8 | int(sec[i+1])
		if prog != 0 {
			hs.pmtPID = int(sec[i+2]&0x1f)<<8 | int(sec[i+3])
			return
		}
	}
}

// parsePMT picks the first H.264/H.265 stream and the first AAC, AC-3 or Opus stream (2.4.4.8).
func (hs *tsHeadScan) parsePMT(sec []byte) {
	if sec[0] != 0x02 || !psiValid(sec) || len(sec) < 16 {
		return
	}
	hs.havePMT = true
	hs.h.videoPID = noPID
	probePID := uint16(noPID)
	end := len(sec) - 4
	i := 12 + (int(sec[10]&0x0f)<<8 | int(sec[11]))
	for i+5 <= end {
		st := sec[i]
		pid := uint16(sec[i+1]&0x1f)<<8 | uint16(sec[i+2])
		il := int(sec[i+3]&0x0f)<<8 | int(sec[i+4])
		i += 5
		if i+il > end {
			return
		}
		desc := sec[i : i+il]
		i += il
		switch st {
		case streamTypeH264, streamTypeH265:
			if hs.h.videoPID == noPID {
				hs.h.videoPID = pid
				hs.h.kind = nalKind{h265: st == streamTypeH265}
				hs.h.inf.VideoCodec = codecH264
				if st == streamTypeH265 {
					hs.h.inf.VideoCodec = codecH265
				}
			}
			continue
		}
		if hs.h.audioPID != noPID {
			continue
		}
		codec, unknown := "", false
		switch st {
		case streamTypeAAC:
			codec = codecAAC
		case streamTypeAC3:
			codec = codecAC3
		case streamTypePrivate:
			codec, unknown = hs.privateAudio(desc)
		}
		if codec != "" {
			hs.h.audioPID, hs.h.audioCodec = pid, codec
		} else if unknown && probePID == noPID {
			probePID = pid
		}
	}
	if hs.h.audioPID == noPID && probePID != noPID {
		// ffmpeg's M2TS mode writes AAC as a private stream without descriptors: the first
		// frame tells (an ADTS or AC-3 sync word).
		hs.h.audioPID, hs.h.audioCodec = probePID, ""
	}
}

// privateAudio recognizes AC-3 (DVB AC-3 descriptor or "AC-3" registration) and Opus
// ("Opus" registration) in a private data stream, by its descriptors. unknown is true when
// no descriptor says what the stream is.
func (hs *tsHeadScan) privateAudio(desc []byte) (codec string, unknown bool) {
	unknown = len(desc) == 0
	for len(desc) >= 2 {
		tag, l := desc[0], int(desc[1])
		if 2+l > len(desc) {
			break
		}
		body := desc[2 : 2+l]
		desc = desc[2+l:]
		switch {
		case tag == descDVBAC3:
			codec = cmpOr(codec, codecAC3)
		case tag == descRegistration && l >= 4 && string(body[:4]) == "AC-3":
			codec = cmpOr(codec, codecAC3)
		case tag == descRegistration && l >= 4 && string(body[:4]) == "Opus":
			codec = cmpOr(codec, codecOpus)
		case tag == descExtension && l >= 2 && body[0] == descExtOpus:
			var d substructs.OpusAudioDescriptor
			if d.Unmarshal(body[1:]) == nil {
				hs.opusChannels = d.ChannelCount()
			}
		}
	}
	return codec, unknown
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// psiAssembler collects one PSI section from the packets of a PID.
type psiAssembler struct {
	buf    []byte
	active bool
}

// feed takes one 188-byte packet and returns a complete section when there is one.
func (a *psiAssembler) feed(p []byte) []byte {
	afc := p[3] >> 4 & 3
	if afc&1 == 0 {
		return nil
	}
	start := 4
	if afc&2 != 0 {
		start = 5 + int(p[4])
	}
	if start >= tsPacketSize {
		return nil
	}
	payload := p[start:]
	if p[1]&0x40 != 0 {
		ptr := int(payload[0])
		if 1+ptr >= len(payload) {
			return nil
		}
		a.buf = append(a.buf[:0], payload[1+ptr:]...)
		a.active = true
	} else if a.active {
		a.buf = append(a.buf, payload...)
	}
	if !a.active || len(a.buf) < 3 {
		return nil
	}
	if a.buf[0] == 0xff {
		a.active = false
		return nil
	}
	l := 3 + (int(a.buf[1]&0x0f)<<8 | int(a.buf[2]))
	if len(a.buf) < l {
		if len(a.buf) > 4096 {
			a.active = false
		}
		return nil
	}
	a.active = false
	return a.buf[:l]
}

// psiValid checks a section's syntax indicator and CRC_32 (Annex A).
func psiValid(sec []byte) bool {
	return len(sec) >= 12 && sec[1]&0x80 != 0 && mpegcrc.Checksum(sec) == 0
}
