// Package annexb splits Annex-B byte streams (ITU-T H.264 Annex B, ITU-T
// H.265 Annex B) into NAL units. The demuxers, the fMP4 muxer and the RTP
// outputs all split with it.
package annexb

import "bytes"

// Append appends the NAL units of byte stream b to dst and returns it. Each
// unit follows a 0x000001 start code; the zero bytes before a start code
// (the 4-byte form, trailing_zero_8bits) are not part of the unit before
// it, and empty units are left out. Bytes before the first start code are
// left out; b without any start code is one unit. The units alias b, with
// their capacity cut at their end.
//
// Emulation prevention keeps 0x000001 out of NAL units, so the scan looks
// for the rare 0x01 byte (with the vectorized IndexByte) and checks the two
// bytes before it.
func Append(dst [][]byte, b []byte) [][]byte {
	start := -1 // where the current unit begins
	add := func(end int) {
		for end > start && b[end-1] == 0 {
			end--
		}
		if end > start {
			dst = append(dst, b[start:end:end])
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
	if start < 0 {
		start = 0 // no start code: one unit
	}
	if start < len(b) {
		add(len(b))
	}
	return dst
}
