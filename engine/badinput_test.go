package engine_test

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/muxer/tr101290"
	"onair/testmedia"
)

// TestBadInputDuringPlayout breaks files the log has already scheduled: bytes
// corrupted in the middle of one, another deleted, a third replaced by a clip
// of another resolution. Their segments play the slate for exactly their
// time, the stream stays continuous and valid, the errors show in the status,
// and the items after them play on time.
func TestBadInputDuringPlayout(t *testing.T) {
	root := soakLibrary(t)
	dbPath := filepath.Join(t.TempDir(), "onair.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, dbPath, clock)

	// Corrupt the middle of ads/a.ts, keeping its size and mtime.
	ad := filepath.Join(root, "ads", "a.ts")
	fi, err := os.Stat(ad)
	require.NoError(t, err)
	b, err := os.ReadFile(ad)
	require.NoError(t, err)
	rand.New(rand.NewSource(1)).Read(b[len(b)/3 : len(b)/3+32<<10])
	require.NoError(t, os.WriteFile(ad, b, 0o644))
	require.NoError(t, os.Chtimes(ad, fi.ModTime(), fi.ModTime()))
	// Delete the bumper.
	require.NoError(t, os.Remove(filepath.Join(root, "bumpers", "x.ts")))
	// Replace ads/b.mp4 by a clip of another size, and rescan.
	require.NoError(t, testmedia.WriteFile(filepath.Join(root, "ads", "b.mp4"), testmedia.Options{Width: 320, Height: 180, Duration: 5 * time.Second, Seed: 9}))
	_, err = e.lib.Scan(ctx, []string{root}, nil)
	require.NoError(t, err)

	from, to := t0, t0.Add(3*time.Minute)
	clock.Set(to)
	refs, err := e.ch.Recent(ctx, to, 1000)
	require.NoError(t, err)
	sc := &streamCheck{t: t, lastVideo: -1, lastAud: -1}
	var all bytes.Buffer
	broken := map[string]int{}
	for _, r := range refs {
		if e.ch.WallTime(r.End).Before(from) {
			continue
		}
		seg, err := e.ch.Render(ctx, r.Seq)
		require.NoError(t, err, "a broken source still gives a segment")
		sc.segment(r.Seq, seg, r.Start)
		all.Write(seg)
		switch filepath.Base(r.Item.AssetPath) {
		case "a.ts", "x.ts", "b.mp4":
			broken[filepath.Base(r.Item.AssetPath)]++
		}
	}
	require.Positive(t, broken["a.ts"])
	require.Positive(t, broken["x.ts"])
	require.Positive(t, broken["b.mp4"])
	rep, err := tr101290.Analyze(bytes.NewReader(all.Bytes()))
	require.NoError(t, err)
	require.Zero(t, rep.Counters.Priority1()+rep.Counters.Priority2(), "TR 101 290: %+v %v", rep.Counters, rep.Errors)

	st := e.ch.Status(to)
	require.NotEmpty(t, st.Errors)
	require.Positive(t, st.Slate)
	msgs := ""
	for _, er := range st.Errors {
		msgs += er.Message + "\n"
	}
	require.Contains(t, msgs, "x.ts")
	require.Contains(t, msgs, "changed since it was scheduled")
	t.Logf("slate segments %d; errors:\n%s", st.Slate, msgs)
}
