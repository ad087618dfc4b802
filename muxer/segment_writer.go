package muxer

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Errors returned by WriteUnit.
var (
	// ErrClosed is returned when a unit is written after Close.
	ErrClosed = errors.New("segment writer is closed")
	// ErrUnitOrder is returned for a unit whose DTS goes back (across tracks),
	// does not advance (within a track), or jumps by more than MaxDTSGap.
	ErrUnitOrder = errors.New("unit out of dts order")
	// ErrInvalidUnit is returned for a unit that cannot be written.
	ErrInvalidUnit = errors.New("invalid unit")
)

// Unit is one access unit of one track.
type Unit struct {
	// Track indexes Config.Tracks.
	Track int
	// PTS and DTS on the channel's 90 kHz clock. They may exceed 2^33: they
	// are written modulo 2^33. Audio units are written with PTS only and
	// should have DTS equal to PTS.
	PTS, DTS int64
	// Key marks a random access point (an IDR picture): the first packet of
	// its PES gets random_access_indicator. Audio units always get it.
	Key bool
	// Data is the payload. H.264/H.265: NAL units without start codes (the
	// writer adds start codes, and an access unit delimiter first when the
	// unit has none; parameter sets are the caller's). AAC: raw frames, one
	// ADTS frame each, all in one PES. Opus: packets. AC-3: sync frames.
	// The writer does not retain Data after WriteUnit returns.
	Data [][]byte
	// AnnexB marks a video unit whose Data is one Annex-B byte stream (start
	// codes included), written as it is after an access unit delimiter when
	// it starts with none.
	AnnexB bool
}

// H.264 and H.265 bytes the writer inserts.
var (
	startCode = []byte{0, 0, 0, 1}
	// access_unit_delimiter with primary_pic_type 7 (any slice type).
	audH264 = []byte{0x09, 0xF0}
	// AUD_NUT, nuh_layer_id 0, nuh_temporal_id_plus1 1, pic_type 2.
	audH265 = []byte{0x46, 0x01, 0x50}
)

// bufferSize is the size of the writer's output staging buffer: 348 packets.
const bufferSize = packetSize * 348

var bufferPool = sync.Pool{New: func() any { return new([bufferSize]byte) }}

// trackState is a Track with what the writer derives and keeps for it.
type trackState struct {
	Track
	streamType byte
	streamID   byte
	aac        aacConfig
	cc         uint8 // continuity_counter of the next packet with payload
	lastDTS    int64
	hasDTS     bool
	tail       [payloadSize]byte // held-back end of the last PES
	tailLen    int
}

// SegmentWriter writes one MPEG-TS segment. It is not safe for concurrent use.
//
// The segment starts with PAT and PMT. PAT and PMT are repeated so that,
// measured on the PCR timeline, no two pairs are more than PSIInterval apart;
// consecutive PCRs are at most PCRInterval apart (PCR-only packets fill the
// gaps between units on the PCR PID). See the package doc for how continuity
// counters are kept continuous across independently written segments.
//
// The tail of a PES (at most one packet) is written just before the next PES
// of the same track, so a track whose units are more than MuxDelay apart
// delivers the end of each unit after its DTS on the PCR timeline; keep
// MuxDelay above the longest unit duration.
type SegmentWriter struct {
	w        io.Writer
	cfg      Config
	tracks   []trackState
	pcrTrack int // index of the track on the PCR PID, -1 if none

	pat, pmt     [packetSize]byte
	patCC, pmtCC uint8
	pcrOnlyCC    uint8 // CC of a PCR PID that is no track's
	aligned      bool
	started      bool
	closed       bool
	pcrSet       bool
	lastPCR      int64 // 90 kHz, channel clock (not wrapped)
	lastPSI      int64 // PCR value the last PAT/PMT follows
	lastDTS      int64
	hasDTS       bool
	written      int64
	err          error
	bufArr       *[bufferSize]byte
	buf          []byte
	parts        [][]byte
	scratch      []byte
	pesHdr       [19 + minTail]byte
}

