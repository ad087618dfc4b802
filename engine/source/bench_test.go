package source

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"onair/testmedia"
)

// benchClip is a 1080p clip with a keyframe every 2 s: made by ffmpeg (about 10 Mbit/s) when
// it is installed, else by the generator (whose flat pictures are much smaller).
func benchClip(b *testing.B, ext string) *clip {
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		return ffClipSized(b, "bench1080"+ext, "1920x1080", 12,
			"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "10M", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0")
	}
	return genClip(b, "bench1080"+ext, testmedia.Options{Width: 1920, Height: 1080, Duration: 12 * time.Second, Label: "BENCH"})
}

// benchRanges reads every keyframe interval of a clip per iteration; the bytes are those of
// the frames returned.
func benchRanges(b *testing.B, ext string) {
	c := benchClip(b, ext)
	r, err := Open(c.path, c.container, c.kf)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ks := c.kf.Keyframes
	ctx := context.Background()
	readAll := func() int64 {
		var n int64
		for i := range ks {
			to := endOfFile
			if i+1 < len(ks) {
				to = ks[i+1].PTS
			}
			v, a, err := r.Range(ctx, ks[i].PTS, to)
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range append(v, a...) {
				for _, d := range f.Data {
					n += int64(len(d))
				}
			}
		}
		return n
	}
	b.SetBytes(readAll())
	b.ReportAllocs()
	for b.Loop() {
		readAll()
	}
}

func BenchmarkRangeTS(b *testing.B)  { benchRanges(b, ".ts") }
func BenchmarkRangeMP4(b *testing.B) { benchRanges(b, ".mp4") }
