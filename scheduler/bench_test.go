package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"onair/engine"
)

// BenchmarkCompileMonth compiles 30 days of 100 channels (the three sample
// channels, repeated under 100 ids) over the sample library: planner steps
// and engine placement, in memory. One op is all 100 channel-months; the
// channel-month metric is the time per channel.
//
//	go test ./scheduler -run '^$' -bench CompileMonth -benchtime 1x -benchmem
func BenchmarkCompileMonth(b *testing.B) {
	env := sampleLibrary(b)
	ctx := context.Background()
	base := sampleChannels(b)
	chans := make([]*Channel, 100)
	for i := range chans {
		c := *base[i%len(base)]
		c.ID = fmt.Sprintf("%s-%03d", c.ID, i)
		chans[i] = &c
	}
	// Warm the engine's asset cache (keyframe indexes from SQLite) once.
	if _, err := Compile(ctx, env.snap.Planner(base[0]), env.snap.Assets(), engine.Segmenting{}, goldenStart, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	items := 0
	for b.Loop() {
		for _, ch := range chans {
			out, err := Compile(ctx, env.snap.Planner(ch), env.snap.Assets(), engine.Segmenting{}, goldenStart, 30*24*time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			items += len(out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N*len(chans)), "s/channel-month")
	b.ReportMetric(float64(items)/float64(b.N*len(chans)), "items/channel-month")
}