// NewSegmentWriter returns a writer of one segment to w. Nothing is written
// to w before the first unit or Close.
func NewSegmentWriter(w io.Writer, cfg Config) (*SegmentWriter, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := &SegmentWriter{
		w:        w,
		cfg:      cfg,
		tracks:   make([]trackState, len(cfg.Tracks)),
		pcrTrack: -1,
		aligned:  cfg.StartCC == nil,
	}
	var nVideo, nAAC byte
	for i, t := range cfg.Tracks {
		ts := &s.tracks[i]
		ts.Track = t
		switch t.Codec {
		case CodecH264:
			ts.streamType, ts.streamID = streamTypeH264, streamIDVideo+nVideo
			nVideo++
		case CodecH265:
			ts.streamType, ts.streamID = streamTypeH265, streamIDVideo+nVideo
			nVideo++
		case CodecAAC:
			ts.streamType, ts.streamID = streamTypeAAC, streamIDAudio+nAAC
			nAAC++
			ts.aac, _ = aacConfigFromTrack(&ts.Track) // validated by normalize
		case CodecOpus:
			ts.streamType, ts.streamID = streamTypePrivate, streamIDPrivate1
		case CodecAC3:
			ts.streamType, ts.streamID = streamTypeAC3, streamIDPrivate1
		}
		if t.StreamID != 0 {
			ts.streamID = t.StreamID
		}
		ts.cc = cfg.StartCC[t.PID] & 0x0F
		if t.PID == cfg.PCRPID {
			s.pcrTrack = i
		}
	}
	s.patCC = cfg.StartCC[0] & 0x0F
	s.pmtCC = cfg.StartCC[cfg.PMTPID] & 0x0F
	s.pcrOnlyCC = (cfg.StartCC[cfg.PCRPID] - 1) & 0x0F
	if s.pat, err = psiPacket(0, patSection(&s.cfg)); err != nil {
		return nil, err
	}
	if s.pmt, err = psiPacket(cfg.PMTPID, pmtSection(&s.cfg, s.tracks)); err != nil {
		return nil, err
	}
	s.bufArr = bufferPool.Get().(*[bufferSize]byte)
	s.buf = s.bufArr[:0]
	return s, nil
}

// WriteSegment writes units as one segment to w and returns the number of
// bytes written.
func WriteSegment(w io.Writer, cfg Config, units []Unit) (int, error) {
	s, err := NewSegmentWriter(w, cfg)
	if err != nil {
		return 0, err
	}
	for i := range units {
		if err = s.WriteUnit(units[i]); err != nil {
			_ = s.Close()
			return int(s.written), err
		}
	}
	err = s.Close()
	return int(s.written), err
}

// Written returns the number of bytes written to the underlying writer.
func (s *SegmentWriter) Written() int64 {
	return s.written
}

// NextCC returns, for every PID of the segment, the continuity counter the
// next segment must start with to continue this one. With the default
// alignment it is 0 for every PID once Close has returned.
func (s *SegmentWriter) NextCC() map[uint16]uint8 {
	m := map[uint16]uint8{0: s.patCC, s.cfg.PMTPID: s.pmtCC}
	for i := range s.tracks {
		m[s.tracks[i].PID] = s.tracks[i].cc
	}
	if s.pcrTrack < 0 {
		m[s.cfg.PCRPID] = (s.pcrOnlyCC + 1) & 0x0F
	}
	return m
}

// WriteUnit writes one access unit. Units must come in DTS order across
// tracks (equal DTS allowed), with DTS strictly increasing within a track.
// An error other than ErrUnitOrder or ErrInvalidUnit is sticky.
func (s *SegmentWriter) WriteUnit(u Unit) error {
	if s.closed {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
	}
	if u.Track < 0 || u.Track >= len(s.tracks) {
		return fmt.Errorf("%w: track %d does not exist", ErrInvalidUnit, u.Track)
	}
	tr := &s.tracks[u.Track]
	if s.hasDTS && (u.DTS < s.lastDTS || u.DTS-s.lastDTS > MaxDTSGap) {
		return fmt.Errorf("%w: track %d: dts %d after %d", ErrUnitOrder, u.Track, u.DTS, s.lastDTS)
	}
	if s.cfg.EndDTS != 0 && u.DTS >= s.cfg.EndDTS {
		return fmt.Errorf("%w: track %d: dts %d at or after the segment end %d", ErrUnitOrder, u.Track, u.DTS, s.cfg.EndDTS)
	}
	if tr.hasDTS && u.DTS <= tr.lastDTS {
		return fmt.Errorf("%w: track %d: dts %d after %d on the same track", ErrUnitOrder, u.Track, u.DTS, tr.lastDTS)
	}
	total, err := s.buildPES(tr, &u)
	if err != nil {
		return err
	}
	s.lastDTS, s.hasDTS = u.DTS, true
	tr.lastDTS, tr.hasDTS = u.DTS, true

	t := u.DTS - s.cfg.MuxDelay
	if !s.started {
		s.started = true
		// The pair that opens the segment follows the previous segment's
		// last PCR, which this segment does not know: count it as stale so
		// that another pair follows this segment's first PCR.
		s.lastPSI = t - s.cfg.PSIInterval
		s.writePSI()
	}
	s.fillPCR(t)
	withPCR := u.Track == s.pcrTrack
	if !withPCR && !s.pcrSet {
		s.writePCROnly(t)
		s.lastPCR, s.pcrSet = t, true
	}
	if tr.tailLen > 0 {
		s.writeTail(tr, 1)
	}
	var flags byte
	if u.Key || !tr.Codec.IsVideo() {
		flags = afRandomAccess
	}
	s.writeHead(tr, total, flags, withPCR, t)
	if withPCR {
		s.lastPCR, s.pcrSet = t, true
	}
	s.psiCheck()
	return s.err
}

