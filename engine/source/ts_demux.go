package source

import (
	"fmt"

	"onair/internal/tsframe"
)

// The MPEG-TS demuxer of this package follows two PIDs (video and one audio) over whole
// transport packets, checks their continuity counters, parses PES headers and assembles
// "units": a PES with a PTS plus the PES packets without a PTS that follow it on the same PID
// (an access unit split over several PES packets); a video PES with the same timestamps as
// the open unit continues it too (muxers that write one PES per slice). It copies each
// payload once, into an arena that the returned frames alias, and allocates nothing per
// packet.
//
// Specification: ISO/IEC 13818-1, 2.4.3.2 (transport packet), 2.4.3.4 (adaptation field),
// 2.4.3.6 and 2.4.3.7 (PES packet).

const (
	tsPacketSize = tsframe.PacketSize
	tsSyncByte   = tsframe.SyncByte
	// noPID never matches a packet: PIDs have 13 bits.
	noPID = 0x2000
	// tsWrap is the period of 33-bit timestamps.
	tsWrap = int64(1) << 33
)

// tsLayout is the packet framing of a file (see tsframe.Layout).
type tsLayout = tsframe.Layout

// detectTSLayout and readTimestamp are tsframe's.
var (
	detectTSLayout = tsframe.Detect
	readTimestamp  = tsframe.Timestamp
)

// unwrapper turns 33-bit timestamps into the continuous time line of a keyframe index: each
// value becomes the one congruent to it modulo 2^33 that is nearest to the previous value.
type unwrapper struct {
	set bool
	ref int64
}

func (u *unwrapper) next(raw int64) int64 {
	if !u.set {
		u.set, u.ref = true, raw
		return raw
	}
	d := (raw - u.ref) & (tsWrap - 1)
	if d >= tsWrap/2 {
		d -= tsWrap
	}
	u.ref += d
	return u.ref
}

// arena holds the payload bytes of one stream for one read. The unit being assembled is
// buf[start:]; finished units stay where they are (frames alias them), and when a unit does
// not fit, a new chunk is allocated and only the open unit is copied.
type arena struct {
	buf      []byte
	start    int
	minChunk int
}

func (a *arena) append(p []byte) {
	if len(a.buf)+len(p) > cap(a.buf) {
		cur := len(a.buf) - a.start
		nb := make([]byte, cur, max(a.minChunk, 2*(cur+len(p))))
		copy(nb, a.buf[a.start:])
		a.buf, a.start = nb, 0
	}
	a.buf = append(a.buf, p...)
}

// unit returns the open unit's bytes, capacity-limited so that later appends never reach it.
func (a *arena) unit() []byte { return a.buf[a.start:len(a.buf):len(a.buf)] }

// begin starts a new unit that keeps the last keep bytes of the previous one.
func (a *arena) begin(keep int) { a.start = len(a.buf) - keep }

// unitInfo describes a unit: the offset of the packet that starts its first PES, and that
// PES's timestamps (DTS equals PTS when the PES has none).
type unitInfo struct {
	off      int64
	pts, dts int64
}

// tsStream is the state of one followed PID.
type tsStream struct {
	pid   uint16
	video bool
	// cc is the last continuity counter, -1 before the first packet with payload.
	cc int
	// inPES is true while the payload of the current PES belongs to the open unit.
	inPES bool
	// left is the number of payload bytes the current PES still announces, -1 when unbounded.
	left int
	open bool
	unit unitInfo
	data arena
}

// tsSink receives what a tsDemux finds.
type tsSink interface {
	// start is called for each PES of a followed PID that carries a PTS, after the previous
	// unit of the stream was handed to unit. It says whether to assemble the new unit.
	start(s *tsStream, u unitInfo) (collect bool, err error)
	// unit receives a finished unit and returns how many bytes at its end belong to the next
	// unit (an audio frame cut by a PES boundary).
	unit(s *tsStream, u unitInfo, data []byte) (keep int, err error)
}

// tsDemux demuxes the video and one audio PID.
type tsDemux struct {
	path   string
	layout tsLayout
	v, a   tsStream
	unwrap unwrapper
	sink   tsSink
	// limit is the offset at which reading stops; stop is set by the sink or the limit.
	limit int64
	stop  bool
}

func newTSDemux(path string, layout tsLayout, vpid, apid uint16, sink tsSink) *tsDemux {
	return &tsDemux{
		path:   path,
		layout: layout,
		v:      tsStream{pid: vpid, video: true, cc: -1, left: -1},
		a:      tsStream{pid: apid, cc: -1, left: -1},
		sink:   sink,
		limit:  1<<63 - 1,
	}
}

func (d *tsDemux) corrupt(off int64, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s at byte %d", d.path, ErrCorrupt, fmt.Sprintf(format, args...), off)
}

// feed demuxes the whole packets of b, which starts at file offset off, until the end of b,
// the limit or a stop.
func (d *tsDemux) feed(b []byte, off int64) error {
	stride, so := d.layout.Stride, d.layout.SyncOff
	vpid, apid := d.v.pid, d.a.pid
	for i := 0; i+stride <= len(b); i += stride {
		poff := off + int64(i)
		if poff >= d.limit {
			d.stop = true
			return nil
		}
		p := b[i+so : i+so+tsPacketSize : i+so+tsPacketSize]
		if p[0] != tsSyncByte {
			return d.corrupt(poff, "lost packet sync")
		}
		pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
		var s *tsStream
		switch pid {
		case vpid:
			s = &d.v
		case apid:
			s = &d.a
		default:
			continue
		}
		if err := d.packet(s, p, poff); err != nil {
			return err
		}
		if d.stop {
			return nil
		}
	}
	return nil
}

