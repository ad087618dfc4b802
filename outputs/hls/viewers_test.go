package hls

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestViewers: a client is counted while it polls the media playlist; two
// players on one address count twice; a client that stops polling for three
// target durations is no longer a viewer; segment and master requests alone
// do not make a viewer.
func TestViewers(t *testing.T) {
	h := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), nil)
	require.Zero(t, h.out.Viewers("news"))
	res, _ := h.do(http.MethodGet, "/channels/news/master.m3u8", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = h.do(http.MethodGet, "/channels/news/seg/20.ts", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Zero(t, h.out.Viewers("news"))

	for _, agent := range []string{"tv", "phone", "tv"} {
		res, _ = h.do(http.MethodGet, "/channels/news/index.m3u8", map[string]string{"User-Agent": agent})
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.Equal(t, 2, h.out.Viewers("news"))
	require.Zero(t, h.out.Viewers("nope"))

	// The phone keeps polling; the tv stops.
	h.clock.Set(at(110 * time.Second))
	res, _ = h.do(http.MethodGet, "/channels/news/index.m3u8", map[string]string{"User-Agent": "phone"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	h.clock.Set(at(113 * time.Second)) // 13 s after the tv's last poll (target 4 s)
	require.Equal(t, 1, h.out.Viewers("news"))
	h.clock.Set(at(130 * time.Second))
	require.Zero(t, h.out.Viewers("news"))
}
