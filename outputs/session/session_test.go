package session_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"onair/engine"
	"onair/internal/syncbuf"
	"onair/muxer/tr101290"
	"onair/outputs/session"
	"onair/outputs/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// rig is a Manager over one fake channel "news" on a virtual clock that has
// played 10.5 s.
type rig struct {
	clock *engine.VirtualClock
	ch    *sessiontest.Channel
	m     *session.Manager
}

func newRig(t *testing.T, cfg session.Config) *rig {
	t.Helper()
	clock := engine.NewVirtualClock(epoch.Add(10500 * time.Millisecond))
	ch := sessiontest.New("news", epoch)
	m := session.New(cfg, session.RegistryFunc(func(id string) (session.Channel, bool) {
		if id != "news" {
			return nil, false
		}
		return ch, true
	}), clock)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return &rig{clock: clock, ch: ch, m: m}
}

// step waits until the session goroutine has armed its timer (it has done
// all it could at the current time), then advances the clock by d.
func (r *rig) step(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second) //nolint:forbidigo // real-time guard of a test
	for r.clock.Pending() == 0 && r.m.Stats().Sessions > 0 {
		if time.Now().After(deadline) { //nolint:forbidigo // real-time guard of a test
			t.Fatal("the session never waited on its clock")
		}
		time.Sleep(time.Millisecond) //nolint:forbidigo // polling a goroutine in a test
	}
	r.clock.Advance(d)
}

// drain reads every batch queued for v now.
func drain(v *session.Sub) []session.Batch {
	var out []session.Batch
	for {
		select {
		case b, ok := <-v.C():
			if !ok {
				return out
			}
			out = append(out, b)
		default:
			return out
		}
	}
}

// play advances the clock by total in steps of 40 ms, collecting v's batches.
func (r *rig) play(t *testing.T, total time.Duration, subs ...*session.Sub) [][]session.Batch {
	t.Helper()
	got := make([][]session.Batch, len(subs))
	for d := time.Duration(0); d < total; d += 40 * time.Millisecond {
		r.step(t, 40*time.Millisecond)
		r.step(t, 0) // let it run at the new time
		for i, v := range subs {
			got[i] = append(got[i], drain(v)...)
		}
	}
	return got
}

// checkContinuous asserts that batches carry every unit of consecutive
// segments once, in DTS order, with no jump, and that their TS bytes
// concatenate into a stream without TR 101 290 priority 1 errors.
func checkContinuous(t *testing.T, bs []session.Batch) (segs int) {
	t.Helper()
	require.NotEmpty(t, bs)
	require.True(t, bs[0].Start, "the first batch starts a segment")
	require.True(t, bs[0].Units()[0].Key, "the first unit is a keyframe")
	var ts bytes.Buffer
	last := map[int]int64{}
	var seq int64 = -1
	for _, b := range bs {
		require.False(t, b.Jump)
		if b.Start {
			if seq >= 0 {
				require.Equal(t, seq+1, b.Seg.Ref.Seq, "segments follow each other")
			}
			seq = b.Seg.Ref.Seq
			segs++
		} else {
			require.Equal(t, seq, b.Seg.Ref.Seq)
		}
		for _, u := range b.Units() {
			if d, ok := last[u.Track]; ok {
				require.Greater(t, u.DTS, d, "DTS grows on track %d", u.Track)
				if u.Track == 0 {
					require.Equal(t, d+engine.Hz/25, u.DTS, "no video frame missing")
				}
			}
			last[u.Track] = u.DTS
		}
		p, err := b.TS()
		require.NoError(t, err)
		ts.Write(p)
	}
	rep, err := tr101290.Analyze(&ts)
	require.NoError(t, err)
	require.Zero(t, rep.Counters.Priority1(), "%+v", rep.Counters)
	return segs
}

func TestOneSessionFeedsAllViewersContinuously(t *testing.T) {
	r := newRig(t, session.Config{})
	a, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	b, err := r.m.Subscribe("news", "rtsp")
	require.NoError(t, err)
	require.Equal(t, 1, r.m.Stats().Sessions)
	require.Equal(t, 1, r.m.Viewers("news", "ts"))
	require.Equal(t, 1, r.m.Viewers("news", "rtsp"))

	got := r.play(t, 8*time.Second, a, b)
	// 8 s across two item boundaries (items are 3 s).
	require.GreaterOrEqual(t, checkContinuous(t, got[0]), 7)
	require.GreaterOrEqual(t, checkContinuous(t, got[1]), 7)
	// Joined at the live edge: the newest complete segment at 10.5 s is 9.
	require.Equal(t, int64(9), got[0][0].Seg.Ref.Seq)
	// One session read each segment once for both viewers (plus the live edge lookups).
	require.LessOrEqual(t, r.ch.MediaCalls.Load(), int64(10))
	require.Equal(t, uint64(1), r.m.Stats().Started)
	a.Close()
	b.Close()
}

