package source

import "math/bits"

// maxTicks bounds converted timestamps, far beyond any real media time (about 1.6 million
// years at 90 kHz) and far from int64 overflow when ranges add margins to it.
const maxTicks = int64(1) << 62

// scaleTo90k converts v units of 1/timescale s to 90 kHz ticks, rounding to the nearest tick
// (halves away from zero). The math is exact: a sample's time is converted from its absolute
// value in the track's timescale, so no error accumulates along a file.
func scaleTo90k(v int64, timescale uint32) int64 {
	switch timescale {
	case 0:
		return 0
	case 90000:
		return max(-maxTicks, min(v, maxTicks))
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = ^u + 1
	}
	hi, lo := bits.Mul64(u, 90000)
	lo, carry := bits.Add64(lo, uint64(timescale/2), 0)
	hi += carry
	q := uint64(maxTicks)
	if hi < uint64(timescale) {
		q, _ = bits.Div64(hi, lo, uint64(timescale))
		q = min(q, uint64(maxTicks))
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

// addTicks returns a+b, saturated to ±maxTicks, for range ends such as to + 2 audio frames.
func addTicks(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || s > maxTicks {
		return maxTicks
	}
	if (b < 0 && s > a) || s < -maxTicks {
		return -maxTicks
	}
	return s
}
