package muxer

import "onair/internal/annexb"

// AppendNALUs appends the NAL units of video unit u of codec c to dst, as
// MP4 samples and RTP carry them: without start codes and without access
// unit delimiters; Data itself, or each part split when the unit is an
// Annex-B byte stream. The units share u's memory; with a dst kept from unit
// to unit it allocates nothing.
func AppendNALUs(dst [][]byte, u *Unit, c Codec) [][]byte {
	n0 := len(dst)
	for _, d := range u.Data {
		if u.AnnexB {
			dst = annexb.Append(dst, d)
		} else if len(d) > 0 {
			dst = append(dst, d)
		}
	}
	out := dst[:n0]
	for _, n := range dst[n0:] {
		if !IsAUD(n, c) {
			out = append(out, n)
		}
	}
	return out
}

// IsAUD reports whether NAL unit n (not empty) of codec c is an access unit
// delimiter: H.264 type 9, H.265 type 35.
func IsAUD(n []byte, c Codec) bool {
	if c == CodecH265 {
		return (n[0]>>1)&0x3F == 35
	}
	return n[0]&0x1F == 9
}
