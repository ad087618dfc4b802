package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/internal/sqlitedb"
)

// assetTable is a literal set of assets, keyframes every gop ticks.
type assetTable map[int64]Asset

func (t assetTable) Asset(_ context.Context, id int64) (Asset, error) {
	a, ok := t[id]
	if !ok {
		return Asset{}, fmt.Errorf("asset %d: %w", id, ErrUnplayable)
	}
	return a, nil
}

func gopAsset(id int64, path string, dur, gop int64, params string) Asset {
	a := Asset{ID: id, Path: path, Container: "ts", Duration: dur, Params: params}
	for k := int64(0); k < dur; k += gop {
		a.Keyframes = append(a.Keyframes, k)
	}
	return a
}

// listPlanner loops over a fixed list; its state is the next position.
type listPlanner []Entry

func (l listPlanner) Next(_ context.Context, at Cursor) ([]Entry, string, error) {
	i, _ := strconv.Atoi(at.State)
	return []Entry{l[i%len(l)]}, strconv.Itoa((i + 1) % len(l)), nil
}

func openTestLog(t *testing.T) (*LogStore, *sqlitedb.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "onair.db")
	db, err := sqlitedb.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := OpenLog(context.Background(), db, time.Unix(0, 0))
	require.NoError(t, err)
	return s, db, path
}

func TestExtendTimelineAwareSources(t *testing.T) {
	ctx := context.Background()
	s, db, path := openTestLog(t)
	const sec = Hz
	// episode1 is 6:10 with a keyframe every 2 s (so 3:00 is a keyframe, 3:01 is not).
	assets := assetTable{
		1: gopAsset(1, "shows/ep1.ts", 370*sec, 2*sec, "h264/640x360"),
		2: gopAsset(2, "ads/ad30.ts", 30*sec, 2*sec, "h264/640x360"),
		3: gopAsset(3, "bumpers/b15.ts", 15*sec, 2*sec, "h264/640x360"),
		4: gopAsset(4, "movies/next.ts", 61*sec, 2*sec, "h264/1280x720"),
	}
	plan := listPlanner{
		{AssetID: 1, In: 0, Out: 181 * sec, Kind: KindProgram, Title: "Episode 1", EPGGroup: "ep1"}, // 3:01 snaps to 3:00
		{AssetID: 2, Kind: KindAd, EPGGroup: "ep1"},
		{AssetID: 1, In: 181 * sec, Out: 360 * sec, Kind: KindProgram, Title: "Episode 1", EPGGroup: "ep1"},
		{AssetID: 3, Kind: KindBumper},
		{AssetID: 4, Kind: KindProgram, Title: "Next"},
		{AssetID: 99, Kind: KindAd}, // unknown: skipped
	}
	epoch := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.CreateChannel(ctx, "ch", epoch, epoch))
	var skipped []int64
	n, err := Extend(ctx, s, "ch", plan, assets, Segmenting{}, 466*sec, func(e Entry, err error) { skipped = append(skipped, e.AssetID) })
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Empty(t, skipped)

	items, err := s.ItemsFrom(ctx, "ch", 0, 100)
	require.NoError(t, err)
	require.Len(t, items, 5)
	want := []struct {
		in, out, start int64
		segs           int64
		disc           bool
	}{
		{0, 180 * sec, 0, 45, false},
		{0, 30 * sec, 180 * sec, 8, false},           // 4,4,4,4,4,4,4,2
		{180 * sec, 360 * sec, 210 * sec, 45, false}, // part 2 starts where part 1 ended
		{0, 15 * sec, 390 * sec, 4, false},           // 4,4,4,3
		{0, 61 * sec, 405 * sec, 16, true},           // new resolution: discontinuity; ends 4 s, 1 s
	}
	var seq int64
	for i, w := range want {
		it := items[i]
		require.Equal(t, w.in, it.In, "item %d in", i)
		require.Equal(t, w.out, it.Out, "item %d out", i)
		require.Equal(t, w.start, it.Start, "item %d start", i)
		require.Equal(t, w.segs, it.Segments(), "item %d segments %v", i, it.Cuts)
		require.Equal(t, seq, it.Seq0, "item %d seq0", i)
		require.Equal(t, w.disc, it.Discontinuity, "item %d discontinuity", i)
		seq += it.Segments()
		for j := range it.Cuts {
			from, to := it.SegmentRange(j)
			require.LessOrEqual(t, to-from, int64(4*sec+sec/2))
			require.Positive(t, to-from)
		}
	}
	require.Equal(t, int64(1), items[4].Disc0)

	// Lookups by sequence number.
	it, ok, err := s.ItemBySeq(ctx, "ch", 45)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), it.Index)
	_, ok, err = s.ItemBySeq(ctx, "ch", seq)
	require.NoError(t, err)
	require.False(t, ok)

	// A gap is refused.
	bad := items[4]
	bad.Index = 5
	require.ErrorIs(t, s.Append(ctx, "ch", []Item{bad}, ""), ErrLogGap)

	// Reopen: the same log, and extending continues with the planner state.
	require.NoError(t, db.Close())
	db2, err := sqlitedb.Open(path)
	require.NoError(t, err)
	defer db2.Close()
	s2, err := OpenLog(ctx, db2, epoch)
	require.NoError(t, err)
	again, err := s2.ItemsFrom(ctx, "ch", 0, 100)
	require.NoError(t, err)
	require.Equal(t, items, again)
	_, err = Extend(ctx, s2, "ch", plan, assets, Segmenting{}, 700*sec, func(e Entry, err error) { skipped = append(skipped, e.AssetID) })
	require.NoError(t, err)
	require.Equal(t, []int64{99}, skipped)
	more, err := s2.ItemsFrom(ctx, "ch", 466*sec, 10)
	require.NoError(t, err)
	require.Equal(t, int64(1), more[0].AssetID, "the loop starts over after the skipped entry")
	require.Equal(t, int64(466*sec), more[0].Start)
	require.True(t, more[0].Discontinuity, "back to 640x360")
	require.Equal(t, int64(2), more[0].Disc0)

	// Rebuild: nothing before the published mark may be removed.
	require.NoError(t, s2.SetPublished(ctx, "ch", 500*sec))
	_, err = s2.TruncateAfter(ctx, "ch", 400*sec, "")
	require.Error(t, err)
	removed, err := s2.TruncateAfter(ctx, "ch", 646*sec, "0")
	require.NoError(t, err)
	require.Positive(t, removed)
}

