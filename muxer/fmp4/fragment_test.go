package fmp4_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/muxer"
	"onair/muxer/fmp4"
	"onair/muxer/internal/synth"
)

// slateSegments returns n 2 s segments of the generated slate (real H.264
// and AAC) at 25 fps, starting at media time start.
func slateSegments(t testing.TB, start int64, n int) []engine.Segment {
	t.Helper()
	it := engine.Item{Start: start, Duration: int64(n) * 2 * engine.Hz}
	for i := range n {
		it.Cuts = append(it.Cuts, int64(i)*2*engine.Hz)
	}
	a := engine.Asset{Width: 320, Height: 180, FrameRateNum: 25, FrameRateDen: 1}
	var segs []engine.Segment
	for i := range n {
		s, err := engine.Slate(a, &it, i, []string{"CMAF"})
		require.NoError(t, err)
		segs = append(segs, s)
	}
	return segs
}

// TestSegmentsDecode writes an init segment and consecutive segments, past
// the 33-bit wrap of MPEG-TS timestamps, and checks them with mediacommon's
// fMP4 reader (tracks, base times, sample counts) and with ffmpeg, which
// decodes every frame without an error.
func TestSegmentsDecode(t *testing.T) {
	start := int64(1<<33) - 3*engine.Hz // the wrap falls in the second segment
	segs := slateSegments(t, start, 4)
	in, err := fmp4.NewInit(&segs[0].Config, segs[0].Units)
	require.NoError(t, err)
	require.Equal(t, fmp4.Profile{VideoCodec: in.Profile.VideoCodec, AudioCodec: "mp4a.40.2", Width: 320, Height: 180, SampleRate: 48000, Channels: 2}, in.Profile)
	require.True(t, strings.HasPrefix(in.Profile.VideoCodec, "avc1."), in.Profile.VideoCodec)

	var init mcfmp4.Init
	require.NoError(t, init.Unmarshal(bytes.NewReader(in.Muxed)))
	require.Len(t, init.Tracks, 2)

	var w fmp4.Writer
	all := append([]byte(nil), in.Muxed...)
	video := append([]byte(nil), in.Video...)
	frames := 0
	for i, s := range segs {
		seg, err := w.AppendSegment(nil, &s.Config, s.Units, int64(i))
		require.NoError(t, err)
		again, err := w.AppendSegment(nil, &s.Config, s.Units, int64(i))
		require.NoError(t, err)
		require.Equal(t, seg, again, "the same units give the same bytes")

		var parts mcfmp4.Parts
		require.NoError(t, parts.Unmarshal(seg))
		require.Len(t, parts, 2, "a video fragment and an audio fragment")
		require.Equal(t, uint32(fmp4.VideoTrackID), uint32(parts[0].Tracks[0].ID))
		require.Equal(t, uint64(s.Units[0].DTS), parts[0].Tracks[0].BaseTime, "tfdt of segment %d is its first DTS, unwrapped", i)
		nv, na := 0, 0
		for _, u := range s.Units {
			if u.Track == 0 {
				nv++
			} else {
				na++
			}
		}
		require.Len(t, parts[0].Tracks[0].Samples, nv)
		require.Len(t, parts[1].Tracks[0].Samples, na)
		frames += nv

		v, a, err := fmp4.Split(seg)
		require.NoError(t, err)
		require.Equal(t, seg, append(append([]byte(nil), v...), a...))
		all = append(all, seg...)
		video = append(video, v...)
	}

	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
			t.Fatal("ffprobe not found (ONAIR_REQUIRE_TOOLS=1)")
		}
		t.Skip("SKIP: ffprobe not found")
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"muxed.mp4": all, "video.mp4": video} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		cmd := exec.Command(ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", p)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, stderr.String())
		require.Empty(t, stderr.String(), "%s: ffprobe reported problems", name)
		require.Equal(t, "320,180,"+strconv.Itoa(frames), strings.TrimSpace(string(out)), name)
	}
}

// TestAnnexBUnits checks that an Annex-B unit loses its start codes and its
// access unit delimiter: the sample holds the same NAL units as the split
// form.
func TestAnnexBUnits(t *testing.T) {
	nals := [][]byte{{0x67, 1, 2, 3}, {0x68, 4}, {0x65, 5, 6, 7, 0, 0, 3, 1}}
	var annexB []byte
	annexB = append(annexB, 0, 0, 0, 1, 0x09, 0xF0) // AUD
	for i, n := range nals {
		if i == 1 {
			annexB = append(annexB, 0, 0, 1)
		} else {
			annexB = append(annexB, 0, 0, 0, 1)
		}
		annexB = append(annexB, n...)
	}
	cfg := muxer.Config{Tracks: []muxer.Track{{PID: 256, Codec: muxer.CodecH264}}, EndDTS: 3600}
	var w fmp4.Writer
	split, err := w.AppendSegment(nil, &cfg, []muxer.Unit{{Track: 0, PTS: 0, DTS: 0, Key: true, Data: nals}}, 0)
	require.NoError(t, err)
	joined, err := w.AppendSegment(nil, &cfg, []muxer.Unit{{Track: 0, PTS: 0, DTS: 0, Key: true, Data: [][]byte{annexB}, AnnexB: true}}, 0)
	require.NoError(t, err)
	require.Equal(t, split, joined)
}

// benchChannel is about 5 Mbit/s of H.264 at 25 fps plus AAC; one 6 s
// segment of it, as muxer's BenchmarkWriteSegment uses.
var benchChannel = synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 24000}

const benchSegment = 6 * 90000

// BenchmarkCMAFSegment writes one 6 s segment as CMAF (video and audio
// fragments) per iteration, into a reused buffer.
func BenchmarkCMAFSegment(b *testing.B) {
	units := benchChannel.Units(0, benchSegment)
	cfg := muxer.Config{Tracks: benchChannel.Tracks(), EndDTS: benchSegment}
	var w fmp4.Writer
	buf, err := w.AppendSegment(nil, &cfg, units, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if buf, err = w.AppendSegment(buf[:0], &cfg, units, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTSSegment writes the same units as one MPEG-TS segment, for
// comparison.
func BenchmarkTSSegment(b *testing.B) {
	units := benchChannel.Units(0, benchSegment)
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
