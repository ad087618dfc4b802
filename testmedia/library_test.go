package testmedia

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hashTree returns the sha256 of every regular file under dir, by relative path.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestSampleLibraryLayout(t *testing.T) {
	assets := SampleLibrary()
	kinds := map[string]int{}
	colors := map[[3]byte]string{}
	paths := map[string]bool{}
	mp4Shows, tsShows := 0, 0
	for _, a := range assets {
		kinds[a.Kind]++
		require.False(t, paths[a.Path], "duplicate %s", a.Path)
		paths[a.Path] = true
		o, err := a.Options.normalize()
		require.NoError(t, err, a.Path)
		require.Equal(t, 640, o.Width)
		require.Equal(t, 360, o.Height)
		require.Equal(t, 25, o.FrameRateNum)
		require.Equal(t, 1, o.FrameRateDen)
		require.Equal(t, 50, o.GOPFrames)
		require.Equal(t, containerFromPath(a.Path), o.Container)
		require.NotNil(t, o.Background)
		other, dup := colors[*o.Background]
		require.False(t, dup, "%s has the colour of %s", a.Path, other)
		colors[*o.Background] = a.Path

		switch a.Kind {
		case "episode":
			require.Regexp(t, `^shows/[^/]+/Season 01/[^/]+ - S01E0[1-4] - [^/]+\.(ts|mp4)$`, a.Path)
			require.GreaterOrEqual(t, o.Duration, 2*time.Minute)
			require.LessOrEqual(t, o.Duration, 3*time.Minute)
			require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute}, a.Cues)
			for _, c := range a.Cues {
				frame := FrameCount(c, 25, 1)
				require.Zero(t, frame%o.GOPFrames, "cue %s on a keyframe", c)
				require.Less(t, c, o.Duration)
			}
			if o.Container == ContainerMP4 {
				mp4Shows++
			} else {
				tsShows++
			}
		case "movie":
			require.Regexp(t, `^movies/[^/]+ \(2026\)\.mp4$`, a.Path)
			require.Equal(t, 10*time.Minute, o.Duration)
		case "ad":
			require.Regexp(t, `^ads/[^/]+\.ts$`, a.Path)
			require.Contains(t, []time.Duration{15 * time.Second, 30 * time.Second}, o.Duration)
		case "bumper":
			require.Regexp(t, `^bumpers/[^/]+\.ts$`, a.Path)
			require.Equal(t, 5*time.Second, o.Duration)
		case "promo":
			require.Regexp(t, `^promos/[^/]+\.mp4$`, a.Path)
		case "slate":
			require.Equal(t, "slates/slate.ts", a.Path)
			require.Equal(t, 10*time.Second, o.Duration)
			require.Equal(t, SlateLabel, o.Label)
			require.Equal(t, SlateGrey, *o.Background)
			require.Equal(t, o.Background[1], byte(128), "neutral")
			require.Equal(t, o.Background[2], byte(128), "neutral")
		default:
			t.Fatalf("unknown kind %q", a.Kind)
		}
	}
	require.Equal(t, map[string]int{"episode": 12, "movie": 1, "ad": 6, "bumper": 3, "promo": 2, "slate": 1}, kinds)
	require.Equal(t, 4, mp4Shows)
	require.Equal(t, 8, tsShows)

	require.Equal(t, "cues: [1m0s, 2m0s]\n", string(CueSidecar([]time.Duration{time.Minute, 2 * time.Minute})))
	require.Equal(t, "a/b - S01E01 - T.cue.yaml", CueSidecarPath("a/b - S01E01 - T.ts"))
}

// TestWriteSampleLibrary writes the whole library twice into one directory:
// the second run generates every file again, finds the same bytes and
// rewrites nothing.
func TestWriteSampleLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("writes the whole sample library")
	}
	dir := t.TempDir()
	var calls int
	var lastDone, lastTotal int
	sum, err := WriteSampleLibrary(dir, func(done, total int, path string) {
		calls++
		require.Equal(t, lastDone+1, done)
		lastDone, lastTotal = done, total
		require.True(t, strings.HasPrefix(path, dir), path)
		_, err := os.Stat(path)
		require.NoError(t, err, "progress after the file is in place")
	})
	require.NoError(t, err)
	assets := SampleLibrary()
	wantFiles := len(assets) + 12 // media + one cue sidecar per episode
	require.Equal(t, wantFiles, sum.Files)
	require.Equal(t, wantFiles, calls)
	require.Equal(t, wantFiles, lastTotal)
	require.Equal(t, wantFiles, sum.Written)
	require.Less(t, sum.Bytes, int64(60e6), "library under 60 MB")
	t.Logf("sample library: %d files, %.1f MB", sum.Files, float64(sum.Bytes)/1e6)

	first := hashTree(t, dir)
	require.Len(t, first, wantFiles)
	for _, a := range assets {
		require.Contains(t, first, a.Path)
		if a.Cues != nil {
			data, err := os.ReadFile(filepath.Join(dir, CueSidecarPath(a.Path)))
			require.NoError(t, err)
			require.Equal(t, "cues: [1m0s, 2m0s]\n", string(data))
		}
	}
	info, err := os.Stat(filepath.Join(dir, assets[0].Path))
	require.NoError(t, err)

	// A TS and an MP4 of the library decode cleanly in ffmpeg.
	t.Run("ffmpeg", func(t *testing.T) {
		needTool(t, "ffmpeg")
		for _, p := range []string{"slates/slate.ts", "shows/The Test Kitchen/Season 01/The Test Kitchen - S01E01 - Bread.mp4"} {
			require.Empty(t, ffmpegDecode(t, filepath.Join(dir, p)), p)
		}
	})

	if raceEnabled() {
		// The second pass generates everything again: 20 s more under the
		// race detector. TestGenerateDeterministic covers determinism there.
		t.Log("race detector on: skipping the second pass")
		return
	}
	sum2, err := WriteSampleLibrary(dir, nil)
	require.NoError(t, err)
	require.Equal(t, wantFiles, sum2.Unchanged)
	require.Zero(t, sum2.Written)
	require.Equal(t, sum.Bytes, sum2.Bytes)
	require.Equal(t, first, hashTree(t, dir))
	info2, err := os.Stat(filepath.Join(dir, assets[0].Path))
	require.NoError(t, err)
	require.Equal(t, info.ModTime(), info2.ModTime(), "unchanged files are not rewritten")
}

func TestPutFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b.ts")
	written, err := putFile(path, []byte("one"))
	require.NoError(t, err)
	require.True(t, written)

	written, err = putFile(path, []byte("one"))
	require.NoError(t, err)
	require.False(t, written, "same bytes: left alone")

	written, err = putFile(path, []byte("two"))
	require.NoError(t, err)
	require.True(t, written, "different bytes: rewritten")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(data))

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left")
}

func TestGeneratorStopsEarly(t *testing.T) {
	var assets []Asset
	for _, a := range SampleLibrary() {
		if a.Kind == "bumper" || a.Kind == "slate" {
			assets = append(assets, a)
		}
	}
	require.Len(t, assets, 4)
	g := generateAll(assets, 2)
	_, err := g.result(0)
	require.NoError(t, err)
	g.stop() // returns once the running workers are done; the rest never start
}
