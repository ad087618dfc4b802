package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/engine/source"
	"onair/library"
	"onair/scheduler"
)

func assetID(t *testing.T, e *soakEnv, rel string) int64 {
	t.Helper()
	assets, err := e.lib.List(context.Background(), library.Filter{})
	require.NoError(t, err)
	for _, a := range assets {
		if strings.HasSuffix(a.Path, "/"+rel) || a.Path == rel {
			return a.ID
		}
	}
	t.Fatalf("no asset %s", rel)
	return 0
}

func itemAt(items []engine.Playing, t time.Time) (engine.Playing, bool) {
	for _, it := range items {
		if !it.Start.After(t) && it.End.After(t) {
			return it, true
		}
	}
	return engine.Playing{}, false
}

// TestOverrideJoinsInProgress: an override of 20 s starts at the next
// segment boundary after the request, cutting the item on air there; the
// published past is untouched; it plays the asset looped for exactly its
// length (the ad's keyframes allow it); then the schedule joins what the old
// log had on air at that moment. Every segment across it renders cleanly.
func TestOverrideJoinsInProgress(t *testing.T) {
	root := soakLibrary(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, filepath.Join(t.TempDir(), "onair.db"), clock)
	now := t0.Add(100 * time.Second)
	clock.Set(now)
	refs, err := e.ch.Recent(ctx, now, 6)
	require.NoError(t, err)
	published := refs[len(refs)-1]
	seg, err := e.ch.Render(ctx, published.Seq)
	require.NoError(t, err)
	before, err := e.ch.Upcoming(ctx, now.Add(-time.Minute), now.Add(5*time.Minute))
	require.NoError(t, err)

	ad := assetID(t, e, "ads/a.ts") // 6 s, a keyframe every 2 s
	st, err := e.ch.StartOverride(ctx, engine.OverrideRequest{AssetID: ad, Duration: 20 * engine.Hz, Title: "Breaking news"})
	require.NoError(t, err)
	require.True(t, st.Start.After(now), "starts after the request")
	require.LessOrEqual(t, st.Start.Sub(now), 4500*time.Millisecond, "within one segment of the request")
	require.Equal(t, 20*time.Second, st.End.Sub(st.Start))
	_, ok := e.ch.Override()
	require.True(t, ok)
	_, err = e.ch.StartOverride(ctx, engine.OverrideRequest{AssetID: ad})
	require.ErrorIs(t, err, engine.ErrOverrideActive)

	after, err := e.ch.Upcoming(ctx, now.Add(-time.Minute), now.Add(5*time.Minute))
	require.NoError(t, err)
	var ov []engine.Playing
	for i, it := range after {
		if it.Kind == engine.KindOverride {
			ov = append(ov, it)
			continue
		}
		if i+1 < len(after) && after[i+1].Kind == engine.KindOverride {
			require.Equal(t, st.Start, it.End, "the item on air is cut where the override starts")
		}
	}
	require.Len(t, ov, 4, "6 + 6 + 6 + 2 s of the ad")
	require.Equal(t, st.Start, ov[0].Start)
	require.Equal(t, st.End, ov[3].End)
	for _, it := range ov {
		require.Equal(t, ad, it.AssetID)
		require.Equal(t, "Breaking news", it.Title)
	}
	require.Equal(t, ov[0].EPGGroup, ov[3].EPGGroup, "one guide entry")

	// After it, what the old log had on air at its end, joined in progress.
	old, ok := itemAt(before, st.End)
	require.True(t, ok)
	next, ok := itemAt(after, st.End)
	require.True(t, ok)
	require.Equal(t, old.AssetID, next.AssetID)
	require.Equal(t, old.Kind, next.Kind)
	_, ok = e.ch.Override()
	require.True(t, ok, "reported until it has ended")

	again, err := e.ch.Render(ctx, published.Seq)
	require.NoError(t, err)
	require.Equal(t, seg, again, "the published past is not rewritten")
	require.Positive(t, renderSpan(t, e, now, st.End.Add(12*time.Second)))
	require.NoError(t, e.ch.Maintain(ctx))
	_, ok = e.ch.Override()
	require.False(t, ok, "forgotten once ended")
}

