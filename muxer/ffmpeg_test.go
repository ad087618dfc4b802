package muxer_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"onair/muxer"
)

// requireTools skips the test when a tool is missing, unless
// ONAIR_REQUIRE_TOOLS=1 makes that a failure.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s not found and ONAIR_REQUIRE_TOOLS=1", tool)
			}
			t.Skipf("SKIP: %s not found", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func countFrames(t *testing.T, path string) string {
	t.Helper()
	// the count is printed for the program's stream and again for the stream
	out := strings.Fields(run(t, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path))
	if len(out) == 0 {
		t.Fatalf("ffprobe printed no frame count for %s", path)
	}
	return out[len(out)-1]
}

// TestFFmpegDecodes remuxes a real H.264 + AAC clip made by ffmpeg into two
// segments and checks that ffmpeg decodes their concatenation without a
// complaint and finds every video frame.
func TestFFmpegDecodes(t *testing.T) {
	requireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ts")
	run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", "sine=r=48000",
		"-t", "4", "-c:v", "libx264", "-g", "25", "-bf", "0", "-c:a", "aac", "-f", "mpegts", in)
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}

	tracks, perTrack := readUnits(t, src)
	cfg := muxer.Config{}
	var units []muxer.Unit
	for i, tr := range tracks {
		mt := muxer.Track{PID: uint16(0x100 + i)}
		switch c := tr.Codec.(type) {
		case *mcodecs.H264:
			mt.Codec = muxer.CodecH264
		case *mcodecs.MPEG4Audio:
			mt.Codec = muxer.CodecAAC
			if mt.AudioSpecificConfig, err = c.Marshal(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected codec %T", tr.Codec)
		}
		cfg.Tracks = append(cfg.Tracks, mt)
		for _, u := range perTrack[i] {
			if mt.Codec == muxer.CodecH264 {
				u.Key = slices.ContainsFunc(u.Data, func(n []byte) bool { return n[0]&0x1F == 5 })
			}
			units = append(units, u)
		}
	}
	slices.SortStableFunc(units, func(a, b muxer.Unit) int { return int(a.DTS - b.DTS) })

	// cut at the keyframe nearest the middle
	var split int64
	for _, u := range units {
		if u.Key && u.DTS-units[0].DTS >= 2*90000 {
			split = u.DTS
			break
		}
	}
	if split == 0 {
		t.Fatal("no keyframe after 2 s")
	}
	cut := slices.IndexFunc(units, func(u muxer.Unit) bool { return u.DTS >= split })
	var out bytes.Buffer
	first := cfg
	first.EndDTS = split
	if _, err = muxer.WriteSegment(&out, first, units[:cut]); err != nil {
		t.Fatal(err)
	}
	if _, err = muxer.WriteSegment(&out, cfg, units[cut:]); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "out.ts")
	if err = os.WriteFile(outPath, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	requireClean(t, "remuxed", analyze(t, out.Bytes()))
	if msg := run(t, "ffmpeg", "-v", "error", "-i", outPath, "-f", "null", "-"); msg != "" {
		t.Fatalf("ffmpeg complained:\n%s", msg)
	}
	want, got := countFrames(t, in), countFrames(t, outPath)
	if want != got || want == "" || want == "0" {
		t.Fatalf("ffprobe counts %q video frames, %q in the source", got, want)
	}
	t.Logf("%d units, %s video frames, %d bytes in, %d bytes out", len(units), got, len(src), out.Len())
}
