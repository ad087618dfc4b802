package scheduler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/library"
)

const blockHead = "number: 1\nname: x\n"

var blockCases = []struct {
	name string
	yaml string
	err  string // substring of the error, "" for valid
}{
	{"valid", blockHead + "timezone: Europe/Berlin\nprofile:\n  resolution: 1280x720\n  frame_rate: 30000/1001\n  segment: 6s\npools:\n  eps: {show: Demo, season: 1}\n  ads: {kind: [ad, promo], tags: [summer], path: \"ads/*.ts\"}\n  ids: {assets: [bumpers/id.ts]}\nblocks:\n  - start: \"0 20 * * 1-5\"\n    hard_start: true\n    pool: eps\n    count: 2\n    breaks:\n      at: every\n      every: 8m\n      max: 3\n      ads: ads\n      ad_duration: 2m\n      cooldown: 30m\n      bumper_in: ids\n  - flood: true\n    pool: eps\n    order: random\n    window: 3\nfiller:\n  pool: ads\n  align: 30m\n", ""},
	{"bad cron", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - start: \"61 * * * *\"\n    pool: p\n", "ch.yaml:6:12: blocks[0].start: bad cron expression"},
	{"cron with zone", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - start: \"TZ=UTC 0 * * * *\"\n    pool: p\n", "set the time zone with timezone"},
	{"every descriptor", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - start: \"@every 1h\"\n    pool: p\n", "@every is not a wall-clock time"},
	{"unknown pool", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: q\n", "ch.yaml:7:11: blocks[0].pool: unknown pool \"q\""},
	{"empty pool", blockHead + "pools:\n  p: {}\nblocks:\n  - flood: true\n    pool: p\n", "pools.p: empty pool"},
	{"unknown pool key", blockHead + "pools:\n  p: {kind: ad, stars: 5}\nblocks:\n  - flood: true\n    pool: p\n", "ch.yaml:4:"},
	{"bad zone", blockHead + "timezone: Mars/Olympus\npools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n", "ch.yaml:3:11: timezone: unknown time zone"},
	{"wrong type", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n    count: many\n", "ch.yaml:8:12:"},
	{"duration cannot fit", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - start: \"0 * * * *\"\n    pool: p\n    duration: 2h\n", "ch.yaml:8:15: blocks[0].duration: 2h0m0s cannot fit"},
	{"two amounts", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - start: \"0 * * * *\"\n    pool: p\n    count: 2\n    until: next\n", "set at most one of count, duration, until"},
	{"two floods", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n  - flood: true\n    pool: p\n", "only one flood block"},
	{"no start", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - pool: p\n", "needs start (a cron expression) or flood: true"},
	{"every too short", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n    breaks:\n      at: every\n      every: 10s\n      ads: p\n", "ch.yaml:10:14: blocks[0].breaks.every: must be at least 1m"},
	{"empty break", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n    breaks:\n      max: 2\n", "a break needs at least one of"},
	{"bad align", blockHead + "pools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\nfiller:\n  align: 7m\n", "filler.align: must divide an hour"},
	{"playlist and blocks", blockHead + "playlist:\n  - kind: ad\npools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n", "either a playlist or blocks"},
	{"bad resolution", blockHead + "profile:\n  resolution: big\npools:\n  p: {kind: ad}\nblocks:\n  - flood: true\n    pool: p\n", "ch.yaml:4:15: profile.resolution"},
}

func TestParseBlocks(t *testing.T) {
	for _, tc := range blockCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("ch.yaml", []byte(tc.yaml))
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, "Europe/Berlin", c.Location().String())
				require.Equal(t, 6*time.Second, c.TargetDuration())
				require.Equal(t, Names{"ad", "promo"}, c.Pools["ads"].Kind)
				// The cron start is read in the channel's time zone.
				next := c.Blocks[0].sched.Next(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)) // a Friday
				require.Equal(t, time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), next.UTC())
				return
			}
			require.Error(t, err)
			var fes Errors
			require.True(t, errors.As(err, &fes))
			require.Contains(t, err.Error(), tc.err)
		})
	}
}

