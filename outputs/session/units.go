package session

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"onair/muxer"
)

// NALUs returns the NAL units of a video unit, without start codes and
// without access unit delimiters (RTP and WebRTC carry none): Data itself, or
// Data[0] split when the unit is an Annex-B byte stream.
func NALUs(u *muxer.Unit) [][]byte {
	var nalus [][]byte
	if u.AnnexB {
		var a h264.AnnexB
		for _, d := range u.Data {
			if err := a.Unmarshal(d); err != nil {
				continue
			}
			nalus = append(nalus, a...)
		}
	} else {
		nalus = u.Data
	}
	out := nalus[:0:0]
	for _, n := range nalus {
		if len(n) > 0 && n[0]&0x1F != 9 { // access_unit_delimiter
			out = append(out, n)
		}
	}
	return out
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
