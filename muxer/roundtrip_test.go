package muxer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"onair/muxer"
	"onair/muxer/internal/synth"
)

const wrap33 = 1 << 33

// readUnits reads a transport stream with mediacommon's Reader and returns
// its units per track (the reader's track order), with PTS/DTS as read.
func readUnits(t testing.TB, ts []byte) ([]*mpegts.Track, [][]muxer.Unit) {
	t.Helper()
	r := &mpegts.Reader{R: bytes.NewReader(ts)}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var decodeErr error
	r.OnDecodeError(func(err error) {
		if decodeErr == nil {
			decodeErr = err
		}
	})
	tracks := r.Tracks()
	out := make([][]muxer.Unit, len(tracks))
	for i, tr := range tracks {
		add := func(pts, dts int64, data [][]byte) error {
			out[i] = append(out[i], muxer.Unit{Track: i, PTS: pts, DTS: dts, Data: data})
			return nil
		}
		switch tr.Codec.(type) {
		case *mcodecs.H264:
			r.OnDataH264(tr, add)
		case *mcodecs.H265:
			r.OnDataH265(tr, add)
		case *mcodecs.MPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error { return add(pts, pts, aus) })
		case *mcodecs.Opus:
			r.OnDataOpus(tr, func(pts int64, pkts [][]byte) error { return add(pts, pts, pkts) })
		case *mcodecs.AC3:
			r.OnDataAC3(tr, func(pts int64, frame []byte) error { return add(pts, pts, [][]byte{frame}) })
		default:
			t.Fatalf("unexpected codec %T", tr.Codec)
		}
	}
	for {
		err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if decodeErr != nil {
		t.Fatalf("decode error: %v", decodeErr)
	}
	return tracks, out
}

// TestRoundTripMediacommon writes consecutive segments and reads them back
// with mediacommon's mpegts Reader: every unit comes back with its PTS/DTS
// modulo 2^33, NAL units and audio frames.
func TestRoundTripMediacommon(t *testing.T) {
	cases := []struct {
		name string
		ch   synth.Channel
	}{
		{"h264 aac", synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Reorder: true}},
		{"h264 aac across 2^33", synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Reorder: true, Epoch: wrap33 - 2*180000 - 1234}},
		{"h264 aac, 2 frames a unit", synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, AudioFramesPerUnit: 2}},
		{"h264 tiny frames", synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 2}},
		{"h265 opus", synth.Channel{Video: muxer.CodecH265, Audio: muxer.CodecOpus}},
		{"h264 ac3", synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAC3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const segDur, n = 180000, 4
			cfg := muxer.Config{Tracks: c.ch.Tracks()}
			ts := bytes.Join(writeSegments(t, c.ch, cfg, segDur, 0, n-1, true), nil)
			requireClean(t, "stream", analyze(t, ts))

			tracks, got := readUnits(t, ts)
			if len(tracks) != len(cfg.Tracks) {
				t.Fatalf("%d tracks read, %d written", len(tracks), len(cfg.Tracks))
			}
			want := make([][]muxer.Unit, len(tracks))
			for _, u := range c.ch.Units(c.ch.Epoch, c.ch.Epoch+n*segDur) {
				want[u.Track] = append(want[u.Track], u)
			}
			for i, tr := range tracks {
				if tr.PID != cfg.Tracks[i].PID {
					t.Fatalf("track %d has pid 0x%x", i, tr.PID)
				}
				if ac, ok := tr.Codec.(*mcodecs.MPEG4Audio); ok {
					if ac.SampleRate != 48000 || ac.ChannelCount != 2 || ac.Type != 2 { //nolint:staticcheck
						t.Fatalf("aac config read back: %+v", ac.Config)
					}
				}
				if len(got[i]) != len(want[i]) {
					t.Fatalf("track %d: %d units read, %d written", i, len(got[i]), len(want[i]))
				}
				for j, w := range want[i] {
					g := got[i][j]
					if g.PTS != w.PTS%wrap33 || g.DTS != w.DTS%wrap33 {
						t.Fatalf("track %d unit %d: pts/dts %d/%d, want %d/%d", i, j, g.PTS, g.DTS, w.PTS%wrap33, w.DTS%wrap33)
					}
					if !slices.EqualFunc(g.Data, w.Data, bytes.Equal) {
						t.Fatalf("track %d unit %d: data differs: %s vs %s", i, j, sizes(g.Data), sizes(w.Data))
					}
				}
			}
		})
	}
}

func sizes(d [][]byte) string {
	s := make([]int, len(d))
	for i, b := range d {
		s[i] = len(b)
	}
	return fmt.Sprint(s)
}