func FuzzParseBlocks(f *testing.F) {
	for _, tc := range blockCases {
		f.Add([]byte(tc.yaml))
	}
	for _, name := range []string{"harbor", "kitchen", "movies"} {
		if b, err := os.ReadFile(filepath.Join("..", "channels.d", name+".yaml")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err == nil {
			// What parses has a zone and a target duration.
			require.NotNil(t, c.Location())
			require.Positive(t, c.TargetDuration())
		}
	})
}

// TestCheckLibrary: pools that match nothing and ad budgets that no ad fits
// are reported at their place in the file.
func TestCheckLibrary(t *testing.T) {
	env := sampleLibrary(t)
	c, err := Parse("ch.yaml", []byte(blockHead+"pools:\n  eps: {show: Harbor Lights}\n  none: {show: Nothing Here}\n  ads: {kind: ad}\nblocks:\n  - flood: true\n    pool: eps\n    breaks:\n      ads: ads\n      ad_duration: 10s\n  - start: \"0 * * * *\"\n    pool: none\n"))
	require.NoError(t, err)
	errs := env.snap.Check(c)
	require.Len(t, errs, 2, "%v", errs)
	require.Contains(t, errs.Error(), "ch.yaml:5:9: pools.none: no playable asset of the library matches (empty pool)")
	require.Contains(t, errs.Error(), "ch.yaml:12:20: blocks[0].breaks.ad_duration: 10s cannot fit any ad of pool ads (the shortest is 15s)")
	for _, ch := range sampleChannels(t) {
		require.Empty(t, env.snap.Check(ch), ch.ID)
	}
}

// TestOrders: chronological resumes after the last played episode, shuffle
// plays every item once per cycle in a seeded order, random does not repeat
// within its window.
func TestOrders(t *testing.T) {
	env := sampleLibrary(t)
	c, err := Parse("ch.yaml", []byte(blockHead+"pools:\n  eps: {kind: episode}\nblocks:\n  - flood: true\n    pool: eps\n    order: shuffle\n    seed: 3\n  - start: \"0 0 1 1 *\"\n    pool: eps\n    order: random\n    window: 5\n  - start: \"0 0 1 1 *\"\n    pool: eps\n"))
	require.NoError(t, err)
	p := env.snap.Planner(c)
	pool := p.pools["eps"]
	require.Len(t, pool, 12)
	for name, b := range map[string]*Block{"shuffle": c.Blocks[0], "random": c.Blocks[1], "chronological": c.Blocks[2]} {
		st := &blockState{}
		var seq []int64
		for range 36 {
			peek := p.pick(b, st, false)
			a := p.pick(b, st, true)
			require.Equal(t, peek.ID, a.ID, "%s: peeking does not move", name)
			seq = append(seq, a.ID)
		}
		switch name {
		case "shuffle":
			for cycle := range 3 {
				seen := map[int64]bool{}
				for _, id := range seq[cycle*12 : cycle*12+12] {
					seen[id] = true
				}
				require.Len(t, seen, 12, "every episode once per cycle")
			}
			require.NotEqual(t, seq[:12], seq[12:24], "each cycle is shuffled anew")
			inOrder := true
			for i := range 12 {
				inOrder = inOrder && seq[i] == pool[i].ID
			}
			require.False(t, inOrder)
		case "random":
			for i := range seq {
				for j := max(0, i-5); j < i; j++ {
					require.NotEqual(t, seq[j], seq[i], "repeat within the window at %d", i)
				}
			}
		case "chronological":
			for i := range seq {
				require.Equal(t, pool[i%12].ID, seq[i])
			}
			// The pointer is the last played asset: it survives a reordered pool.
			require.Equal(t, pool[11].ID, st.Prev["eps"])
		}
	}
}

