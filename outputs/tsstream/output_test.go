package tsstream_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"onair/engine"
	"onair/muxer/tr101290"
	"onair/outputs/session"
	"onair/outputs/session/sessiontest"
	"onair/outputs/tsstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type rig struct {
	clock *engine.VirtualClock
	ch    *sessiontest.Channel
	m     *session.Manager
	out   *tsstream.Output
	srv   *httptest.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	clock := engine.NewVirtualClock(epoch.Add(10500 * time.Millisecond))
	ch := sessiontest.New("news", epoch)
	m := session.New(session.Config{}, session.RegistryFunc(func(id string) (session.Channel, bool) {
		if id != "news" {
			return nil, false
		}
		return ch, true
	}), clock)
	out := tsstream.New(tsstream.Config{}, m)
	srv := httptest.NewServer(out)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		require.NoError(t, m.Close())
	})
	return &rig{clock: clock, ch: ch, m: m, out: out, srv: srv}
}

// play advances the virtual clock by total in 40 ms steps, each once the
// session has done all it could at the current time.
func (r *rig) play(t *testing.T, total time.Duration) {
	t.Helper()
	for d := time.Duration(0); d < total; d += 40 * time.Millisecond {
		deadline := time.Now().Add(5 * time.Second) //nolint:forbidigo // real-time guard of a test
		for r.clock.Pending() == 0 {
			require.False(t, time.Now().After(deadline), "the session never waited") //nolint:forbidigo // real-time guard
			time.Sleep(100 * time.Microsecond)                                       //nolint:forbidigo // polling
		}
		r.clock.Advance(40 * time.Millisecond)
	}
}

// viewer reads channel news over continuous TS into a TR 101 290 analyzer
// until its context ends.
type viewer struct {
	an    *tr101290.Analyzer
	bytes int64
	done  chan struct{}
}

func (r *rig) watch(t *testing.T, ctx context.Context) *viewer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/channels/news.ts", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the reading goroutine
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "video/mp2t", resp.Header.Get("Content-Type"))
	v := &viewer{an: tr101290.NewAnalyzer(tr101290.Options{}), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		defer resp.Body.Close()
		v.bytes, _ = io.Copy(v.an, resp.Body)
	}()
	return v
}

func TestFiftyViewersShareOneSessionAndGetAContinuousStream(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	const n = 50
	vs := make([]*viewer, n)
	for i := range vs {
		vs[i] = r.watch(t, ctx)
	}
	require.Eventually(t, func() bool { return r.out.Viewers("news") == n }, 5*time.Second, time.Millisecond)
	require.Equal(t, 1, r.m.Stats().Sessions)
	r.play(t, 7*time.Second) // across two item boundaries
	require.Eventually(t, func() bool { return r.out.Stats().BytesServed > 0 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) //nolint:forbidigo // let the last writes land
	cancel()
	var mu sync.Mutex
	for i, v := range vs {
		<-v.done
		require.NoError(t, v.an.Close())
		rep := v.an.Report()
		mu.Lock()
		require.Zero(t, rep.Counters.Priority1(), "viewer %d: %+v", i, rep.Counters)
		require.Zero(t, rep.Counters.PCRRepetitionError+rep.Counters.PCRDiscontinuityIndicatorError, "viewer %d: PCR continuity: %+v", i, rep.Counters)
		require.Greater(t, v.bytes, int64(7*188*16), "viewer %d got a stream", i)
		mu.Unlock()
	}
	require.Equal(t, uint64(1), r.m.Stats().Started, "one session fed every viewer")
	// Each segment was read from the engine once (plus the live edge).
	require.LessOrEqual(t, r.ch.MediaCalls.Load(), int64(10))
	require.Eventually(t, func() bool { return r.out.Viewers("news") == 0 }, 5*time.Second, time.Millisecond)
}

// TestJumpIsAnnounced: when the clock steps ahead, the session starts again
// at the live edge and the viewer's stream jumps; the first PCR after the
// jump carries the discontinuity_indicator, so a TR 101 290 analyzer sees an
// announced new time base, not a PCR error.
func TestJumpIsAnnounced(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	v := r.watch(t, ctx)
	require.Eventually(t, func() bool { return r.out.Viewers("news") == 1 }, 5*time.Second, time.Millisecond)
	r.play(t, 3*time.Second)
	r.play(t, 40*time.Millisecond)
	r.clock.Advance(30 * time.Second) // the host slept, say
	r.play(t, 4*time.Second)
	require.Eventually(t, func() bool { return r.out.Stats().Skipped == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) //nolint:forbidigo // let the last writes land
	cancel()
	<-v.done
	require.NoError(t, v.an.Close())
	rep := v.an.Report()
	require.Zero(t, rep.Counters.Priority1(), "%+v %+v", rep.Counters, rep.Errors)
	require.Zero(t, rep.Counters.PCRDiscontinuityIndicatorError, "%+v", rep.Counters)
	require.Greater(t, v.bytes, int64(5*188*16))
}

func TestUnknownChannelIs404(t *testing.T) {
	r := newRig(t)
	for _, p := range []string{"/channels/nope.ts", "/channels/news.mp4"} {
		resp, err := http.Get(r.srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	require.Zero(t, r.m.Stats().Started)
}
