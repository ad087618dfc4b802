package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/muxer/tr101290"
	"onair/testmedia"
)

// TestRemuxCommand runs `onair remux` over a TS and an MP4 clip: the output
// has every frame of the input (ffprobe), no TR 101 290 priority 1 or 2
// error, and the same bytes whatever the number of workers.
func TestRemuxCommand(t *testing.T) {
	dir := t.TempDir()
	for _, container := range []string{"ts", "mp4"} {
		t.Run(container, func(t *testing.T) {
			in := filepath.Join(dir, "in."+container)
			require.NoError(t, testmedia.WriteFile(in, testmedia.Options{
				Duration: 21 * time.Second, Container: container, GOPFrames: 25, Seed: 5, Label: "REMUX",
			}))
			var outs [][]byte
			for _, workers := range []int{1, 2, 5} {
				out := filepath.Join(dir, container+"-"+strconv.Itoa(workers)+".ts")
				e, _, errb := testEnv(nil)
				code := run(context.Background(), []string{"remux", "--workers", strconv.Itoa(workers), in, out}, e)
				require.Equal(t, 0, code, errb.String())
				require.Contains(t, errb.String(), "525 frames")
				b, err := os.ReadFile(out)
				require.NoError(t, err)
				outs = append(outs, b)
			}
			for i := 1; i < len(outs); i++ {
				require.True(t, bytes.Equal(outs[0], outs[i]), "output differs with another number of workers")
			}
			rep, err := tr101290.Analyze(bytes.NewReader(outs[0]))
			require.NoError(t, err)
			require.Zero(t, rep.Counters.Priority1()+rep.Counters.Priority2(), "%+v", rep.Counters)

			ffprobe := needTool(t, "ffprobe")
			frames := probeFrames(t, ffprobe, filepath.Join(dir, container+"-1.ts"))
			require.Equal(t, 525, frames["video"])
			require.InDelta(t, 21*48000/1024, frames["audio"], 3)
		})
	}

	t.Run("errors", func(t *testing.T) {
		e, _, errb := testEnv(nil)
		require.Equal(t, 2, run(context.Background(), []string{"remux", "only-one"}, e))
		require.Contains(t, errb.String(), "want IN and OUT")
		bad := filepath.Join(dir, "bad.ts")
		require.NoError(t, os.WriteFile(bad, bytes.Repeat([]byte{0x47, 1, 2, 3}, 1000), 0o644))
		out := filepath.Join(dir, "never.ts")
		e, _, errb = testEnv(nil)
		require.Equal(t, 1, run(context.Background(), []string{"remux", bad, out}, e))
		require.Contains(t, errb.String(), "bad.ts")
		_, err := os.Stat(out)
		require.True(t, os.IsNotExist(err), "no output is left behind for an unplayable input")
	})
}
