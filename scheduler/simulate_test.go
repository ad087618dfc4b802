package scheduler

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/internal/sqlitedb"
	"onair/library"
)

// TestSimulate30Days extends the playout log of every sample channel 30 days
// into a real SQLite log store with engine.Extend over the sample library,
// restarting half way (a new planner that knows only the stored state), and
// checks the log: no gap and no overlap, every hard start exact, the break
// rules (mid-rolls per program, ad time, no ad twice in a break, cooldowns),
// chronological pools advancing episode by episode across the restart, and
// the same log as one uninterrupted compile.
func TestSimulate30Days(t *testing.T) {
	if testing.Short() {
		t.Skip("30 simulated days")
	}
	env := sampleLibrary(t)
	ctx := context.Background()
	const days = 30
	for _, ch := range sampleChannels(t) {
		t.Run(ch.ID, func(t *testing.T) {
			t.Parallel()
			db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "onair.db"))
			require.NoError(t, err)
			defer db.Close()
			logs, err := engine.OpenLog(ctx, db, goldenStart)
			require.NoError(t, err)
			require.NoError(t, logs.CreateChannel(ctx, ch.ID, goldenStart, goldenStart))
			seg := engine.Segmenting{Target: engine.DurationToTicks(ch.TargetDuration())}
			skipped := func(e engine.Entry, err error) { t.Errorf("entry %+v skipped: %v", e, err) }
			half := engine.DurationToTicks(days / 2 * 24 * time.Hour)
			_, err = engine.Extend(ctx, logs, ch.ID, env.snap.Planner(ch), env.snap.Assets(), seg, half, skipped)
			require.NoError(t, err)

			// Restart: a new snapshot and planner; all they know is the stored state.
			snap2, err := Snapshot(ctx, env.store)
			require.NoError(t, err)
			_, err = engine.Extend(ctx, logs, ch.ID, snap2.Planner(ch), snap2.Assets(), seg, engine.DurationToTicks(days*24*time.Hour), skipped)
			require.NoError(t, err)
			items, err := logs.ItemsFrom(ctx, ch.ID, 0, 1<<30)
			require.NoError(t, err)
			require.NotEmpty(t, items)

			checkContinuous(t, items)
			checkHardStarts(t, ch, items, days)
			checkBreaks(t, env.snap.Planner(ch), items)
			checkResume(t, env.snap.Planner(ch), items)

			// The restart changed nothing: one compile of 30 days is the same log.
			whole, err := Compile(ctx, env.snap.Planner(ch), env.snap.Assets(), seg, goldenStart, days*24*time.Hour)
			require.NoError(t, err)
			require.Equal(t, len(whole), len(items))
			for i := range items {
				a, b := items[i], whole[i]
				if a.Start != b.Start || a.AssetID != b.AssetID || a.In != b.In || a.Out != b.Out || a.EPGGroup != b.EPGGroup || a.Kind != b.Kind {
					t.Fatalf("item %d differs after the restart:\n%v\n%v", i, a.String(), b.String())
				}
			}
		})
	}
}

// checkContinuous: every item starts where the previous one ends.
func checkContinuous(t *testing.T, items []engine.Item) {
	t.Helper()
	require.Zero(t, items[0].Start)
	for i := 1; i < len(items); i++ {
		require.Equal(t, items[i-1].End(), items[i].Start, "gap or overlap before item %d (%s)", i, items[i].String())
		require.Equal(t, items[i-1].Index+1, items[i].Index)
		require.Positive(t, items[i].Duration)
	}
}

// checkHardStarts: at every start of a hard-start block an item starts
// exactly (on the tick; every item starts on a keyframe), and it is the
// block's first program or its pre-roll.
func checkHardStarts(t *testing.T, ch *Channel, items []engine.Item, days int) {
	t.Helper()
	starts := map[int64]*engine.Item{}
	for i := range items {
		starts[items[i].Start] = &items[i]
	}
	n := 0
	for _, b := range ch.Blocks {
		if !b.HardStart {
			continue
		}
		end := goldenStart.Add(time.Duration(days) * 24 * time.Hour).Add(-time.Hour)
		for f := b.sched.Next(goldenStart.Add(-time.Second)); f.Before(end); f = b.sched.Next(f) {
			at := engine.DurationToTicks(f.Sub(goldenStart))
			it, ok := starts[at]
			require.True(t, ok, "block %q starting %s: no item starts exactly then", b.Name, f)
			require.NotEqual(t, engine.KindSlate, it.Kind, "block %q at %s", b.Name, f)
			require.NotEqual(t, engine.KindFiller, it.Kind, "block %q at %s", b.Name, f)
			n++
		}
	}
	if ch.hasCron() {
		require.Positive(t, n, "hard starts checked")
	}
}