func TestPacedAtWallClock(t *testing.T) {
	r := newRig(t, session.Config{})
	v, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	defer v.Close()
	got := r.play(t, 3*time.Second, v)[0]
	// Nothing is due before its time: after 3 s of wall time the viewer has
	// 3 s of media (plus the first keyframe), not more.
	var first, lastDTS int64 = -1, 0
	for _, b := range got {
		for _, u := range b.Units() {
			if first < 0 {
				first = u.DTS
			}
			lastDTS = u.DTS
		}
	}
	span := lastDTS - first
	require.InDelta(t, 3*engine.Hz, span, float64(engine.Hz)/10, "media delivered in 3 s of wall time")
}

func TestLateJoinerStartsAtTheSegmentsKeyframe(t *testing.T) {
	r := newRig(t, session.Config{})
	a, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	defer a.Close()
	r.play(t, 1500*time.Millisecond, a)
	b, err := r.m.Subscribe("news", "webrtc")
	require.NoError(t, err)
	defer b.Close()
	got := r.play(t, 3*time.Second, b)[0]
	require.True(t, got[0].Start)
	us := got[0].Units()
	require.True(t, us[0].Key)
	// it got the 0.5 s already played of the current segment at once
	require.Greater(t, len(us), 10)
	checkContinuous(t, got)
	require.Equal(t, 1, r.m.Stats().Sessions)
}

func TestSlowViewerSkipsAheadWithoutSlowingOthers(t *testing.T) {
	r := newRig(t, session.Config{Queue: 8})
	slow, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	defer slow.Close()
	fast, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	defer fast.Close()
	got := r.play(t, 5*time.Second, fast)[0] // slow never reads
	require.GreaterOrEqual(t, checkContinuous(t, got), 5)
	require.Positive(t, slow.Dropped())
	require.Zero(t, fast.Dropped())

	// The slow viewer's queue holds the start of the stream; once it reads
	// again it resumes at a segment start, flagged as a jump.
	drain(slow)
	got = r.play(t, 2*time.Second, slow)[0]
	require.NotEmpty(t, got)
	require.True(t, got[0].Start)
	require.True(t, got[0].Jump)
	require.True(t, got[0].Units()[0].Key)
}

func TestSessionStopsAfterGraceAndRestarts(t *testing.T) {
	r := newRig(t, session.Config{Grace: 2 * time.Second, Pace: 100 * time.Millisecond})
	v, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	r.play(t, time.Second, v)
	v.Close()
	require.Equal(t, 0, r.m.Viewers("news", "ts"))
	r.play(t, time.Second)
	require.Equal(t, 1, r.m.Stats().Sessions, "still within the grace period")
	r.play(t, 1200*time.Millisecond)
	require.Eventually(t, func() bool { return r.m.Stats().Sessions == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, uint64(1), r.m.Stats().Stopped)

	v, err = r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	defer v.Close()
	got := r.play(t, 2*time.Second, v)[0]
	checkContinuous(t, got)
	require.Equal(t, uint64(2), r.m.Stats().Started)
}

func TestUnknownChannel(t *testing.T) {
	r := newRig(t, session.Config{})
	_, err := r.m.Subscribe("nope", "ts")
	require.ErrorIs(t, err, session.ErrNoChannel)
}

func TestCloseEndsViewers(t *testing.T) {
	r := newRig(t, session.Config{})
	v, err := r.m.Subscribe("news", "ts")
	require.NoError(t, err)
	require.NoError(t, r.m.Close())
	for range v.C() { //nolint:revive // drain until closed
	}
	_, err = r.m.Subscribe("news", "ts")
	require.ErrorIs(t, err, session.ErrClosed)
}

// emptyChannel is a channel that has no segment yet (its playout log is
// still being written).
type emptyChannel struct{ *sessiontest.Channel }

func (emptyChannel) Recent(context.Context, time.Time, int) ([]engine.SegmentRef, error) {
	return nil, nil
}

// TestNoSegmentYetWarnsOnce: a session whose channel has no segment yet
// retries every second (and whenever a viewer joins) but warns once per
// 10 s, not at every try: 50 viewers joining a new channel made a storm.
func TestNoSegmentYetWarnsOnce(t *testing.T) {
	var logs syncbuf.Buffer
	clock := engine.NewVirtualClock(epoch.Add(10500 * time.Millisecond))
	ch := emptyChannel{sessiontest.New("news", epoch)}
	m := session.New(session.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		session.RegistryFunc(func(string) (session.Channel, bool) { return ch, true }), clock)
	defer func() { require.NoError(t, m.Close()) }()
	r := &rig{clock: clock, m: m}
	for range 50 {
		v, err := m.Subscribe("news", "ts")
		require.NoError(t, err)
		defer v.Close()
	}
	for range 5 {
		r.step(t, time.Second)
	}
	r.step(t, 0)
	require.Equal(t, 1, strings.Count(logs.String(), "live edge"), logs.String())
	for range 6 {
		r.step(t, time.Second)
	}
	r.step(t, 0)
	require.Equal(t, 2, strings.Count(logs.String(), "live edge"), "again after 10 s: %s", logs.String())
}
