package source

import (
	"errors"

	"onair/internal/annexb"
)

// Video codec names, as in library.VideoInfo.Codec.
const (
	codecH264 = "h264"
	codecH265 = "h265"
)

// NAL unit types this package looks at.
// Specification: ITU-T H.264 Table 7-1; ITU-T H.265 Table 7-1.
const (
	h264IDR = 5
	h264SPS = 7
	h264PPS = 8
	h264AUD = 9

	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT
	h265VPS       = 32
	h265SPS       = 33
	h265PPS       = 34
	h265AUD       = 35
)

// nalKind classifies NAL units for one codec.
type nalKind struct{ h265 bool }

func (k nalKind) typ(nal []byte) int {
	if k.h265 {
		return int(nal[0]>>1) & 0x3f
	}
	return int(nal[0]) & 0x1f
}

func (k nalKind) isAUD(t int) bool {
	if k.h265 {
		return t == h265AUD
	}
	return t == h264AUD
}

func (k nalKind) isKey(t int) bool {
	if k.h265 {
		return t >= h265IRAPFirst && t <= h265IRAPLast
	}
	return t == h264IDR
}

// paramSlot returns 0 for a VPS, 1 for an SPS, 2 for a PPS, -1 for other types.
func (k nalKind) paramSlot(t int) int {
	if k.h265 {
		switch t {
		case h265VPS:
			return 0
		case h265SPS:
			return 1
		case h265PPS:
			return 2
		}
		return -1
	}
	switch t {
	case h264SPS:
		return 1
	case h264PPS:
		return 2
	}
	return -1
}

var (
	errNoStartCode = errors.New("access unit does not start with a start code")
	errNALLength   = errors.New("NAL unit length beyond the end of its sample")
	errEmptyAU     = errors.New("access unit without NAL units")
)

// startsWithStartCode reports whether b starts with a start code (two or more zero bytes and a one).
func startsWithStartCode(b []byte) bool {
	i := 0
	for i < len(b) && i < 64 && b[i] == 0 {
		i++
	}
	return i >= 2 && i < len(b) && b[i] == 1
}

// splitAnnexB appends the NAL units of an Annex B byte stream (ITU-T H.264 Annex B) to dst,
// without start codes and trailing zero bytes; b must start with a start code. The units
// alias b.
func splitAnnexB(dst [][]byte, b []byte) ([][]byte, error) {
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	if i == len(b) {
		return dst, errEmptyAU
	}
	if i < 2 || b[i] != 1 {
		return dst, errNoStartCode
	}
	return annexb.Append(dst, b), nil
}

// splitLengthPrefixed appends the NAL units of an AVCC/HVCC sample with n-byte big-endian
// length prefixes (ISO/IEC 14496-15) to dst. The units alias b.
func splitLengthPrefixed(dst [][]byte, b []byte, n int) ([][]byte, error) {
	for len(b) > 0 {
		if len(b) < n {
			return dst, errNALLength
		}
		var l uint64
		for _, c := range b[:n] {
			l = l<<8 | uint64(c)
		}
		b = b[n:]
		if l > uint64(len(b)) {
			return dst, errNALLength
		}
		if l > 0 {
			dst = append(dst, b[:l:l])
		}
		b = b[l:]
	}
	return dst, nil
}

// accessUnit turns the NAL units of one access unit, the tail of nals from first on, into
// frame data: access unit delimiters removed and, for a keyframe, the parameter sets in front
// (those of the access unit itself, else ps). It reports whether the unit is a keyframe: one
// that holds an IDR or IRAP slice, or any when sync is set (an MP4 sync sample). It returns
// nals with the frame data as its tail from first.
func (k nalKind) accessUnit(nals [][]byte, first int, ps *[3][]byte, sync bool) (out [][]byte, key bool, err error) {
	key = sync
	var have [3]int // 1 + index in nals of the first VPS, SPS, PPS
	w := first
	for r := first; r < len(nals); r++ {
		nal := nals[r]
		t := k.typ(nal)
		if k.isAUD(t) {
			continue
		}
		if k.isKey(t) {
			key = true
		}
		if s := k.paramSlot(t); s >= 0 && have[s] == 0 {
			have[s] = w + 1
		}
		nals[w] = nal
		w++
	}
	nals = nals[:w]
	if w == first {
		return nals, false, errEmptyAU
	}
	if !key {
		return nals, false, nil
	}
	need := 1 // SPS, PPS
	if k.h265 {
		need = 0 // VPS, SPS, PPS
	}
	complete := true
	for s := need; s < 3; s++ {
		if have[s] == 0 {
			complete = false
		}
	}
	// Parameter sets present and in front, as encoders write them: keep the unit as it is.
	if complete {
		inFront := true
		for s := need; s < 3; s++ {
			if have[s]-1 >= first+3-need {
				inFront = false
			}
		}
		if inFront {
			return nals, true, nil
		}
	}
	// Rebuild: the parameter sets first (the unit's own, else the stored ones), then the rest.
	var set [3][]byte
	for s := need; s < 3; s++ {
		if have[s] > 0 {
			set[s] = nals[have[s]-1]
		} else {
			set[s] = ps[s]
		}
	}
	rest := make([][]byte, 0, len(nals)-first)
	for i, nal := range nals[first:] {
		if i+first+1 != have[0] && i+first+1 != have[1] && i+first+1 != have[2] {
			rest = append(rest, nal)
		}
	}
	nals = nals[:first]
	for s := need; s < 3; s++ {
		if len(set[s]) > 0 {
			nals = append(nals, set[s])
		}
	}
	return append(nals, rest...), true, nil
}
