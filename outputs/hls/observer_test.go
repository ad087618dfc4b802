package hls

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type recordingObserver struct {
	mu        sync.Mutex
	hits      map[string]int
	misses    map[string]int
	generated []int64
	bytes     int
}

func (r *recordingObserver) SegmentRequested(channel string, hit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hit {
		r.hits[channel]++
	} else {
		r.misses[channel]++
	}
}

func (r *recordingObserver) SegmentGenerated(channel string, seq int64, data []byte, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.generated = append(r.generated, seq)
	r.bytes += len(data)
}

// TestObserver: a first request is a miss and one generation, a second the
// same segment's hit; prefetch is off so nothing else is generated.
func TestObserver(t *testing.T) {
	obs := &recordingObserver{hits: map[string]int{}, misses: map[string]int{}}
	h := newHarness(t, Config{Prefetch: -1, Observer: obs}, at(100*time.Second), nil)
	res, body := h.get("/channels/news/seg/20.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = h.get("/channels/news/seg/20.ts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	require.Equal(t, 1, obs.misses["news"])
	require.Equal(t, 1, obs.hits["news"])
	require.Equal(t, []int64{20}, obs.generated)
	require.Equal(t, len(body), obs.bytes)
}
