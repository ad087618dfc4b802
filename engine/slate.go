package engine

import (
	"fmt"

	"onair/muxer"
	"onair/testmedia"
	"onair/testmedia/h264gen"
)

// Slate stands in for a segment whose source cannot be read: a grey picture
// with a message, in the asset's picture size and frame rate, and silence on
// the channel's audio grid, for exactly the segment's time. The first frame is
// a keyframe, the rest repeat it, so a slate segment costs a few kilobytes.
type slateStyle struct {
	width, height int
	num, den      int
}

// Slate returns the slate for segment i of item it, whose asset a could not be
// read; lines are the message on screen.
func Slate(a Asset, it *Item, i int, lines []string) (Segment, error) {
	st := slateStyle{width: a.Width, height: a.Height, num: a.FrameRateNum, den: a.FrameRateDen}
	if st.width < 16 || st.height < 16 || st.width%2 != 0 || st.height%2 != 0 {
		st.width, st.height = 640, 360
	}
	if st.num <= 0 || st.den <= 0 {
		st.num, st.den = 25, 1
	}
	enc, err := h264gen.New(h264gen.Config{
		Width: st.width, Height: st.height, FrameRateNum: st.num, FrameRateDen: st.den,
		Background: testmedia.SlateGrey, Foreground: [3]byte{235, 128, 128},
	})
	if err != nil {
		return Segment{}, fmt.Errorf("slate: %w", err)
	}
	from, to := it.SegmentRange(i)
	segStart, segEnd := it.Start+from, it.Start+to
	asc, silence := testmedia.SilentAAC()
	cfg := muxer.Config{
		Tracks: []muxer.Track{
			{PID: VideoPID, Codec: muxer.CodecH264},
			{PID: AudioPID, Codec: muxer.CodecAAC, AudioSpecificConfig: asc},
		},
		EndDTS: segEnd,
	}
	sps, pps := enc.SPS(), enc.PPS()
	var video []muxer.Unit
	for k := int64(0); ; k++ {
		dts := segStart + k*Hz*int64(st.den)/int64(st.num)
		if dts >= segEnd {
			break
		}
		var data [][]byte
		if k == 0 {
			data = [][]byte{sps, pps, enc.IDR(int(it.Index+int64(i))&0xffff, lines)}
		} else {
			data = [][]byte{enc.P(int(k))}
		}
		video = append(video, muxer.Unit{Track: 0, PTS: dts, DTS: dts, Key: k == 0, Data: data})
	}
	// Silence on the 48 kHz grid of 1024-sample frames (1920 ticks).
	const frame = 1920
	var audio []muxer.Unit
	for pts := ceilDiv(segStart, frame) * frame; pts < segEnd; pts += frame {
		audio = append(audio, muxer.Unit{Track: 1, PTS: pts, DTS: pts, Data: [][]byte{silence}})
	}
	return Segment{Config: cfg, Units: mergeByDTS(nil, video, audio)}, nil
}
