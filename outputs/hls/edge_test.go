package hls

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClockSteps: the wall clock steps an hour back, then an hour forward.
// Back: the playlist stays at the newest edge listed (same media sequence,
// nothing re-listed under a lower number) and its segments stay servable.
// Forward: the playlist jumps ahead, later numbers only, none repeated.
func TestClockSteps(t *testing.T) {
	start := at(10 * time.Hour)
	h := newHarness(t, Config{Prefetch: -1}, start, nil)
	index := func() (int, []int64) {
		res, body := h.get("/channels/news/index.m3u8")
		if res.StatusCode != http.StatusOK {
			return 0, nil
		}
		m := parseMedia(t, body)
		var seqs []int64
		for i := range m.Segments {
			seqs = append(seqs, int64(m.MediaSequence+i))
		}
		return m.MediaSequence, seqs
	}
	ms0, seqs0 := index()
	require.NotEmpty(t, seqs0)
	edge0 := seqs0[len(seqs0)-1]

	// Without the rule the channel would list older segments an hour back.
	back := start.Add(-time.Hour)
	raw, err := h.ch().Segments(back, 1)
	require.NoError(t, err)
	require.Less(t, raw[len(raw)-1].Seq, edge0)

	h.clock.Set(back)
	ms1, seqs1 := index()
	require.Equal(t, ms0, ms1, "media sequence after a step back")
	require.Equal(t, seqs0, seqs1)
	res, body := h.get("/channels/news/seg/" + strconv.FormatInt(edge0, 10) + ".ts")
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	require.Equal(t, segmentBytes(edge0), body)
	// A segment never listed, after the edge, is still not available.
	res, _ = h.get("/channels/news/seg/" + strconv.FormatInt(edge0+1, 10) + ".ts")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)

	// The clock moves on a little, still behind: frozen.
	h.clock.Set(back.Add(30 * time.Second))
	ms2, _ := index()
	require.Equal(t, ms0, ms2)

	// Forward an hour past the start: ahead, no number repeated.
	h.clock.Set(start.Add(time.Hour))
	ms3, seqs3 := index()
	require.Greater(t, int64(ms3), edge0, "a step forward skips ahead")
	for i := 1; i < len(seqs3); i++ {
		require.Equal(t, seqs3[i-1]+1, seqs3[i])
	}
	// And back to where it was: frozen at the new edge, never lower.
	h.clock.Set(start)
	ms4, _ := index()
	require.Equal(t, ms3, ms4)
}
