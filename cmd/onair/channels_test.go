package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/engine/source"
	"onair/internal/sqlitedb"
	"onair/library"
	"onair/muxer/tr101290"
	"onair/scheduler"
	"onair/testmedia"
)

// TestSampleChannels plays ten minutes of every sample channel of channels.d
// over the sample library, on a virtual clock: every segment renders, the
// concatenation passes TR 101 290 priority 1 and 2, and no source error occurs.
func TestSampleChannels(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the sample library")
	}
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "library")
	_, err := testmedia.WriteSampleLibrary(root, nil)
	require.NoError(t, err)
	dbPath := filepath.Join(t.TempDir(), "onair.db")
	lib, err := library.OpenWithOptions(dbPath, library.Options{})
	require.NoError(t, err)
	defer lib.Close()
	sum, err := lib.Scan(ctx, []string{root}, nil)
	require.NoError(t, err)
	require.Empty(t, sum.Problems)
	db, err := sqlitedb.Open(dbPath)
	require.NoError(t, err)
	defer db.Close()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	logs, err := engine.OpenLog(ctx, db, t0)
	require.NoError(t, err)

	chans, errs := scheduler.LoadDir(filepath.Join("..", "..", "channels.d"))
	require.Empty(t, errs)
	require.GreaterOrEqual(t, len(chans), 3)
	deps := engine.ChannelDeps{Store: logs, Assets: &engine.LibraryAssets{Store: lib}, Sources: source.NewCache(64), Clock: clock}
	var opened []*engine.Channel
	for _, ch := range chans {
		p, err := scheduler.NewPlanner(ctx, ch, lib)
		require.NoError(t, err)
		c, err := engine.OpenChannel(ctx, engine.ChannelConfig{
			ID: ch.ID, Planner: p,
			Segmenting: engine.Segmenting{Target: engine.DurationToTicks(ch.TargetDuration())},
		}, deps)
		require.NoError(t, err, ch.ID)
		opened = append(opened, c)
	}
	end := t0.Add(10 * time.Minute)
	clock.Set(end)
	for _, c := range opened {
		refs, err := c.Recent(ctx, end, 1000)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(refs), 140, c.ID())
		kinds := map[engine.Kind]bool{}
		var all bytes.Buffer
		for _, r := range refs {
			b, err := c.Render(ctx, r.Seq)
			require.NoError(t, err)
			all.Write(b)
			kinds[r.Item.Kind] = true
		}
		st := c.Status(end)
		require.Empty(t, st.Errors, "%s: %v", c.ID(), st.Errors)
		require.Zero(t, st.Slate, c.ID())
		rep, err := tr101290.Analyze(bytes.NewReader(all.Bytes()))
		require.NoError(t, err)
		require.Zero(t, rep.Counters.Priority1()+rep.Counters.Priority2(), "%s: %+v %v", c.ID(), rep.Counters, rep.Errors)
		require.True(t, kinds[engine.KindProgram] && (kinds[engine.KindAd] || kinds[engine.KindPromo]) && kinds[engine.KindBumper],
			"%s plays programs, breaks and bumpers in ten minutes: %v", c.ID(), kinds)
		if ffmpeg := toolOrSkip(t, "ffmpeg"); ffmpeg != "" {
			cmd := exec.Command(ffmpeg, "-v", "error", "-f", "mpegts", "-i", "-", "-f", "null", "-")
			cmd.Stdin = bytes.NewReader(all.Bytes())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			require.Empty(t, string(out), "%s: ffmpeg reports errors", c.ID())
		}
		if dir := os.Getenv("ONAIR_ARTIFACTS"); dir != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, c.ID()+"-10min.ts"), all.Bytes(), 0o644))
		}
		t.Logf("%s: %d segments, %d bytes, kinds %v", c.ID(), len(refs), all.Len(), kinds)
	}
}

// toolOrSkip returns the path of tool, or "" when it is missing (the caller
// skips that check); with ONAIR_REQUIRE_TOOLS=1 a missing tool fails the test.
func toolOrSkip(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found and ONAIR_REQUIRE_TOOLS=1", tool)
	}
	t.Logf("SKIP: %s not found", tool)
	return ""
}
