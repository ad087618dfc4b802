package testmedia

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clipCases are short clips covering both containers, both common frame
// rates and a clip without audio. Tests parse, probe and decode all of them.
var clipCases = []struct {
	name string
	o    Options
}{
	{"ts_25", Options{Duration: 3 * time.Second, Container: "ts", Label: "TS 25", Seed: 1}},
	{"mp4_25", Options{Duration: 3 * time.Second, Container: "mp4", Label: "MP4 25", Seed: 2}},
	{"ts_2997", Options{Duration: 3100 * time.Millisecond, Container: "ts", FrameRateNum: 30000, FrameRateDen: 1001, Label: "TS 29.97", Seed: 3}},
	{"mp4_2997", Options{Duration: 3100 * time.Millisecond, Container: "mp4", FrameRateNum: 30000, FrameRateDen: 1001, Label: "MP4 29.97", Seed: 4}},
	{"ts_noaudio_small", Options{Width: 320, Height: 180, Duration: 1500 * time.Millisecond, Container: "ts", GOPFrames: 10, NoAudio: true, Label: "NO AUDIO"}},
	{"mp4_noaudio_30", Options{Duration: 2 * time.Second, Container: "mp4", FrameRateNum: 30, NoAudio: true, Label: "MP4 30"}},
}

func generate(t testing.TB, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Generate(&buf, o))
	return buf.Bytes()
}

func writeClip(t testing.TB, name string, o Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+"."+o.Container)
	require.NoError(t, WriteFile(path, o))
	return path
}

func TestGenerateDeterministic(t *testing.T) {
	for _, ca := range clipCases {
		t.Run(ca.name, func(t *testing.T) {
			a := sha256.Sum256(generate(t, ca.o))
			b := sha256.Sum256(generate(t, ca.o))
			require.Equal(t, a, b)

			o := ca.o
			o.Seed++
			o.Background = nil
			c := sha256.Sum256(generate(t, o))
			require.NotEqual(t, a, c, "another seed gives another clip")
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, ca := range []struct {
		name string
		o    Options
		msg  string
	}{
		{"no duration", Options{Container: "ts"}, "duration"},
		{"negative duration", Options{Container: "ts", Duration: -time.Second}, "duration"},
		{"too long", Options{Container: "ts", Duration: 25 * time.Hour}, "duration"},
		{"no container", Options{Duration: time.Second}, "container"},
		{"bad container", Options{Duration: time.Second, Container: "avi"}, "container"},
		{"odd width", Options{Duration: time.Second, Container: "ts", Width: 641, Height: 360}, "size"},
		{"huge", Options{Duration: time.Second, Container: "ts", Width: 8192, Height: 360}, "size"},
		{"bad rate", Options{Duration: time.Second, Container: "ts", FrameRateNum: -1}, "frame rate"},
		{"too fast", Options{Duration: time.Second, Container: "ts", FrameRateNum: 1000}, "frame rate"},
		{"bad gop", Options{Duration: time.Second, Container: "ts", GOPFrames: -2}, "gop"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			err := Generate(&bytes.Buffer{}, ca.o)
			require.ErrorIs(t, err, ErrOptions)
			require.ErrorContains(t, err, ca.msg)
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	o := Options{Duration: time.Second, Label: "FILE"}
	for _, ext := range []string{"ts", "mp4"} {
		path := filepath.Join(dir, "clip."+ext)
		require.NoError(t, WriteFile(path, o))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		o2 := o
		o2.Container = ext
		require.Equal(t, generate(t, o2), got)
	}
	err := WriteFile(filepath.Join(dir, "clip.avi"), o)
	require.ErrorIs(t, err, ErrOptions)

	err = WriteFile(filepath.Join(dir, "missing", "clip.ts"), o)
	require.Error(t, err)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"clip.ts", "clip.mp4"}, names, "no temporary files left")
}

// ffprobeResult is the part of `ffprobe -of json` the tests read.
type ffprobeResult struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Profile      string `json:"profile"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		NbReadFrames string `json:"nb_read_frames"`
		RFrameRate   string `json:"r_frame_rate"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) ffprobeResult {
	t.Helper()
	bin := needTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_type,codec_name,profile,width,height,sample_rate,channels,nb_read_frames,r_frame_rate:format=duration",
		"-of", "json", path).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("ffprobe %s: %v: %s", path, err, ee.Stderr)
	}
	require.NoError(t, err)
	var r ffprobeResult
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return r
}

// ffmpegDecode decodes every stream of path and returns what ffmpeg printed
// with -v error: nothing for a clean file.
func ffmpegDecode(t *testing.T, path string) string {
	t.Helper()
	bin := needTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-nostdin", "-v", "error", "-i", path, "-map", "0", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

func TestFFprobe(t *testing.T) {
	needTool(t, "ffprobe")
	for _, ca := range clipCases {
		t.Run(ca.name, func(t *testing.T) {
			path := writeClip(t, ca.name, ca.o)
			o, err := ca.o.normalize()
			require.NoError(t, err)
			frames := FrameCount(o.Duration, o.FrameRateNum, o.FrameRateDen)

			r := ffprobe(t, path)
			wantStreams := 2
			if o.NoAudio {
				wantStreams = 1
			}
			require.Len(t, r.Streams, wantStreams)
			for _, s := range r.Streams {
				switch s.CodecType {
				case "video":
					require.Equal(t, "h264", s.CodecName)
					require.Equal(t, o.Width, s.Width)
					require.Equal(t, o.Height, s.Height)
					require.Equal(t, strconv.Itoa(frames), s.NbReadFrames)
					require.Equal(t, strconv.Itoa(o.FrameRateNum)+"/"+strconv.Itoa(o.FrameRateDen), s.RFrameRate)
				case "audio":
					require.Equal(t, "aac", s.CodecName)
					require.Equal(t, "LC", s.Profile)
					require.Equal(t, "48000", s.SampleRate)
					require.Equal(t, 2, s.Channels)
					require.Equal(t, strconv.Itoa(AudioFrameCount(frames, o.FrameRateNum, o.FrameRateDen)), s.NbReadFrames)
				default:
					t.Fatalf("unexpected stream %+v", s)
				}
			}
			dur, err := strconv.ParseFloat(r.Format.Duration, 64)
			require.NoError(t, err)
			want := float64(frames) * float64(o.FrameRateDen) / float64(o.FrameRateNum)
			frame := float64(o.FrameRateDen) / float64(o.FrameRateNum)
			require.LessOrEqual(t, math.Abs(dur-want), frame, "duration %.3f s, want %.3f s", dur, want)

			require.Empty(t, ffmpegDecode(t, path))
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, container := range []string{"ts", "mp4"} {
		b.Run(container, func(b *testing.B) {
			o := Options{Duration: time.Minute, Container: container, Label: "BENCHMARK"}
			n := len(generate(b, o))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := Generate(discard{}, o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)*1e3/60, "ms/media-s")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