// group is the items of one EPG group of a program.
func groups(items []engine.Item) [][]engine.Item {
	var out [][]engine.Item
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].EPGGroup == items[i].EPGGroup {
			j++
		}
		out = append(out, items[i:j])
		i = j
	}
	return out
}

// blockOf is the block whose pool holds a program's asset.
func blockOf(p *Planner, assetID int64) *Block {
	for _, b := range p.ch.Blocks {
		for _, a := range p.pools[b.Pool] {
			if a.ID == assetID {
				return b
			}
		}
	}
	return nil
}

// checkBreaks: each program's breaks follow its block's rules.
func checkBreaks(t *testing.T, p *Planner, items []engine.Item) {
	t.Helper()
	lastAd := map[int64]int64{} // ad → start of its last play
	breaksSeen, adsSeen := 0, 0
	for _, g := range groups(items) {
		var prog *engine.Item
		for k := range g {
			if g[k].Kind == engine.KindProgram {
				prog = &g[k]
				break
			}
		}
		if prog == nil {
			continue
		}
		b := blockOf(p, prog.AssetID)
		require.NotNil(t, b, "program %s belongs to a block", prog.String())
		// Split the group into program parts and the breaks around them.
		var brks [][]engine.Item
		var cur []engine.Item
		parts := 0
		for _, it := range g {
			if it.Kind == engine.KindProgram && it.AssetID == prog.AssetID {
				parts++
				if cur != nil {
					brks = append(brks, cur)
					cur = nil
				}
				continue
			}
			cur = append(cur, it)
		}
		if cur != nil {
			brks = append(brks, cur)
		}
		br := b.Breaks
		if br == nil {
			require.Equal(t, 1, parts)
			require.Empty(t, brks)
			continue
		}
		mid := parts - 1
		if br.Max > 0 {
			require.LessOrEqual(t, mid, br.Max, "mid-roll breaks of %s", prog.String())
		}
		want := mid
		if br.PreRoll {
			want++
		}
		if br.PostRoll {
			want++
		}
		require.Len(t, brks, want, "breaks of %s", prog.String())
		budget := engine.DurationToTicks(time.Minute)
		if br.AdDuration.D() > 0 {
			budget = engine.DurationToTicks(br.AdDuration.D())
		}
		for _, brk := range brks {
			breaksSeen++
			var adTime int64
			var ids []int64
			for k, it := range brk {
				switch it.Kind {
				case engine.KindAd:
					require.NotContains(t, ids, it.AssetID, "ad twice in a break at %d", it.Start)
					ids = append(ids, it.AssetID)
					adTime += it.Duration
					if last, ok := lastAd[it.AssetID]; ok && br.Cooldown.D() > 0 {
						require.GreaterOrEqual(t, it.Start-last, engine.DurationToTicks(br.Cooldown.D()-time.Second),
							"ad %d again %s after its last play", it.AssetID, engine.TicksToDuration(it.Start-last))
					}
					lastAd[it.AssetID] = it.Start
					adsSeen++
				case engine.KindBumper:
					if k == 0 {
						require.NotEmpty(t, br.BumperIn+br.BumperOut)
					} else {
						require.Equal(t, len(brk)-1, k, "a bumper only opens or closes a break")
						require.NotEmpty(t, br.BumperOut)
					}
				case engine.KindPromo:
					require.NotEmpty(t, br.Promos)
				default:
					t.Fatalf("%s in a break", it.String())
				}
			}
			require.LessOrEqual(t, adTime, budget, "ad time of a break")
			if br.Ads != "" {
				require.NotEmpty(t, ids, "a break with ads has some")
			}
		}
	}
	require.Positive(t, breaksSeen)
	require.Positive(t, adsSeen+breaksSeen)
}

// checkResume: the programs of each chronological pool follow the pool's
// order episode by episode, across days and the restart.
func checkResume(t *testing.T, p *Planner, items []engine.Item) {
	t.Helper()
	checked := 0
	for _, b := range p.ch.Blocks {
		if b.Order != "" && b.Order != "chronological" {
			continue
		}
		pool := p.pools[b.Pool]
		pos := func(id int64) int {
			return slices.IndexFunc(pool, func(a *library.Asset) bool { return a.ID == id })
		}
		prev := -1
		for _, g := range groups(items) {
			var prog *engine.Item
			for k := range g {
				if g[k].Kind == engine.KindProgram {
					prog = &g[k]
					break
				}
			}
			if prog == nil {
				continue
			}
			i := pos(prog.AssetID)
			if i < 0 {
				continue
			}
			if prev >= 0 {
				require.Equal(t, (prev+1)%len(pool), i, "after %s the next episode of pool %s", pool[prev].Path, b.Pool)
				checked++
			}
			prev = i
		}
	}
	if p.ch.ID != "movies" {
		require.Positive(t, checked)
	}
}
