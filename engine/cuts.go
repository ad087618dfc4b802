package engine

import "sort"

// Cuts chooses an item's segment boundaries. keyframes are the asset's keyframe
// times in ticks from its first picture, ascending; the item plays [in, out).
// Every segment starts on a keyframe; each is as close to target as the
// keyframes allow without exceeding target+slack, unless no keyframe lies in
// (cur, cur+target+slack], in which case the segment runs to the next keyframe.
// A remainder shorter than a quarter of target is merged into the previous
// segment when the merged one still fits in target+slack. The result is offsets
// from in, starting with 0; never empty when in < out.
func Cuts(keyframes []int64, in, out, target, slack int64) []int64 {
	if out <= in {
		return nil
	}
	i := sort.Search(len(keyframes), func(i int) bool { return keyframes[i] > in })
	cuts := []int64{0}
	cur := in
	for {
		limit := cur + target + slack
		if limit >= out {
			break
		}
		// The keyframes in (cur, limit]: pick the one closest to cur+target.
		best := int64(-1)
		for j := i; j < len(keyframes) && keyframes[j] <= limit; j++ {
			k := keyframes[j]
			if k >= out {
				break
			}
			if best < 0 || abs64(k-(cur+target)) < abs64(best-(cur+target)) || (abs64(k-(cur+target)) == abs64(best-(cur+target)) && k > best) {
				best = k
			}
		}
		if best < 0 {
			// No keyframe within reach: the segment runs to the next keyframe.
			for i < len(keyframes) && keyframes[i] <= cur {
				i++
			}
			if i >= len(keyframes) || keyframes[i] >= out {
				break
			}
			best = keyframes[i]
		}
		cuts = append(cuts, best-in)
		cur = best
		for i < len(keyframes) && keyframes[i] <= cur {
			i++
		}
	}
	// Merge a tiny remainder into the segment before it when that fits.
	if n := len(cuts); n >= 2 {
		last := out - in - cuts[n-1]
		if last < target/4 && out-in-cuts[n-2] <= target+slack {
			cuts = cuts[:n-1]
		}
	}
	return cuts
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
