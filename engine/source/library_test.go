package source

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"onair/library"
	"onair/testmedia"
)

// TestLibraryIndex scans clips with the library and reads every range with the index the
// library stored: the test's own index builder and the reader agree with the real probe.
func TestLibraryIndex(t *testing.T) {
	clips := map[string]*clip{
		"gen.ts":  genClip(t, "gen25.ts", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "TS"}),
		"gen.mp4": genClip(t, "gen25.mp4", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "MP4"}),
		"gen.m2ts": genClip(t, "gen.m2ts", testmedia.Options{
			Width: 320, Height: 180, Duration: 5 * time.Second, Seed: 3,
			GOPFrames: 25,
		}),
	}
	if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" || hasTool("ffmpeg") {
		x264 := []string{"-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2"}
		x265 := []string{"-c:v", "libx265", "-preset", "veryfast", "-x265-params", "keyint=50:min-keyint=50:scenecut=0:log-level=error"}
		clips["bf.ts"] = ffClip(t, "h264bf.ts", 6, x264...)
		clips["bf.mp4"] = ffClip(t, "h264bf.mp4", 6, x264...)
		clips["h265.ts"] = ffClip(t, "h265.ts", 6, x265...)
		clips["h265.mp4"] = ffClip(t, "h265.mp4", 6, x265...)
	}

	root := t.TempDir()
	dir := filepath.Join(root, "programs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	byPath := map[string]*clip{}
	for name, c := range clips {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		byPath[p] = c
	}
	st, err := library.Open(filepath.Join(t.TempDir(), "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Scan(ctx, []string{root}, nil); err != nil {
		t.Fatal(err)
	}
	assets, err := st.List(ctx, library.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != len(clips) {
		t.Fatalf("%d assets, want %d", len(assets), len(clips))
	}
	cache := NewCache(16)
	for _, a := range assets {
		t.Run(filepath.Base(a.Path), func(t *testing.T) {
			if a.Status != library.StatusOK {
				t.Fatalf("status %s: %s", a.Status, a.Reason)
			}
			kf, err := st.Keyframes(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			c := byPath[a.Path]
			if !reflect.DeepEqual(kf.Keyframes, c.kf.Keyframes) {
				t.Errorf("library index %v\ntest index    %v", kf.Keyframes, c.kf.Keyframes)
			}
			r, err := cache.Open(a.Path, a.Container, kf)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			info := r.Info()
			if info.VideoCodec != a.Video.Codec || info.Width != a.Video.Width || info.Height != a.Video.Height {
				t.Errorf("info %+v, library %+v", info, *a.Video)
			}
			if a.Audio != nil && (info.AudioCodec != a.Audio.Codec || info.SampleRate != a.Audio.SampleRate ||
				info.Channels != a.Audio.Channels) {
				t.Errorf("info %+v, library %+v", info, *a.Audio)
			}
			n := 0
			for _, rr := range readConsecutive(t, r, kf) {
				n += len(rr.video)
			}
			if n != c.frames {
				t.Errorf("%d frames, want %d", n, c.frames)
			}
		})
	}
}

func hasTool(name string) bool {
	_, err := execLookPath(name)
	return err == nil
}
