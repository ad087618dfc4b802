package scheduler

import (
	"fmt"
	"time"

	"onair/library"
)

// checkSchedule reports what of a channel's pools, blocks, breaks and filler
// cannot work with the snapshot's library: empty pools and durations that
// cannot fit.
func (s *LibrarySnapshot) checkSchedule(p *Planner, loc *locator) Errors {
	ch := p.ch
	var errs Errors
	at := func(path, format string, args ...any) {
		errs = append(errs, loc.errorAt(path, format, args...))
	}
	for _, name := range sortedKeys(ch.Pools) {
		if len(p.pools[name]) == 0 {
			at("$.pools."+name, "pools.%s: no playable asset of the library matches (empty pool)", name)
		}
	}
	for i, b := range ch.Blocks {
		pool := p.pools[b.Pool]
		if len(pool) == 0 {
			continue
		}
		shortest := minDuration(pool)
		if d := b.Duration.D(); d > 0 && d < shortest {
			at(fmt.Sprintf("$.blocks[%d].duration", i), "blocks[%d].duration: %s cannot fit any program of pool %s (the shortest is %s)", i, d, b.Pool, shortest)
		}
		if br := b.Breaks; br != nil {
			if ads := p.pools[br.Ads]; len(ads) > 0 {
				budget := time.Minute
				if br.AdDuration.D() > 0 {
					budget = br.AdDuration.D()
				}
				if m := minDuration(ads); m > budget {
					at(fmt.Sprintf("$.blocks[%d].breaks.ad_duration", i), "blocks[%d].breaks.ad_duration: %s cannot fit any ad of pool %s (the shortest is %s)", i, budget, br.Ads, m)
				}
			}
		}
	}
	return errs
}

func minDuration(pool []*library.Asset) time.Duration {
	m := time.Duration(-1)
	for _, a := range pool {
		if m < 0 || a.Duration < m {
			m = a.Duration
		}
	}
	return m
}