// buildPES fills s.parts with the PES packet of u (header, then payload
// pieces) and returns its length. It validates u before anything is written.
func (s *SegmentWriter) buildPES(tr *trackState, u *Unit) (int, error) {
	s.parts = s.parts[:0]
	s.scratch = s.scratch[:0]
	payload := 0
	video := tr.Codec.IsVideo()
	switch tr.Codec {
	case CodecH264, CodecH265:
		if u.PTS < u.DTS {
			return 0, fmt.Errorf("%w: track %d: pts %d before dts %d", ErrInvalidUnit, u.Track, u.PTS, u.DTS)
		}
		s.parts = append(s.parts, nil) // PES header, below
		if u.AnnexB {
			if len(u.Data) != 1 || !annexBStart(u.Data[0]) {
				return 0, fmt.Errorf("%w: track %d: annex b unit without a start code", ErrInvalidUnit, u.Track)
			}
			b := u.Data[0]
			if !isAUD(tr.Codec, b[annexBNAL(b):]) {
				aud := audH264
				if tr.Codec == CodecH265 {
					aud = audH265
				}
				s.parts = append(s.parts, startCode, aud)
				payload += len(startCode) + len(aud)
			}
			s.parts = append(s.parts, b)
			payload += len(b)
			break
		}
		first := true
		for _, nal := range u.Data {
			if len(nal) == 0 {
				continue
			}
			if first {
				first = false
				if !isAUD(tr.Codec, nal) {
					aud := audH264
					if tr.Codec == CodecH265 {
						aud = audH265
					}
					s.parts = append(s.parts, startCode, aud)
					payload += len(startCode) + len(aud)
				}
			}
			s.parts = append(s.parts, startCode, nal)
			payload += len(startCode) + len(nal)
		}
		if first {
			return 0, fmt.Errorf("%w: track %d: no nal units", ErrInvalidUnit, u.Track)
		}
	case CodecAAC, CodecOpus:
		// headers go to s.scratch, which is sized first so that the slices
		// taken from it stay valid
		need := 0
		for _, f := range u.Data {
			if tr.Codec == CodecAAC {
				need += 7
			} else {
				need += 3 + len(f)/255
			}
		}
		if cap(s.scratch) < need {
			s.scratch = make([]byte, 0, need*2)
		}
		s.parts = append(s.parts, nil)
		for _, f := range u.Data {
			if len(f) == 0 {
				continue
			}
			at := len(s.scratch)
			if tr.Codec == CodecAAC {
				if len(f) > maxADTSPayload {
					return 0, fmt.Errorf("%w: track %d: aac frame of %d bytes is too large for adts", ErrInvalidUnit, u.Track, len(f))
				}
				s.scratch = s.scratch[:at+7]
				putADTSHeader(s.scratch[at:], tr.aac, len(f))
			} else {
				// opus_control_header: prefix 0x3ff, no trim, no extension,
				// au_size as a run of 0xFF bytes and a remainder.
				s.scratch = append(s.scratch, 0x7F, 0xE0)
				for n := len(f); ; n -= 255 {
					if n < 255 {
						s.scratch = append(s.scratch, byte(n))
						break
					}
					s.scratch = append(s.scratch, 0xFF)
				}
			}
			s.parts = append(s.parts, s.scratch[at:], f)
			payload += len(s.scratch) - at + len(f)
		}
	case CodecAC3:
		s.parts = append(s.parts, nil)
		for _, f := range u.Data {
			if len(f) > 0 {
				s.parts = append(s.parts, f)
				payload += len(f)
			}
		}
	}
	if payload == 0 {
		return 0, fmt.Errorf("%w: track %d: empty unit", ErrInvalidUnit, u.Track)
	}

	// PES header. Specification: ISO/IEC 13818-1, 2.4.3.6. A unit smaller
	// than minTail gets stuffing bytes in its header (at most 32 are
	// allowed), so that the first packet keeps the whole header up to the
	// timestamps and the held-back tail still has minTail bytes.
	stuff := max(0, minTail-payload)
	h := s.pesHdr[:]
	h[0], h[1], h[2], h[3] = 0, 0, 1, tr.streamID
	h[6] = 0x84 // '10', data_alignment_indicator
	n := 14
	if video && u.PTS != u.DTS {
		h[7], h[8] = 0xC0, byte(10+stuff)
		putTimestamp(h[9:], 0x3, u.PTS)
		putTimestamp(h[14:], 0x1, u.DTS)
		n = 19
	} else {
		h[7], h[8] = 0x80, byte(5+stuff)
		putTimestamp(h[9:], 0x2, u.PTS)
	}
	copy(h[n:n+stuff], stuffing[:])
	n += stuff
	if video {
		h[4], h[5] = 0, 0 // unbounded, allowed for video in transport streams
	} else {
		l := n - 6 + payload
		if l > 0xFFFF {
			return 0, fmt.Errorf("%w: track %d: %d bytes do not fit one audio pes", ErrInvalidUnit, u.Track, payload)
		}
		h[4], h[5] = byte(l>>8), byte(l)
	}
	s.parts[0] = h[:n]
	return n + payload, nil
}