// TestOverrideUntilClearedCatchesUp: an override without a duration lasts
// through a restart until cleared; clearing it ends it at the next segment
// boundary, and with catch-up the schedule continues with the rest of the
// item it cut.
func TestOverrideUntilClearedCatchesUp(t *testing.T) {
	root := soakLibrary(t)
	dbPath := filepath.Join(t.TempDir(), "onair.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, dbPath, clock)
	now := t0.Add(61 * time.Second)
	clock.Set(now)
	_, err := e.ch.Recent(ctx, now, 6)
	require.NoError(t, err)
	before, err := e.ch.Upcoming(ctx, now, now.Add(time.Minute))
	require.NoError(t, err)
	onAir := before[0]

	bumper := assetID(t, e, "bumpers/x.ts")
	st, err := e.ch.StartOverride(ctx, engine.OverrideRequest{AssetID: bumper, Resume: engine.ResumeCatchUp})
	require.NoError(t, err)
	require.True(t, st.End.IsZero())
	items, err := e.ch.Upcoming(ctx, st.Start, st.Start.Add(9*time.Minute))
	require.NoError(t, err)
	for _, it := range items {
		require.Equal(t, engine.KindOverride, it.Kind, "until cleared, the log holds the override ahead")
	}
	cutAt := st.Start.Sub(onAir.Start)

	// A restart in the middle keeps it.
	e.close()
	clock.Set(now.Add(40 * time.Second))
	e = openSoak(t, root, dbPath, clock)
	got, ok := e.ch.Override()
	require.True(t, ok)
	require.Equal(t, st.Start, got.Start)
	_, err = e.ch.Recent(ctx, clock.Now(), 6)
	require.NoError(t, err)

	cleared, err := e.ch.ClearOverride(ctx, "")
	require.NoError(t, err)
	require.True(t, cleared.End.After(clock.Now()))
	require.LessOrEqual(t, cleared.End.Sub(clock.Now()), 4500*time.Millisecond)

	after, err := e.ch.Upcoming(ctx, cleared.End, cleared.End.Add(time.Minute))
	require.NoError(t, err)
	require.NotEqual(t, engine.KindOverride, after[0].Kind)
	require.Equal(t, onAir.AssetID, after[0].AssetID, "catch-up: the item that was cut")
	require.Equal(t, onAir.Title, after[0].Title)
	require.InDelta(t, (onAir.End.Sub(onAir.Start) - cutAt).Seconds(), after[0].End.Sub(after[0].Start).Seconds(), 1.01, "its rest")
	require.Positive(t, renderSpan(t, e, cleared.End.Add(-8*time.Second), cleared.End.Add(20*time.Second)))
	require.NoError(t, e.ch.Maintain(ctx))
	_, ok = e.ch.Override()
	require.False(t, ok)
	_, err = e.ch.ClearOverride(ctx, "")
	require.ErrorIs(t, err, engine.ErrNoOverride)
}

// TestOverrideRelaysAnotherChannel: an override with another channel as its
// source plays, for its length, what that channel's log has at the same wall
// time; then the schedule joins in progress, and every segment renders.
func TestOverrideRelaysAnotherChannel(t *testing.T) {
	root := soakLibrary(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, filepath.Join(t.TempDir(), "onair.db"), clock)
	logs, err := engine.OpenLog(ctx, e.db, clock.Now())
	require.NoError(t, err)
	cfg, err := scheduler.Parse("ads.yaml", []byte("number: \"2\"\nname: Ads\nplaylist:\n  - kind: ad\n"))
	require.NoError(t, err)
	p, err := scheduler.NewPlanner(ctx, cfg, e.lib)
	require.NoError(t, err)
	other, err := engine.OpenChannel(ctx, engine.ChannelConfig{ID: "ads", Planner: p, Horizon: 2 * time.Hour},
		engine.ChannelDeps{Store: logs, Assets: &engine.LibraryAssets{Store: e.lib}, Sources: source.NewCache(4), Clock: clock})
	require.NoError(t, err)

	now := t0.Add(100 * time.Second)
	clock.Set(now)
	_, err = e.ch.Recent(ctx, now, 6)
	require.NoError(t, err)
	_, err = e.ch.StartOverride(ctx, engine.OverrideRequest{Channel: "soak"})
	require.Error(t, err, "not itself")
	st, err := e.ch.StartOverride(ctx, engine.OverrideRequest{Channel: "ads", Duration: 30 * engine.Hz})
	require.NoError(t, err)
	require.Equal(t, "channel ads", st.Source)

	got, err := e.ch.Upcoming(ctx, st.Start, st.End)
	require.NoError(t, err)
	relayed, err := other.Upcoming(ctx, st.Start, st.End)
	require.NoError(t, err)
	require.NotEmpty(t, got)
	var total time.Duration
	for _, it := range got {
		require.Equal(t, engine.KindOverride, it.Kind)
		src, ok := itemAt(relayed, it.Start)
		require.True(t, ok, "the relayed channel has an item at %s", it.Start)
		require.Equal(t, src.AssetID, it.AssetID, "at %s the override plays what channel ads plays", it.Start)
		total += it.End.Sub(it.Start)
	}
	require.InDelta(t, 30, total.Seconds(), 2.01, "the override's length, to a keyframe")
	require.Positive(t, renderSpan(t, e, now, st.End.Add(12*time.Second)))
}

// TestClearOverrideAtItsEndKeepsResume: clearing an override whose next
// segment boundary is its own end changes nothing in the log, but the resume
// mode asked for is still recorded.
func TestClearOverrideAtItsEndKeepsResume(t *testing.T) {
	root := soakLibrary(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, filepath.Join(t.TempDir(), "onair.db"), clock)
	clock.Set(t0.Add(100 * time.Second))
	_, err := e.ch.Recent(ctx, clock.Now(), 6)
	require.NoError(t, err)
	st, err := e.ch.StartOverride(ctx, engine.OverrideRequest{AssetID: assetID(t, e, "ads/a.ts"), Duration: 6 * engine.Hz})
	require.NoError(t, err)
	require.Equal(t, engine.ResumeJoin, st.Resume)
	clock.Set(st.End.Add(-500 * time.Millisecond)) // inside its last segment
	cleared, err := e.ch.ClearOverride(ctx, engine.ResumeCatchUp)
	require.NoError(t, err)
	require.Equal(t, st.End, cleared.End, "it ends where it would have")
	require.Equal(t, engine.ResumeCatchUp, cleared.Resume)
}
