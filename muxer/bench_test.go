package muxer_test

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"onair/muxer"
	"onair/muxer/internal/synth"
)

// benchChannel is about 5 Mbit/s of H.264 at 25 fps with a keyframe every
// 2 s, plus AAC; benchUnits is one 6 s segment of it.
var benchChannel = synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 24000}

const benchSegment = 6 * 90000

func benchUnits() []muxer.Unit {
	return benchChannel.Units(0, benchSegment)
}

// BenchmarkWriteSegment writes one 6 s segment per iteration.
func BenchmarkWriteSegment(b *testing.B) {
	units := benchUnits()
	cfg := muxer.Config{Tracks: benchChannel.Tracks(), EndDTS: benchSegment}
	var buf bytes.Buffer
	n, err := muxer.WriteSegment(&buf, cfg, units)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if _, err = muxer.WriteSegment(&buf, cfg, units); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMediacommonWriter writes the same units with mediacommon's
// mpegts.Writer (over go-astits), one writer per segment as well.
func BenchmarkMediacommonWriter(b *testing.B) {
	units := benchUnits()
	var buf bytes.Buffer
	write := func() {
		video := &mpegts.Track{PID: synth.VideoPID, Codec: &mcodecs.H264{}}
		audio := &mpegts.Track{PID: synth.AudioPID, Codec: &mcodecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
			Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2, ChannelCount: 2, //nolint:staticcheck
		}}}
		w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{video, audio}}
		if err := w.Initialize(); err != nil {
			b.Fatal(err)
		}
		for _, u := range units {
			var err error
			if u.Track == 0 {
				err = w.WriteH264(video, u.PTS, u.DTS, u.Data)
			} else {
				err = w.WriteMPEG4Audio(audio, u.PTS, u.Data)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	write()
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		write()
	}
}