// TestOverride parses override files and plays one for exactly its duration
// (the asset looped, the last pass cut at a keyframe, the slate for the rest).
func TestOverride(t *testing.T) {
	for _, tc := range []struct{ yaml, err string }{
		{"asset: ads/a.ts\nduration: 90s\n", ""},
		{"asset: ads/a.ts\nuntil: 2026-05-01T20:00:00Z\nchannel: news\n", ""},
		{"duration: 90s\n", "news.override.yaml:1:9: asset: required"},
		{"asset: /etc/passwd\n", "news.override.yaml:1:8: asset: must be a path relative"},
		{"asset: a.ts\nduration: later\n", "news.override.yaml:2:11: duration:"},
		{"asset: a.ts\nuntil: tonight\n", "news.override.yaml:2:8: until: want an RFC 3339 time"},
		{"asset: a.ts\nvolume: 11\n", "news.override.yaml:2:1: unknown field \"volume\""},
	} {
		o, err := ParseOverride("news.override.yaml", []byte(tc.yaml))
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.yaml)
			continue
		}
		require.NoError(t, err, tc.yaml)
		require.Equal(t, "news", o.Channel)
	}
	dir := t.TempDir()
	o, err := LoadOverride(dir, "news")
	require.NoError(t, err)
	require.Nil(t, o, "no override file")

	env := sampleLibrary(t)
	ctx := context.Background()
	ch := sampleChannels(t)[0]
	p := env.snap.Planner(ch)
	o, err = ParseOverride("harbor.override.yaml", []byte("asset: ads/acme-coffee-30s.ts\nduration: 1m15.5s\ntitle: Breaking news\n"))
	require.NoError(t, err)
	at := engine.Cursor{State: "", Wall: goldenStart, End: 0}
	entries, err := p.Override(ctx, o, at)
	require.NoError(t, err)
	var prev *engine.Item
	var total int64
	for _, e := range entries {
		require.Equal(t, engine.KindOverride, e.Kind)
		require.Equal(t, "Breaking news", e.Title)
		var a engine.Asset
		if e.AssetID == 0 {
			a, err = engine.SlateAsset(prev, e.Out)
		} else {
			a, err = env.snap.Assets().Asset(ctx, e.AssetID)
		}
		require.NoError(t, err)
		it, err := engine.PlaceEntry(prev, a, e, engine.Segmenting{})
		require.NoError(t, err)
		total += it.Duration
		prev = &it
	}
	require.Len(t, entries, 4, "two whole passes, a cut one, the slate: %+v", entries)
	require.Equal(t, int64(0), entries[3].AssetID)
	want := engine.DurationToTicks(75500 * time.Millisecond)
	require.LessOrEqual(t, total, want)
	require.Less(t, want-total, int64(engine.Hz/25), "to within a frame of the slate")

	until, err := ParseOverride("harbor.override.yaml", []byte("asset: ads/acme-coffee-30s.ts\nuntil: 2026-05-01T12:00:30Z\n"))
	require.NoError(t, err)
	entries, err = p.Override(ctx, until, at)
	require.NoError(t, err)
	require.Len(t, entries, 1, "until ends after one pass")
	bad, err := ParseOverride("harbor.override.yaml", []byte("asset: ads/none.ts\n"))
	require.NoError(t, err)
	_, err = p.Override(ctx, bad, at)
	require.ErrorIs(t, err, ErrOverrideAsset)
}

// TestPoolRating: a pool by rating takes the assets whose meta sidecar rating
// is one of its ratings, case-insensitively, and no unrated asset.
func TestPoolRating(t *testing.T) {
	ch, err := Parse("ch.yaml", []byte(blockHead+"pools:\n  family: {kind: episode, rating: [TV-G, tv-pg]}\nblocks:\n  - flood: true\n    pool: family\n"))
	require.NoError(t, err)
	p := ch.Pools["family"]
	for rating, want := range map[string]bool{"TV-G": true, "TV-PG": true, "tv-g": true, "TV-14": false, "": false} {
		a := library.Asset{Kind: library.KindEpisode, Rating: rating}
		require.Equal(t, want, p.matches(&a), "rating %q", rating)
	}
	ad := library.Asset{Kind: library.KindAd, Rating: "TV-G"}
	require.False(t, p.matches(&ad), "every criterion must hold")
}