func TestSnap(t *testing.T) {
	k := []int64{0, 10, 20, 30}
	require.Equal(t, int64(10), snap(k, 14, 0))
	require.Equal(t, int64(10), snap(k, 15, 0)) // tie to earlier
	require.Equal(t, int64(20), snap(k, 16, 0))
	require.Equal(t, int64(35), snap(k, 34, 35))
	require.Equal(t, int64(0), snap(k, -5, 0))
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTestLog(t)
	const sec = Hz
	assets := assetTable{1: gopAsset(1, "a.ts", 60*sec, 2*sec, "p")}
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.CreateChannel(ctx, "ch", epoch, epoch))
	_, err := Extend(ctx, s, "ch", listPlanner{{AssetID: 1}}, assets, Segmenting{}, 600*sec, nil)
	require.NoError(t, err)
	n, err := s.Prune(ctx, "ch", 300*sec)
	require.NoError(t, err)
	require.Equal(t, int64(5), n, "the five items that ended by 300 s")
	items, err := s.ItemsFrom(ctx, "ch", 0, 100)
	require.NoError(t, err)
	require.Equal(t, int64(300*sec), items[0].Start)
	_, ok, err := s.ItemBySeq(ctx, "ch", 0)
	require.NoError(t, err)
	require.False(t, ok, "pruned segments are gone")
	it, ok, err := s.ItemBySeq(ctx, "ch", items[0].Seq0)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, items[0].Index, it.Index)
	// The last item is never pruned, and extending continues after it.
	n, err = s.Prune(ctx, "ch", 1<<40)
	require.NoError(t, err)
	require.Positive(t, n)
	last, ok, err := s.Last(ctx, "ch")
	require.NoError(t, err)
	require.True(t, ok)
	_, err = Extend(ctx, s, "ch", listPlanner{{AssetID: 1}}, assets, Segmenting{}, last.End()+120*sec, nil)
	require.NoError(t, err)
}

