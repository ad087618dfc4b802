package session

import (
	"bytes"

	"onair/muxer"
)

// NALUs returns the NAL units of a video unit, without start codes and
// without access unit delimiters (RTP and WebRTC carry none): Data itself, or
// Data[0] split when the unit is an Annex-B byte stream.
func NALUs(u *muxer.Unit) [][]byte { return AppendNALUs(nil, u) }

// AppendNALUs appends the NAL units of a video unit to dst, as NALUs
// returns them; the slices share u's memory. With a dst kept from unit to
// unit it allocates nothing.
func AppendNALUs(dst [][]byte, u *muxer.Unit) [][]byte {
	for _, d := range u.Data {
		if u.AnnexB {
			dst = appendAnnexB(dst, d)
		} else if len(d) > 0 && d[0]&0x1F != 9 { // access_unit_delimiter
			dst = append(dst, d)
		}
	}
	return dst
}

// appendAnnexB appends the NAL units of Annex-B byte stream b to dst
// (ITU-T H.264 Annex B): each follows a 0x000001 start code, and zero bytes
// before a start code (the 4-byte form, trailing_zero_8bits) are not part
// of the unit before it. Emulation prevention keeps 0x000001 out of NAL
// units, so the scan looks for the rare 0x01 byte and checks the two before.
// Bytes before the first start code and access unit delimiters are left out.
func appendAnnexB(dst [][]byte, b []byte) [][]byte {
	start := -1 // where the current NAL unit begins
	add := func(end int) {
		for end > start && b[end-1] == 0 {
			end--
		}
		if end > start && b[start]&0x1F != 9 {
			dst = append(dst, b[start:end])
		}
	}
	for i := 2; i < len(b); {
		k := bytes.IndexByte(b[i:], 1)
		if k < 0 {
			break
		}
		p := i + k
		if b[p-1] == 0 && b[p-2] == 0 {
			if start >= 0 {
				add(p - 2)
			}
			start = p + 1
		}
		i = p + 1
	}
	if start >= 0 && start < len(b) {
		add(len(b))
	}
	return dst
}

// ParamSets returns the last SPS and PPS among nalus (H.264), or nil.
func ParamSets(nalus [][]byte) (sps, pps []byte) {
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
