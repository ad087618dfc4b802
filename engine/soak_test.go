package engine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/engine/source"
	"onair/internal/sqlitedb"
	"onair/library"
	"onair/muxer/tr101290"
	"onair/scheduler"
	"onair/testmedia"
)

// soakLibrary writes a small library of short clips (160x96, 25 fps, 2 s GOP).
func soakLibrary(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	clip := func(rel string, d time.Duration, seed int64, cue string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, testmedia.WriteFile(p, testmedia.Options{Width: 160, Height: 96, Duration: d, Seed: seed, Label: filepath.Base(rel)}))
		if cue != "" {
			require.NoError(t, os.WriteFile(testmedia.CueSidecarPath(p), []byte("cues: ["+cue+"]\n"), 0o644))
		}
	}
	clip("shows/Demo/Season 01/Demo - S01E01 - A.ts", 20*time.Second, 1, "10s")
	clip("shows/Demo/Season 01/Demo - S01E02 - B.mp4", 16*time.Second, 2, "8s")
	clip("ads/a.ts", 6*time.Second, 3, "")
	clip("ads/b.mp4", 5*time.Second, 4, "")
	clip("bumpers/x.ts", 3*time.Second, 5, "")
	return root
}

const soakChannel = `number: "1"
name: Soak
playlist:
  - show: Demo
    breaks:
      - asset: bumpers/x.ts
      - kind: ad
  - kind: ad
`

type soakEnv struct {
	clock *engine.VirtualClock
	ch    *engine.Channel
	lib   *library.Store
	db    *sqlitedb.DB
}

func openSoak(t testing.TB, root, dbPath string, clock *engine.VirtualClock) *soakEnv {
	t.Helper()
	ctx := context.Background()
	lib, err := library.OpenWithOptions(dbPath, library.Options{})
	require.NoError(t, err)
	_, err = lib.Scan(ctx, []string{root}, nil)
	require.NoError(t, err)
	db, err := sqlitedb.Open(dbPath)
	require.NoError(t, err)
	logs, err := engine.OpenLog(ctx, db, clock.Now())
	require.NoError(t, err)
	cfg, err := scheduler.Parse("soak.yaml", []byte(soakChannel))
	require.NoError(t, err)
	p, err := scheduler.NewPlanner(ctx, cfg, lib)
	require.NoError(t, err)
	ch, err := engine.OpenChannel(ctx, engine.ChannelConfig{ID: "soak", Planner: p, Horizon: 50 * time.Hour},
		engine.ChannelDeps{Store: logs, Assets: &engine.LibraryAssets{Store: lib}, Sources: source.NewCache(16), Clock: clock})
	require.NoError(t, err)
	e := &soakEnv{clock: clock, ch: ch, lib: lib, db: db}
	t.Cleanup(e.close)
	return e
}

func (e *soakEnv) close() {
	if e.db != nil {
		e.db.Close()
		e.lib.Close()
		e.db = nil
	}
}

// streamCheck follows the channel's media across consecutive segments.
type streamCheck struct {
	t                   testing.TB
	lastVideo, lastAud  int64 // unwrapped DTS / PTS, -1 before the first
	videoFrames, audios int
}

const wrap = int64(1) << 33

// unwrap returns the value congruent to v modulo 2^33 that is nearest to ref.
func unwrap(v, ref int64) int64 {
	if ref < 0 {
		return v
	}
	u := ref - (ref % wrap) + v
	for u-ref > wrap/2 {
		u -= wrap
	}
	for ref-u > wrap/2 {
		u += wrap
	}
	return u
}

// segment checks one segment that starts at channel media time start.
func (s *streamCheck) segment(seq int64, b []byte, start int64) {
	t := s.t
	r := &mpegts.Reader{R: bytes.NewReader(b)}
	require.NoError(t, r.Initialize(), "segment %d", seq)
	first := true
	var firstVideo, firstAudio int64 = -1, -1
	for _, tr := range r.Tracks() {
		switch tr.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
				d := unwrap(dts, start)
				p := unwrap(pts, start)
				if first {
					require.GreaterOrEqual(t, len(au), 3, "segment %d: parameter sets and IDR", seq)
					require.Equal(t, h264.NALUTypeSPS, h264.NALUType(au[0][0]&0x1f), "segment %d starts with SPS", seq)
					require.Equal(t, h264.NALUTypePPS, h264.NALUType(au[1][0]&0x1f), "segment %d: PPS", seq)
					require.Equal(t, h264.NALUTypeIDR, h264.NALUType(au[2][0]&0x1f), "segment %d: IDR", seq)
					require.Equal(t, start, d, "segment %d: first DTS is its start on the channel clock", seq)
					firstVideo = p
					first = false
				}
				require.GreaterOrEqual(t, p, d, "segment %d: PTS >= DTS", seq)
				if s.lastVideo >= 0 {
					require.Equal(t, s.lastVideo+3600, d, "segment %d: one frame after the last", seq)
				}
				s.lastVideo = d
				s.videoFrames++
				return nil
			})
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				p := unwrap(pts, start)
				for range aus {
					if firstAudio < 0 {
						firstAudio = p
					}
					if s.lastAud >= 0 {
						require.Equal(t, s.lastAud+1920, p, "segment %d: audio continuous", seq)
					}
					s.lastAud = p
					p += 1920
					s.audios++
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			break
		}
	}
	require.False(t, first, "segment %d has video", seq)
	require.GreaterOrEqual(t, firstAudio, int64(0), "segment %d has audio", seq)
	require.LessOrEqual(t, abs(firstAudio-firstVideo), int64(1920), "segment %d: audio within one frame of video", seq)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// renderSpan renders every segment that ends within [from, to) of wall time,