func TestRebuildKeepsThePublishedPast(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTestLog(t)
	const sec = Hz
	assets := assetTable{
		1: gopAsset(1, "a.ts", 20*sec, 2*sec, "p"),
		2: gopAsset(2, "b.ts", 10*sec, 2*sec, "p"),
		3: gopAsset(3, "c.ts", 6*sec, 2*sec, "p"),
	}
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.CreateChannel(ctx, "ch", epoch, epoch))
	old := listPlanner{{AssetID: 1}, {AssetID: 2}}
	_, err := Extend(ctx, s, "ch", old, assets, Segmenting{}, 300*sec, nil)
	require.NoError(t, err)
	before, err := s.ItemsFrom(ctx, "ch", 0, 1000)
	require.NoError(t, err)
	require.NoError(t, s.SetPublished(ctx, "ch", 95*sec))

	// Rebuild after 50 s: the published mark (95 s) wins; the item on air then
	// (a.ts, 90-110 s) is a step boundary and stays.
	n, err := s.Rebuild(ctx, "ch", 50*sec)
	require.NoError(t, err)
	require.Positive(t, n)
	_, err = Extend(ctx, s, "ch", listPlanner{{AssetID: 3}}, assets, Segmenting{}, 300*sec, nil)
	require.NoError(t, err)
	after, err := s.ItemsFrom(ctx, "ch", 0, 1000)
	require.NoError(t, err)
	kept := 0
	for kept < len(after) && after[kept].End() <= 110*sec {
		require.Equal(t, before[kept], after[kept], "the published past is never rewritten")
		kept++
	}
	require.Equal(t, int64(110*sec), after[kept].Start)
	for _, it := range after[kept:] {
		require.Equal(t, int64(3), it.AssetID, "planned again with the new plan")
	}
}

// padPlanner plays asset 1 and then pads with the slate to the next whole
// minute of the wall clock, recording the cursors it was asked from.
type padPlanner struct{ cursors []Cursor }

func (p *padPlanner) Next(_ context.Context, at Cursor) ([]Entry, string, error) {
	p.cursors = append(p.cursors, at)
	next := at.Wall.Truncate(time.Minute).Add(time.Minute)
	if at.State == "pad" {
		return []Entry{SlateEntry(KindFiller, "filler", DurationToTicks(next.Sub(at.Wall)))}, "", nil
	}
	return []Entry{{AssetID: 1, Kind: KindProgram, Title: "clip"}}, "pad", nil
}

func TestExtendSlateFillsToTheMinute(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTestLog(t)
	const sec = Hz
	assets := assetTable{1: gopAsset(1, "clips/c.ts", 50*sec, 2*sec, "h264/main/4.0/640x360/25/1/bfalse|aac/48000/2")}
	epoch := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.CreateChannel(ctx, "ch", epoch, epoch))
	p := &padPlanner{}
	_, err := Extend(ctx, s, "ch", p, assets, Segmenting{}, 180*sec, nil)
	require.NoError(t, err)
	items, err := s.ItemsFrom(ctx, "ch", 0, 100)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(items), 6)
	// clip 0:00-0:50, slate 0:50-1:00, clip 1:00-1:50, slate 1:50-2:00, ...
	for i, it := range items {
		if i%2 == 0 {
			require.Equal(t, int64(1), it.AssetID)
			require.Equal(t, int64(i/2)*60*sec, it.Start, "item %d starts on the minute", i)
			continue
		}
		require.Equal(t, int64(0), it.AssetID)
		require.Equal(t, KindFiller, it.Kind)
		require.Equal(t, int64(10*sec), it.Duration, "item %d: slate to the minute", i)
		require.Equal(t, SlateParams(640, 360, 25, 1), it.Params, "the slate takes the clip's picture")
		require.True(t, it.Discontinuity, "a splice to the slate is signalled")
		require.True(t, i+1 == len(items) || items[i+1].Discontinuity, "and back")
		for j := range it.Cuts {
			from, to := it.SegmentRange(j)
			require.LessOrEqual(t, to-from, int64(4*sec+sec/2))
		}
	}
	require.Equal(t, Cursor{State: "", Wall: epoch}, p.cursors[0])
	require.Equal(t, int64(50*sec), p.cursors[1].End)
	require.Equal(t, epoch.Add(50*time.Second), p.cursors[1].Wall)
	require.Equal(t, items[0].Params, p.cursors[1].Params)

	// The slate renders as segments of its own picture.
	seg, err := Slate(Asset{Width: 640, Height: 360, FrameRateNum: 25, FrameRateDen: 1}, &items[1], 0, []string{"ONAIR"})
	require.NoError(t, err)
	require.True(t, seg.Units[0].Key)
}