// annexBStart reports whether b starts with a start code followed by a NAL unit header.
func annexBStart(b []byte) bool {
	n := annexBNAL(b)
	return n >= 3 && n < len(b)
}

// annexBNAL returns the offset of the first NAL unit after b's leading start code (0 if none).
func annexBNAL(b []byte) int {
	i := 0
	for i < len(b) && i < 64 && b[i] == 0 {
		i++
	}
	if i < 2 || i >= len(b) || b[i] != 1 {
		return 0
	}
	return i + 1
}

func isAUD(c Codec, nal []byte) bool {
	if c == CodecH264 {
		return nal[0]&0x1F == 9
	}
	return nal[0]>>1&0x3F == 35
}

// writeHead writes the PES in s.parts except its tail: the last packet's
// payload, or minTail bytes when that is less (taken from the packet before,
// or by splitting a single-packet PES in two). The tail is copied to tr.tail.
func (s *SegmentWriter) writeHead(tr *trackState, total int, flags byte, withPCR bool, pcr int64) {
	af := 0
	if withPCR {
		af = 8
	} else if flags != 0 {
		af = 2
	}
	first := payloadSize - af
	tail := minTail
	if total > first {
		r := (total - first) % payloadSize
		if r == 0 {
			r = payloadSize
		}
		tail = max(r, minTail)
	}
	head := total - tail
	g := gather{parts: s.parts}
	n := min(first, head)
	s.writePacket(tr.PID, &tr.cc, true, flags, withPCR, pcr, n, &g)
	for rem := head - n; rem > 0; rem -= n {
		n = min(payloadSize, rem)
		s.writePacket(tr.PID, &tr.cc, false, 0, false, 0, n, &g)
	}
	g.read(tr.tail[:tail])
	tr.tailLen = tail
}

// writeTail writes the held-back tail of tr's last PES spread evenly over k
// packets (1 <= k <= tailLen).
func (s *SegmentWriter) writeTail(tr *trackState, k int) {
	g := gather{parts: [][]byte{tr.tail[:tr.tailLen]}}
	for r := tr.tailLen; k > 0; k-- {
		n := (r + k - 1) / k
		s.writePacket(tr.PID, &tr.cc, false, 0, false, 0, n, &g)
		r -= n
	}
	tr.tailLen = 0
}

// next returns the next packet slot of the output buffer.
func (s *SegmentWriter) next() []byte {
	if len(s.buf)+packetSize > cap(s.buf) {
		s.flush()
	}
	l := len(s.buf)
	s.buf = s.buf[:l+packetSize]
	return s.buf[l : l+packetSize]
}

func (s *SegmentWriter) flush() {
	if len(s.buf) > 0 && s.err == nil {
		n, err := s.w.Write(s.buf)
		s.written += int64(n)
		if err == nil && n < len(s.buf) {
			err = io.ErrShortWrite
		}
		s.err = err
	}
	s.buf = s.buf[:0]
}