// packet handles one packet of a followed PID.
func (d *tsDemux) packet(s *tsStream, p []byte, off int64) error {
	if p[1]&0x80 != 0 {
		return d.corrupt(off, "transport error indicator on PID %d", s.pid)
	}
	afc := p[3] >> 4 & 3
	if afc&1 == 0 {
		// No payload (or the reserved value 0): the continuity counter does not advance.
		return nil
	}
	start := 4
	discontinuity := false
	if afc&2 != 0 {
		alen := int(p[4])
		if alen > 182 {
			return d.corrupt(off, "adaptation field of %d bytes in a packet with payload on PID %d", alen, s.pid)
		}
		discontinuity = alen > 0 && p[5]&0x80 != 0
		start = 5 + alen
	}
	cc := int(p[3] & 0x0f)
	if s.cc >= 0 && !discontinuity {
		if cc == s.cc {
			return nil // a duplicate packet (2.4.3.3): ignore it
		}
		if cc != (s.cc+1)&0x0f {
			return d.corrupt(off, "continuity counter jumps from %d to %d on PID %d", s.cc, cc, s.pid)
		}
	}
	s.cc = cc
	payload := p[start:]
	if p[1]&0x40 != 0 {
		return d.pesStart(s, payload, off)
	}
	if s.inPES {
		d.appendPayload(s, payload)
	}
	return nil
}

func (d *tsDemux) appendPayload(s *tsStream, b []byte) {
	if s.left >= 0 {
		if len(b) > s.left {
			b = b[:s.left]
		}
		s.left -= len(b)
	}
	s.data.append(b)
}

// pesStart parses the PES header at the start of a payload (2.4.3.7).
func (d *tsDemux) pesStart(s *tsStream, b []byte, off int64) error {
	if s.inPES && s.left > 0 {
		return d.corrupt(off, "PES on PID %d ends %d bytes before its announced length", s.pid, s.left)
	}
	s.inPES = false
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return d.corrupt(off, "no PES start code on PID %d", s.pid)
	}
	switch b[3] {
	case 0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xf2, 0xf8, 0xff:
		// Streams without the optional PES header (padding, ECM, ...): nothing for us.
		return nil
	}
	if b[6]&0xc0 != 0x80 {
		return d.corrupt(off, "invalid PES header on PID %d", s.pid)
	}
	flags := b[7] >> 6
	hlen := int(b[8])
	if 9+hlen > len(b) {
		return d.corrupt(off, "PES header of %d bytes does not fit in its first packet on PID %d", hlen, s.pid)
	}
	left := -1
	if n := int(b[4])<<8 | int(b[5]); n != 0 {
		left = n - 3 - hlen
		if left < 0 {
			return d.corrupt(off, "PES length %d shorter than its header on PID %d", n, s.pid)
		}
	}
	data := b[9+hlen:]
	if flags&2 == 0 {
		if flags == 1 {
			return d.corrupt(off, "PES with DTS and no PTS on PID %d", s.pid)
		}
		// A PES without PTS continues the open unit.
		if s.open {
			s.inPES, s.left = true, left
			d.appendPayload(s, data)
		}
		return nil
	}
	need := 5
	if flags == 3 {
		need = 10
	}
	if hlen < need {
		return d.corrupt(off, "PES header of %d bytes too short for its timestamps on PID %d", hlen, s.pid)
	}
	rawPTS, ok1 := readTimestamp(b[9:14])
	rawDTS, ok2 := rawPTS, true
	if flags == 3 {
		rawDTS, ok2 = readTimestamp(b[14:19])
	}
	if !ok1 || !ok2 {
		return d.corrupt(off, "invalid timestamp marker bits on PID %d", s.pid)
	}
	// Unwrap the DTS first: it comes first in time, and the PTS follows within 2^32 ticks.
	u := unitInfo{off: off}
	u.dts = d.unwrap.next(rawDTS)
	u.pts = u.dts + (rawPTS-rawDTS)&(tsWrap-1)
	if u.pts-u.dts >= tsWrap/2 {
		return d.corrupt(off, "PTS before DTS on PID %d", s.pid)
	}
	if s.video && s.open && u.pts == s.unit.pts && u.dts == s.unit.dts {
		// One PES per slice, each with the picture's timestamps: the same access unit.
		s.inPES, s.left = true, left
		d.appendPayload(s, data)
		return nil
	}
	if err := d.finishUnit(s, false); err != nil {
		return err
	}
	collect, err := d.sink.start(s, u)
	if err != nil {
		return err
	}
	if collect {
		s.open, s.unit, s.inPES, s.left = true, u, true, left
		d.appendPayload(s, data)
	} else {
		s.data.begin(0)
	}
	return nil
}

// finishUnit hands the open unit of s to the sink. At the end of the read (last), a unit
// whose PES is known to be incomplete is dropped.
func (d *tsDemux) finishUnit(s *tsStream, last bool) error {
	if !s.open {
		return nil
	}
	s.open, s.inPES = false, false
	if last && s.left > 0 {
		s.data.begin(0)
		return nil
	}
	keep, err := d.sink.unit(s, s.unit, s.data.unit())
	if err != nil {
		return err
	}
	s.data.begin(keep)
	return nil
}

// flush hands the open units to the sink at the end of the read.
func (d *tsDemux) flush() error {
	if err := d.finishUnit(&d.v, true); err != nil {
		return err
	}
	return d.finishUnit(&d.a, true)
}
