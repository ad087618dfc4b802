package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"onair/engine"
)

// Compile places a planner's entries in memory the way engine.Extend places
// them in the playout log, from a new log at epoch until the log reaches
// epoch+d: for plan previews, golden plans and benchmarks. Entries that
// cannot be placed are skipped, as Extend does.
func Compile(ctx context.Context, p engine.Planner, assets engine.Assets, seg engine.Segmenting, epoch time.Time, d time.Duration) ([]engine.Item, error) {
	until := engine.DurationToTicks(d)
	var items []engine.Item
	var prev *engine.Item
	state := ""
	failures := 0
	for prev == nil || prev.End() < until {
		if err := ctx.Err(); err != nil {
			return items, err
		}
		at := engine.Cursor{State: state, Wall: epoch}
		if prev != nil {
			at.End, at.Params = prev.End(), prev.Params
			at.Wall = epoch.Add(engine.TicksToDuration(at.End))
		}
		entries, next, err := p.Next(ctx, at)
		if err != nil {
			return items, err
		}
		for _, e := range entries {
			var a engine.Asset
			if e.AssetID == 0 {
				a, err = engine.SlateAsset(prev, e.Out)
			} else {
				a, err = assets.Asset(ctx, e.AssetID)
			}
			var it engine.Item
			if err == nil {
				it, err = engine.PlaceEntry(prev, a, e, seg)
			}
			if err != nil {
				failures++
				if failures >= 64 {
					return items, fmt.Errorf("%d entries in a row could not be placed: %w", failures, err)
				}
				continue
			}
			failures = 0
			items = append(items, it)
			prev = &items[len(items)-1]
		}
		state = next
		if len(items) > 0 {
			items[len(items)-1].StepState = next
		}
	}
	return items, nil
}

// FormatPlan writes items as text, one line per item: start (wall time in
// loc), duration, kind, title, source range and EPG group.
func FormatPlan(items []engine.Item, epoch time.Time, loc *time.Location) string {
	var b strings.Builder
	for _, it := range items {
		start := epoch.Add(engine.TicksToDuration(it.Start)).In(loc)
		src := it.AssetPath
		if i := strings.LastIndex(src, "/"); i >= 0 {
			src = src[i+1:]
		}
		fmt.Fprintf(&b, "%s %9s %-8s %-40s %s [%s-%s] %s\n", start.Format("2006-01-02 15:04:05.000 MST"),
			fmtTicks(it.Duration), it.Kind, it.Title, src, fmtTicks(it.In), fmtTicks(it.Out), it.EPGGroup)
	}
	return b.String()
}

func fmtTicks(t int64) string {
	d := engine.TicksToDuration(t)
	return fmt.Sprintf("%d:%02d.%03d", int(d/time.Minute), int(d%time.Minute/time.Second), int(d%time.Second/time.Millisecond))
}
