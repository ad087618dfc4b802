package hls

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestPrefetchOnceAvailable: a playlist request at 100 s (newest segment 24)
// schedules 25 and 26; each is generated when the clock passes its end, not
// before, and a client asking for it then hits the cache.
func TestPrefetchOnceAvailable(t *testing.T) {
	h := newHarness(t, Config{}, at(100*time.Second), nil)
	ch := h.ch()

	res, _ := h.get("/channels/news/index.m3u8")
	require.Equal(t, http.StatusOK, res.StatusCode)
	waitFor(t, "the scheduler to arm a timer for segment 25", func() bool { return h.clock.Pending() == 1 })
	require.Zero(t, ch.Calls(25))

	h.clock.Set(at(103 * time.Second)) // not yet
	h.clock.Set(at(104 * time.Second)) // 25 ends
	waitFor(t, "segment 25 to be prefetched", func() bool { return h.out.Stats().CacheEntries == 1 })
	require.Equal(t, 1, ch.Calls(25))
	require.Zero(t, ch.Calls(26))
	waitFor(t, "the scheduler to arm a timer for segment 26", func() bool { return h.clock.Pending() == 1 })

	res, body := h.get("/channels/news/seg/25.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, segmentBytes(25), body)
	s := h.out.Stats()
	require.Equal(t, uint64(1), s.Hits)
	require.Zero(t, s.Misses)
	require.Equal(t, uint64(1), s.Prefetched)

	// Asking for 25 scheduled 27 as well: both come when due.
	h.clock.Set(at(112 * time.Second))
	waitFor(t, "segments 26 and 27 to be prefetched", func() bool { return h.out.Stats().CacheEntries == 3 })
	require.Equal(t, 1, ch.Calls(26))
	require.Equal(t, 1, ch.Calls(27))
	require.Zero(t, ch.Calls(28))
	require.Empty(t, ch.Early(), "segments generated before their end")
	require.Equal(t, uint64(3), h.out.Stats().Prefetched)
	require.Zero(t, h.out.Stats().GenerationErrors)
}

// TestPrefetchAfterSegment: asking for an older segment prefetches the
// following ones, which are available at once.
func TestPrefetchAfterSegment(t *testing.T) {
	h := newHarness(t, Config{Prefetch: 1}, at(100*time.Second), nil)
	res, _ := h.get("/channels/news/seg/20.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	waitFor(t, "segment 21 to be prefetched", func() bool { return h.out.Stats().CacheEntries == 2 })
	require.Equal(t, 1, h.ch().Calls(21))
	require.Zero(t, h.ch().Calls(22))

	// Repeated requests do not generate it again.
	for range 5 {
		res, _ = h.get("/channels/news/seg/20.ts")
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	res, _ = h.get("/channels/news/seg/21.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	waitFor(t, "segment 22 to be prefetched", func() bool { return h.out.Stats().CacheEntries == 3 })
	require.Equal(t, 1, h.ch().Calls(21))
	require.Equal(t, uint64(2), h.out.Stats().Prefetched)
}

// TestPrefetchWithoutTimers: with no NewTimer, only segments already
// available are prefetched; the others are left to the clients.
func TestPrefetchWithoutTimers(t *testing.T) {
	clock := newFakeClock(at(100 * time.Second))
	ch := newFakeChannel("news", clock)
	out := New(Config{}, fakeRegistry{"news": ch}, clock)
	defer out.Close()

	rec := httptestRecorder(out, http.MethodGet, "/channels/news/seg/23.ts")
	require.Equal(t, http.StatusOK, rec.Code)
	waitFor(t, "segment 24 to be prefetched", func() bool { return out.Stats().Prefetched == 1 })
	require.Equal(t, 1, ch.Calls(24))
	require.Zero(t, ch.Calls(25))
	require.Zero(t, clock.Pending())
}

// TestCloseStopsEverything: Close with a generation blocked in the channel and
// prefetch jobs waiting on timers cancels them, waits, and leaves no
// goroutine behind; requests after Close that need a generation get 503.
func TestCloseStopsEverything(t *testing.T) {
	defer goleak.VerifyNone(t)

	gate := make(chan struct{})
	h := newHarness(t, Config{}, at(100*time.Second), func(ch *fakeChannel) { ch.gate = gate })

	res, _ := h.get("/channels/news/index.m3u8")
	require.Equal(t, http.StatusOK, res.StatusCode)
	waitFor(t, "a prefetch timer", func() bool { return h.clock.Pending() == 1 })

	done := make(chan int, 1)
	go func() {
		res, err := h.srv.Client().Get(h.srv.URL + "/channels/news/seg/22.ts")
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	waitFor(t, "the blocked generation", func() bool { return h.out.Stats().Misses == 1 })

	require.NoError(t, h.out.Close())
	require.Equal(t, http.StatusServiceUnavailable, <-done)
	h.ch().mu.Lock()
	cancelled := h.ch().cancelled
	h.ch().mu.Unlock()
	require.Positive(t, cancelled)
	require.Zero(t, h.clock.Pending(), "the scheduler stops its timer")

	res, _ = h.get("/channels/news/seg/21.ts")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	res, _ = h.get("/channels/news/index.m3u8")
	require.Equal(t, http.StatusOK, res.StatusCode, "playlists need no goroutine")

	require.NoError(t, h.out.Close(), "Close twice")
	h.srv.Close()
}

// TestPrefetchStopsWhenTheCacheChurns: with a cache too small to keep a
// prefetched segment until it is asked for (it evicts segments made moments
// ago), prefetch stands aside instead of doing the work twice.
func TestPrefetchStopsWhenTheCacheChurns(t *testing.T) {
	size := int64(len(segmentBytes(20)))
	h := newHarness(t, Config{Prefetch: 1, CacheBytes: 2*size + size/2}, at(100*time.Second), nil)
	res, _ := h.get("/channels/news/seg/18.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	waitFor(t, "segment 19 to be prefetched", func() bool { return h.out.Stats().Prefetched == 1 })
	require.Zero(t, h.out.Stats().PrefetchDropped)

	// Three more segments, made at the same moment: the cache evicts 18 and 19.
	for _, seq := range []int{20, 21, 22} {
		res, _ = h.get("/channels/news/seg/" + strconv.Itoa(seq) + ".ts")
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	waitFor(t, "the cache to evict", func() bool { return h.out.Stats().Evictions > 0 })
	prefetched := h.out.Stats().Prefetched
	res, _ = h.get("/channels/news/seg/23.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Positive(t, h.out.Stats().PrefetchDropped)
	h.out.prefetch.mu.Lock()
	pending := len(h.out.prefetch.pending)
	h.out.prefetch.mu.Unlock()
	require.Zero(t, pending, "no prefetch was queued")
	require.Equal(t, prefetched, h.out.Stats().Prefetched)
	require.Zero(t, h.ch().Calls(24), "segment 24 is left to its requests")
}
