package hls

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSegmentCacheLRU(t *testing.T) {
	c := newSegmentCache(1000)
	put := func(seq int64, size int) {
		t.Helper()
		key := segKey{"news", seq}
		seg, f, leader := c.acquire(key)
		require.Nil(t, seg)
		require.True(t, leader)
		c.finish(key, f, newSegment(make([]byte, size)), nil)
	}
	cached := func(seq int64) bool {
		seg, f, leader := c.acquire(segKey{"news", seq})
		if seg != nil {
			return true
		}
		require.True(t, leader)
		c.finish(segKey{"news", seq}, f, nil, errClosed) // not stored
		return false
	}

	put(1, 400)
	put(2, 400)
	used, n, ev := c.usage()
	require.Equal(t, int64(800), used)
	require.Equal(t, 2, n)
	require.Zero(t, ev)

	require.True(t, cached(1)) // 1 is now more recent than 2
	put(3, 400)                // evicts 2
	require.True(t, cached(1))
	require.False(t, cached(2))
	require.True(t, cached(3))
	used, n, ev = c.usage()
	require.Equal(t, int64(800), used)
	require.Equal(t, 2, n)
	require.Equal(t, uint64(1), ev)

	put(4, 1000) // fills the budget alone
	used, n, ev = c.usage()
	require.Equal(t, int64(1000), used)
	require.Equal(t, 1, n)
	require.Equal(t, uint64(3), ev)

	put(5, 1001) // larger than the budget: served, not stored
	require.False(t, cached(5))
	require.True(t, cached(4))

	// A failed generation is not cached and wakes its waiters with the error.
	key := segKey{"news", 6}
	_, f, leader := c.acquire(key)
	require.True(t, leader)
	_, f2, leader2 := c.acquire(key)
	require.False(t, leader2)
	require.Same(t, f, f2)
	require.True(t, c.has(key))
	c.finish(key, f, nil, ErrNotYet)
	<-f2.done
	require.ErrorIs(t, f2.err, ErrNotYet)
	require.False(t, c.has(key))
}

func TestCacheBudgetOverHTTP(t *testing.T) {
	// Segments are 10 to 14 packets of 188 bytes: three of the largest fit.
	budget := int64(3 * 14 * 188)
	h := newHarness(t, Config{Prefetch: -1, CacheBytes: budget}, at(100*time.Second), nil)
	for seq := 19; seq <= 24; seq++ {
		res, _ := h.get("/channels/news/seg/" + itoa(seq) + ".ts")
		require.Equal(t, http.StatusOK, res.StatusCode)
		s := h.out.Stats()
		require.LessOrEqual(t, s.CacheBytes, budget)
	}
	s := h.out.Stats()
	require.Positive(t, s.Evictions)
	require.Equal(t, uint64(6), s.Misses)
	require.Equal(t, uint64(6), s.Generations)
	require.Equal(t, s.CacheEntries, 3)

	// The newest is still cached, the oldest was evicted.
	res, body := h.get("/channels/news/seg/24.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, segmentBytes(24), body)
	require.Equal(t, 1, h.ch().Calls(24))
	require.Equal(t, uint64(1), h.out.Stats().Hits)

	res, body = h.get("/channels/news/seg/19.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, segmentBytes(19), body)
	require.Equal(t, 2, h.ch().Calls(19))
}

func TestCacheDisabled(t *testing.T) {
	h := newHarness(t, Config{Prefetch: -1, CacheBytes: -1}, at(100*time.Second), nil)
	for range 2 {
		res, _ := h.get("/channels/news/seg/24.ts")
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.Equal(t, 2, h.ch().Calls(24))
	require.Zero(t, h.out.Stats().CacheBytes)
}

// TestSingleflight sends N concurrent requests for a missing segment while
// its generation is held: the channel generates it once and all N get it.
func TestSingleflight(t *testing.T) {
	const n = 16
	gate := make(chan struct{})
	h := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), func(ch *fakeChannel) { ch.gate = gate })

	bodies := make([][]byte, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/channels/news/seg/20.ts", nil)
			if err != nil {
				t.Error(err)
				return
			}
			res, err := h.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(res.Body)
			codes[i], bodies[i] = res.StatusCode, buf.Bytes()
		})
	}
	waitFor(t, "all requests to wait on the generation", func() bool { return h.out.Stats().Misses == n })
	close(gate)
	wg.Wait()

	for i := range n {
		require.Equal(t, http.StatusOK, codes[i])
		require.Equal(t, segmentBytes(20), bodies[i])
	}
	require.Equal(t, 1, h.ch().Calls(20))
	s := h.out.Stats()
	require.Equal(t, uint64(1), s.Generations)
	require.Equal(t, uint64(n), s.Misses)
	require.Equal(t, uint64(n-1), s.Shared)
	require.Zero(t, s.Hits)

	res, _ := h.get("/channels/news/seg/20.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, uint64(1), h.out.Stats().Hits)
	require.Equal(t, 1, h.ch().Calls(20))
}

// TestSingleflightClientGone: a waiting client that disconnects does not
// cancel the generation the others wait for.
func TestSingleflightClientGone(t *testing.T) {
	gate := make(chan struct{})
	h := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), func(ch *fakeChannel) { ch.gate = gate })

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/channels/news/seg/20.ts", nil)
		res, err := h.srv.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		first <- err
	}()
	waitFor(t, "the first request", func() bool { return h.out.Stats().Misses == 1 })
	cancel()
	require.Error(t, <-first)

	second := make(chan int, 1)
	go func() {
		res, err := h.srv.Client().Get(h.srv.URL + "/channels/news/seg/20.ts")
		if err != nil {
			second <- 0
			return
		}
		res.Body.Close()
		second <- res.StatusCode
	}()
	waitFor(t, "the second request", func() bool { return h.out.Stats().Shared == 1 })
	close(gate)
	require.Equal(t, http.StatusOK, <-second)
	require.Equal(t, 1, h.ch().Calls(20))
}

func itoa(i int) string { return strconv.Itoa(i) }