// checks them one by one and as one stream, and returns how many there were.
func renderSpan(t testing.TB, e *soakEnv, from, to time.Time) int {
	t.Helper()
	ctx := context.Background()
	e.clock.Set(to)
	n := int(to.Sub(from)/(4*time.Second)) + 2
	refs, err := e.ch.Recent(ctx, to, n)
	require.NoError(t, err)
	sc := &streamCheck{t: t, lastVideo: -1, lastAud: -1}
	var all bytes.Buffer
	count := 0
	for _, r := range refs {
		if e.ch.WallTime(r.End).Before(from) {
			continue
		}
		b, err := e.ch.Render(ctx, r.Seq)
		require.NoError(t, err)
		again, err := e.ch.Render(ctx, r.Seq)
		require.NoError(t, err)
		require.Equal(t, b, again, "segment %d renders the same bytes twice", r.Seq)
		sc.segment(r.Seq, b, r.Start)
		all.Write(b)
		count++
	}
	rep, err := tr101290.Analyze(bytes.NewReader(all.Bytes()))
	require.NoError(t, err)
	require.Zero(t, rep.Counters.Priority1()+rep.Counters.Priority2(), "TR 101 290: %+v %v", rep.Counters, rep.Errors)
	require.Equal(t, e.ch.Status(to).Errors, []engine.ChannelError{}, "no source errors")
	return count
}

func TestSoak48Hours(t *testing.T) {
	root := soakLibrary(t)
	dbPath := filepath.Join(t.TempDir(), "onair.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	e := openSoak(t, root, dbPath, clock)
	ctx := context.Background()

	// Every playlist over 48 hours, one per target duration: contiguous media
	// sequence, only finished segments, a window of 6.
	var lastFirst int64 = -1
	var lastDisc int64
	var segs []engine.SegmentRef
	lastMaintain := t0
	for now := t0.Add(30 * time.Second); now.Before(t0.Add(48 * time.Hour)); now = now.Add(4 * time.Second) {
		clock.Set(now)
		if now.Sub(lastMaintain) >= time.Minute { // as the manager does
			require.NoError(t, e.ch.Maintain(ctx))
			lastMaintain = now
		}
		refs, err := e.ch.Recent(ctx, now, 6)
		require.NoError(t, err)
		require.Len(t, refs, 6, "at %s", now.Sub(t0))
		for i, r := range refs {
			require.False(t, e.ch.WallTime(r.End).After(now), "segment %d ends in the future", r.Seq)
			require.LessOrEqual(t, r.End-r.Start, int64(4*engine.Hz+engine.Hz/2))
			if i > 0 {
				require.Equal(t, refs[i-1].Seq+1, r.Seq)
				require.Equal(t, refs[i-1].End, r.Start)
			}
		}
		require.GreaterOrEqual(t, refs[0].Seq, lastFirst)
		require.GreaterOrEqual(t, refs[0].DiscSeq, lastDisc)
		lastFirst, lastDisc = refs[0].Seq, refs[0].DiscSeq
		segs = refs
	}
	require.Greater(t, segs[5].Seq, int64(40000), "48 hours of 4 s segments")

	// Render the first ten minutes, ten minutes around the 33-bit wrap
	// (26.5 h of media time), and the last ten minutes.
	wrapAt := t0.Add(engine.TicksToDuration(wrap))
	n := renderSpan(t, e, t0, t0.Add(10*time.Minute))
	n += renderSpan(t, e, wrapAt.Add(-5*time.Minute), wrapAt.Add(5*time.Minute))
	n += renderSpan(t, e, t0.Add(48*time.Hour-10*time.Minute), t0.Add(48*time.Hour))
	require.Greater(t, n, 400)
	t.Logf("%d segments rendered and checked, last seq %d", n, segs[5].Seq)
}

// TestRestartDeterminism stops the engine and opens it again on the same
// database: the playlist continues where the clock says and a segment renders
// byte-identical.
func TestRestartDeterminism(t *testing.T) {
	root := soakLibrary(t)
	dbPath := filepath.Join(t.TempDir(), "onair.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := engine.NewVirtualClock(t0)
	ctx := context.Background()
	e := openSoak(t, root, dbPath, clock)
	clock.Set(t0.Add(90 * time.Second))
	before, err := e.ch.Recent(ctx, clock.Now(), 6)
	require.NoError(t, err)
	segBefore, err := e.ch.Render(ctx, before[3].Seq)
	require.NoError(t, err)
	// What the log says will be the newest segment at 10 minutes.
	want, err := e.ch.Recent(ctx, t0.Add(10*time.Minute), 6)
	require.NoError(t, err)
	e.close()

	clock.Set(t0.Add(10 * time.Minute))
	e2 := openSoak(t, root, dbPath, clock)
	require.Equal(t, t0, e2.ch.Epoch(), "the epoch is kept")
	after, err := e2.ch.Recent(ctx, clock.Now(), 6)
	require.NoError(t, err)
	require.Equal(t, want[5].Seq, after[5].Seq, "the sequence continues with the wall clock")
	require.Greater(t, after[5].Seq, before[5].Seq+100)
	again, err := e2.ch.Render(ctx, before[3].Seq)
	require.NoError(t, err)
	require.Equal(t, segBefore, again, "byte-identical after a restart")
}
