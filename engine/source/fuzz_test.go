package source

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"onair/library"
	"onair/testmedia"
)

// fuzzClip is the small clip the fuzz targets corrupt.
func fuzzClip(t testing.TB, mp4 bool) (*clip, []byte) {
	o := testmedia.Options{Width: 64, Height: 64, Duration: 3 * time.Second, GOPFrames: 25, Seed: 10}
	name := "fuzz.ts"
	if mp4 {
		name = "fuzz.mp4"
	}
	c := genClip(t, name, o)
	data, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	return c, data
}

// fuzzRanges opens data as a clip of container with the clean clip's index and reads every
// range; errors are fine, panics and hangs are not.
func fuzzRanges(t *testing.T, data []byte, container string, kf library.KeyframeIndex) {
	f := memFile{Reader: bytes.NewReader(data), name: "fuzz"}
	h, err := parseHeader(f, container)
	if err != nil {
		return
	}
	r := h.newReader(f, kf)
	ctx := context.Background()
	for i, k := range kf.Keyframes {
		to := endOfFile
		if i+1 < len(kf.Keyframes) {
			to = kf.Keyframes[i+1].PTS
		}
		v, _, err := r.Range(ctx, k.PTS, to)
		if err == nil && len(v) > 0 && !v[0].Key {
			t.Fatalf("range %d starts with a frame that is not a keyframe", i)
		}
	}
	// The whole file, and without an index (MP4 uses its own sync samples).
	_, _, _ = r.Range(ctx, -endOfFile, endOfFile)
	_, _, _ = h.newReader(f, library.KeyframeIndex{}).Range(ctx, 0, endOfFile)
}

func fuzzSeeds(f *testing.F, mp4 bool) *clip {
	c, data := fuzzClip(f, mp4)
	f.Add(data)
	for _, d := range damages {
		if d.mp4 == mp4 {
			f.Add(d.apply(data, c.kf))
		}
	}
	return c
}

func FuzzRangeTS(f *testing.F) {
	c := fuzzSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRanges(t, data, containerTS, c.kf)
	})
}

func FuzzRangeMP4(f *testing.F) {
	c := fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRanges(t, data, containerMP4, c.kf)
	})
}
