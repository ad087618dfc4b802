package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/testmedia"
)

// TestE2EDiscontinuity plays a channel that alternates two picture sizes: the
// playlist signals each change with EXT-X-DISCONTINUITY and a growing
// discontinuity sequence, and ffmpeg plays across the changes without an error.
func TestE2EDiscontinuity(t *testing.T) {
	t.Parallel()
	ffmpeg := needTool(t, "ffmpeg")
	root := writeE2ELibrary(t)
	wide := filepath.Join(root, "movies", "wide.ts")
	require.NoError(t, os.MkdirAll(filepath.Dir(wide), 0o755))
	require.NoError(t, testmedia.WriteFile(wide, testmedia.Options{
		Width: 480, Height: 272, FrameRateNum: e2eFPS, FrameRateDen: 1, GOPFrames: e2eFPS,
		Duration: 4 * time.Second, Seed: 11, Label: "wide",
	}))
	channels := writeChannels(t, `number: "902"
name: Two sizes
segment: 2s
playlist:
  - asset: bumpers/back.ts
  - asset: movies/wide.ts
`)
	s := startServer(t, root, channels)

	// Segments until two discontinuities were listed.
	_, segs := s.collectSegments(t, -1, func(segs []hlsSegment) bool {
		n := 0
		for _, sg := range segs {
			if sg.discontinuity {
				n++
			}
		}
		return n >= 2
	}, 60*time.Second)
	discs := 0
	for i, sg := range segs {
		if sg.discontinuity {
			discs++
			require.Positive(t, i, "the first segment of a window carries no tag")
		}
	}
	require.GreaterOrEqual(t, discs, 2)
	// The discontinuity sequence grows as tags leave the window, never falls.
	last := int64(0)
	waitFor(t, 40*time.Second, "a discontinuity to leave the window", func() bool {
		p := s.fetchPlaylist(t)
		require.GreaterOrEqual(t, p.discSeq, last)
		last = p.discSeq
		return p.discSeq > 0
	})

	out, errOut, err := runTool(t, 60*time.Second, nil, ffmpeg, "-v", "error", "-i", s.channelURL("index.m3u8"), "-t", "10", "-f", "null", "-")
	require.NoError(t, err, errOut)
	require.Empty(t, strings.TrimSpace(errOut), "ffmpeg across picture-size changes: %s", out)
}
