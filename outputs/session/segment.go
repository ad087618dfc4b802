package session

import (
	"bytes"
	"math"
	"sort"
	"sync"

	"onair/engine"
	"onair/muxer"
)

// Segment is one segment of a channel as a session plays it: its units, owned
// by the Segment (copied out of the engine's scratch memory) and shared
// read-only by every viewer, and its MPEG-TS bytes, muxed once on first use.
type Segment struct {
	Ref    engine.SegmentRef
	Config muxer.Config
	// Units are the segment's access units in DTS order. Read-only.
	Units []muxer.Unit

	tsOnce sync.Once
	ts     []byte
	chunks []chunk
	tsErr  error
}

// chunk is a run of TS packets starting at off, due at media time at (the
// DTS its PCR stands for).
type chunk struct {
	off int
	at  int64
}

// newSegment copies seg's units (which alias memory the engine reuses) into
// one buffer.
func newSegment(ref engine.SegmentRef, seg engine.Segment) *Segment {
	n := 0
	parts := 0
	for _, u := range seg.Units {
		for _, d := range u.Data {
			n += len(d)
		}
		parts += len(u.Data)
	}
	buf := make([]byte, 0, n)
	data := make([][]byte, 0, parts)
	units := make([]muxer.Unit, len(seg.Units))
	for i, u := range seg.Units {
		start := len(data)
		for _, d := range u.Data {
			o := len(buf)
			buf = append(buf, d...)
			data = append(data, buf[o:len(buf):len(buf)])
		}
		u.Data = data[start:len(data):len(data)]
		units[i] = u
	}
	cfg := seg.Config
	cfg.Tracks = append([]muxer.Track(nil), cfg.Tracks...)
	for i := range cfg.Tracks {
		cfg.Tracks[i].AudioSpecificConfig = bytes.Clone(cfg.Tracks[i].AudioSpecificConfig)
	}
	return &Segment{Ref: ref, Config: cfg, Units: units}
}

// TS returns the segment's MPEG-TS bytes, exactly what engine.Channel.Render
// gives (each continuity counter starts at 0 and ends aligned, so segments
// concatenate into one continuous stream). They are muxed on the first call.
func (s *Segment) TS() ([]byte, error) {
	s.render()
	return s.ts, s.tsErr
}

func (s *Segment) render() {
	s.tsOnce.Do(func() {
		var b bytes.Buffer
		b.Grow(sizeHint(s.Units))
		if _, err := muxer.WriteSegment(&b, s.Config, s.Units); err != nil {
			s.tsErr = err
			return
		}
		s.ts = b.Bytes()
		s.chunks = pcrChunks(s.ts, s.Config, s.Ref.Start)
	})
}

// tsRange returns the byte range of the TS packets due in (from, to]: a
// packet is due when the PCR before it is (PCR + mux delay, i.e. the DTS it
// leads); the packets before the first PCR are due with it.
func (s *Segment) tsRange(from, to int64) (int, int) {
	s.render()
	if s.tsErr != nil {
		return 0, 0
	}
	idx := func(t int64) int {
		if t == math.MinInt64 {
			return 0
		}
		if t == math.MaxInt64 {
			return len(s.ts)
		}
		// chunks due at or before t
		k := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].at > t })
		if k == len(s.chunks) {
			return len(s.ts)
		}
		return s.chunks[k].off
	}
	return idx(from), idx(to)
}

// unitRange returns the indexes [i, j) of the units due (DTS) in (from, to].
func (s *Segment) unitRange(from, to int64) (int, int) {
	idx := func(t int64) int {
		switch t {
		case math.MinInt64:
			return 0
		case math.MaxInt64:
			return len(s.Units)
		}
		return sort.Search(len(s.Units), func(i int) bool { return s.Units[i].DTS > t })
	}
	return idx(from), idx(to)
}

// pcrChunks cuts ts before every packet that carries a PCR on the PCR PID.
// PCRs are 33-bit on the wire; they are unwrapped near start.
//
// Specification: ISO/IEC 13818-1, 2.4.3.4 (adaptation field, PCR).
func pcrChunks(ts []byte, cfg muxer.Config, start int64) []chunk {
	pcrPID := cfg.PCRPID
	if pcrPID == 0 {
		for _, t := range cfg.Tracks {
			if t.Codec.IsVideo() {
				pcrPID = t.PID
				break
			}
		}
		if pcrPID == 0 && len(cfg.Tracks) > 0 {
			pcrPID = cfg.Tracks[0].PID
		}
	}
	delay := cfg.MuxDelay
	if delay == 0 {
		delay = muxer.DefaultMuxDelay
	}
	const wrap = int64(1) << 33
	ref := start - delay
	var out []chunk
	for off := 0; off+188 <= len(ts); off += 188 {
		p := ts[off : off+188]
		pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
		if pid != pcrPID || p[3]&0x20 == 0 || p[4] < 7 || p[5]&0x10 == 0 {
			continue
		}
		base := int64(p[6])<<25 | int64(p[7])<<17 | int64(p[8])<<9 | int64(p[9])<<1 | int64(p[10])>>7
		d := (base - ref%wrap + 2*wrap) % wrap
		if d >= wrap/2 {
			d -= wrap
		}
		o := off
		if len(out) == 0 {
			o = 0 // the PSI before the first PCR goes with it
		}
		out = append(out, chunk{off: o, at: ref + d + delay})
	}
	return out
}

func sizeHint(units []muxer.Unit) int {
	n := 0
	for _, u := range units {
		for _, d := range u.Data {
			n += len(d) + 4
		}
		n += 40
	}
	return n + n/24 + 16<<10
}