// writePacket writes a packet with n payload bytes from g (1 <= n), an
// adaptation field when flags or a PCR ask for one, and stuffing in the
// adaptation field for what n leaves free.
func (s *SegmentWriter) writePacket(pid uint16, cc *uint8, pusi bool, flags byte, withPCR bool, pcr int64, n int, g *gather) {
	b := s.next()
	b[0] = syncByte
	b[1] = byte(pid>>8) & 0x1F
	if pusi {
		b[1] |= 0x40
	}
	b[2] = byte(pid)
	need := 0
	if withPCR {
		flags |= afPCR
		need = 8
	} else if flags != 0 {
		need = 2
	}
	afLen := payloadSize - n // adaptation field size, length byte included
	if afLen == 0 {
		b[3] = 0x10 | *cc
	} else {
		b[3] = 0x30 | *cc
		b[4] = byte(afLen - 1)
		if afLen > 1 {
			b[5] = flags
			if need == 8 {
				putPCR(b[6:], pcr)
			}
			copy(b[4+max(need, 2):4+afLen], stuffing[:])
		}
	}
	*cc = (*cc + 1) & 0x0F
	g.read(b[4+afLen:])
}

// writePCROnly writes an adaptation-field-only packet carrying a PCR on the
// PCR PID. It has no payload, so the continuity counter is not incremented:
// it repeats the PID's last one.
func (s *SegmentWriter) writePCROnly(pcr int64) {
	cc := s.pcrOnlyCC
	if s.pcrTrack >= 0 {
		cc = (s.tracks[s.pcrTrack].cc - 1) & 0x0F
	}
	b := s.next()
	b[0] = syncByte
	b[1] = byte(s.cfg.PCRPID>>8) & 0x1F
	b[2] = byte(s.cfg.PCRPID)
	b[3] = 0x20 | cc
	b[4] = payloadSize - 1
	b[5] = afPCR
	putPCR(b[6:], pcr)
	copy(b[12:], stuffing[:])
}

// writePSI writes a PAT and a PMT.
func (s *SegmentWriter) writePSI() {
	b := s.next()
	copy(b, s.pat[:])
	b[3] = 0x10 | s.patCC
	s.patCC = (s.patCC + 1) & 0x0F
	b = s.next()
	copy(b, s.pmt[:])
	b[3] = 0x10 | s.pmtCC
	s.pmtCC = (s.pmtCC + 1) & 0x0F
}

// fillPCR writes PCR-only packets, and PSI when due, so that no two PCRs are
// more than PCRInterval apart up to t.
func (s *SegmentWriter) fillPCR(t int64) {
	if !s.pcrSet {
		return
	}
	for t-s.lastPCR > s.cfg.PCRInterval {
		s.lastPCR += s.cfg.PCRInterval
		s.writePCROnly(s.lastPCR)
		s.psiCheck()
	}
}

// psiCheck writes PAT and PMT after a PCR when waiting for the next PCR
// (at most PCRInterval later) could leave more than PSIInterval between two
// pairs on the PCR timeline.
func (s *SegmentWriter) psiCheck() {
	if s.lastPCR+s.cfg.PCRInterval-s.lastPSI > s.cfg.PSIInterval {
		s.writePSI()
		s.lastPSI = s.lastPCR
	}
}

// Close writes what is held back and flushes. With the default alignment it
// pads every PID to a multiple of 16 packets: PES tails are spread over more
// packets, PAT and PMT are repeated. With Config.EndDTS it continues the PCR
// and PSI schedule up to the segment's end. Close returns the first error met
// writing the segment. The writer cannot be used afterwards.
func (s *SegmentWriter) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err == nil {
		if !s.started {
			s.started = true
			s.writePSI()
		}
		for i := range s.tracks {
			tr := &s.tracks[i]
			if tr.tailLen == 0 {
				continue
			}
			k := 1
			if s.aligned {
				k = 16 - int(tr.cc) // brings cc to 0; tailLen >= minTail >= k
			}
			s.writeTail(tr, k)
		}
		if s.cfg.EndDTS != 0 && s.hasDTS {
			// a last PCR just before the next segment's first one
			end := min(s.cfg.EndDTS, s.lastDTS+MaxDTSGap) - s.cfg.MuxDelay - 1
			s.fillPCR(end)
			if end > s.lastPCR {
				s.lastPCR = end
				s.writePCROnly(end)
				s.psiCheck()
			}
		}
		if s.aligned {
			for s.patCC != 0 || s.pmtCC != 0 {
				if s.patCC != 0 {
					b := s.next()
					copy(b, s.pat[:])
					b[3] = 0x10 | s.patCC
					s.patCC = (s.patCC + 1) & 0x0F
				}
				if s.pmtCC != 0 {
					b := s.next()
					copy(b, s.pmt[:])
					b[3] = 0x10 | s.pmtCC
					s.pmtCC = (s.pmtCC + 1) & 0x0F
				}
			}
		}
		s.flush()
	}
	bufferPool.Put(s.bufArr)
	s.bufArr, s.buf = nil, nil
	return s.err
}

var _ io.Closer = (*SegmentWriter)(nil)
