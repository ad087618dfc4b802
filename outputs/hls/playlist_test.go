package hls

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"
)

// parseMedia parses a media playlist with gohlslib, proving it is valid HLS.
func parseMedia(t *testing.T, body []byte) *playlist.Media {
	t.Helper()
	pl, err := playlist.Unmarshal(body)
	require.NoError(t, err, "%s", body)
	m, ok := pl.(*playlist.Media)
	require.True(t, ok, "not a media playlist: %T", pl)
	return m
}

// renderIndex renders index.m3u8 of ch at now through the handler.
func renderIndex(t *testing.T, out *Output, clock *fakeClock, now time.Time) (int, []byte) {
	t.Helper()
	clock.Set(now)
	rec := httptest.NewRecorder()
	out.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/channels/news/index.m3u8", nil))
	return rec.Code, rec.Body.Bytes()
}

func TestMediaPlaylistGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		now   time.Duration
		setup func(*fakeChannel)
		// first and last are the window's first and last Seq.
		first, last int64
	}{
		{name: "discontinuity_inside", now: 100 * time.Second, first: 19, last: 24},
		{name: "discontinuity_first", now: 104 * time.Second, first: 20, last: 25},
		{name: "discontinuity_gone", now: 108 * time.Second, first: 21, last: 26},
		{name: "short_history", now: 10 * time.Second, first: 0, last: 1},
		{name: "retained_start", now: 100 * time.Second, setup: func(ch *fakeChannel) { ch.retainFrom = 22 }, first: 22, last: 24},
		{name: "long_segment", now: 100 * time.Second, setup: func(ch *fakeChannel) {
			ch.extra = map[int64]time.Duration{20: 2600 * time.Millisecond}
		}, first: 18, last: 23},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Prefetch: -1}, at(tc.now), tc.setup)
			res, body := h.do(http.MethodGet, "/channels/news/index.m3u8", map[string]string{"Accept-Encoding": "identity"})
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
			golden(t, "index_"+tc.name+".m3u8", body)

			m := parseMedia(t, body)
			require.Equal(t, int(tc.first), m.MediaSequence)
			require.Len(t, m.Segments, int(tc.last-tc.first+1))
			require.False(t, m.Endlist)
			require.Equal(t, fmt.Sprintf("seg/%d.ts", tc.last), m.Segments[len(m.Segments)-1].URI)
		})
	}
}

// TestMediaPlaylistSliding renders the playlist every 250 ms over 20
// discontinuities and checks every rule of the window against the fake's
// arithmetic, and, between consecutive playlists, that every segment keeps
// its discontinuity number (RFC 8216, 6.2.1): DISCONTINUITY-SEQUENCE grows by
// exactly the tags that left the window.
func TestMediaPlaylistSliding(t *testing.T) {
	clock := newFakeClock(epoch)
	ch := newFakeChannel("news", clock)
	out := New(Config{Prefetch: -1}, fakeRegistry{"news": ch}, clock)
	defer out.Close()

	var prev *playlist.Media
	increments := 0
	for now := epoch; now.Before(at(830 * time.Second)); now = now.Add(250 * time.Millisecond) {
		code, body := renderIndex(t, out, clock, now)
		last := ch.lastEnded(now)
		if last < 0 {
			require.Equal(t, http.StatusServiceUnavailable, code, "at %s", now)
			continue
		}
		require.Equal(t, http.StatusOK, code, "at %s", now)
		m := parseMedia(t, body)

		first := max(0, last-5)
		require.Equal(t, int(first), m.MediaSequence, "at %s", now)
		require.Len(t, m.Segments, int(last-first+1), "at %s", now)
		require.Equal(t, 4, m.TargetDuration)
		require.NotNil(t, m.DiscontinuitySequence)
		disc := *m.DiscontinuitySequence
		require.Equal(t, int(ch.info(first).DiscSeq), disc, "at %s", now)
		require.False(t, m.Segments[0].Discontinuity, "no tag before the first segment, at %s", now)
		for i, s := range m.Segments {
			k := first + int64(i)
			want := ch.info(k)
			require.Equal(t, fmt.Sprintf("seg/%d.ts", k), s.URI)
			require.Equal(t, want.Discontinuity && i > 0, s.Discontinuity, "segment %d at %s", k, now)
			if s.Discontinuity {
				disc++
			}
			require.Equal(t, int(want.DiscSeq), disc, "discontinuity number of segment %d at %s", k, now)
			require.NotNil(t, s.DateTime)
			require.True(t, want.Start.Equal(*s.DateTime), "PDT of %d: %s, want %s", k, s.DateTime, want.Start)
			require.Equal(t, want.Duration, s.Duration)
			require.False(t, want.End().After(now), "segment %d ends after now %s", k, now)
		}

		if prev != nil && prev.MediaSequence != m.MediaSequence {
			// Tags of prev before segments that are no longer listed, or
			// before the new first one (which no longer carries a tag).
			left := 0
			for i, s := range prev.Segments {
				if prev.MediaSequence+i <= m.MediaSequence && s.Discontinuity {
					left++
				}
			}
			require.Equal(t, *prev.DiscontinuitySequence+left, *m.DiscontinuitySequence, "at %s", now)
			if left > 0 {
				increments++
			}
		}
		prev = m
	}
	require.Equal(t, 20, increments, "DISCONTINUITY-SEQUENCE increments")
}

func TestTargetDuration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target time.Duration
		extra  map[int64]time.Duration
		now    time.Duration
		want   int
	}{
		{name: "exact", target: 4 * time.Second, now: 100 * time.Second, want: 4},
		{name: "rounded up", target: 3500 * time.Millisecond, now: 100 * time.Second, want: 4},
		{name: "long segment in window", target: 4 * time.Second, extra: map[int64]time.Duration{22: 2600 * time.Millisecond}, now: 100 * time.Second, want: 7},
		{name: "long segment left window", target: 4 * time.Second, extra: map[int64]time.Duration{22: 2600 * time.Millisecond}, now: 140 * time.Second, want: 4},
		{name: "4.4s rounds to 4", target: 4 * time.Second, extra: map[int64]time.Duration{22: 400 * time.Millisecond}, now: 100 * time.Second, want: 4},
		{name: "4.5s rounds to 5", target: 4 * time.Second, extra: map[int64]time.Duration{22: 500 * time.Millisecond}, now: 100 * time.Second, want: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(at(tc.now))
			ch := newFakeChannel("news", clock)
			ch.target, ch.extra = tc.target, tc.extra
			out := New(Config{Prefetch: -1}, fakeRegistry{"news": ch}, clock)
			defer out.Close()
			code, body := renderIndex(t, out, clock, at(tc.now))
			require.Equal(t, http.StatusOK, code)
			m := parseMedia(t, body)
			require.Equal(t, tc.want, m.TargetDuration)
			for _, s := range m.Segments {
				require.LessOrEqual(t, int(s.Duration.Round(time.Second)/time.Second), m.TargetDuration)
			}
		})
	}
}

func TestWindowSize(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         Config
		dur, target time.Duration
		wantN       int
	}{
		{name: "defaults", dur: 4 * time.Second, wantN: 6},
		{name: "short segments need 3 target durations", dur: time.Second, target: 4 * time.Second, wantN: 12},
		{name: "more segments", cfg: Config{WindowSegments: 10}, dur: 4 * time.Second, wantN: 10},
		{name: "more durations", cfg: Config{MinWindowDurations: 8}, dur: 4 * time.Second, wantN: 8},
		{name: "very short segments", dur: 100 * time.Millisecond, target: 4 * time.Second, wantN: 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(at(time.Hour))
			ch := newFakeChannel("news", clock)
			ch.dur, ch.target = tc.dur, tc.target
			cfg := tc.cfg
			cfg.Prefetch = -1
			out := New(cfg, fakeRegistry{"news": ch}, clock)
			defer out.Close()
			code, body := renderIndex(t, out, clock, at(time.Hour))
			require.Equal(t, http.StatusOK, code)
			m := parseMedia(t, body)
			require.Len(t, m.Segments, tc.wantN)
			require.Equal(t, fmt.Sprintf("seg/%d.ts", ch.lastEnded(at(time.Hour))), m.Segments[len(m.Segments)-1].URI)
		})
	}
}

func TestMultivariantPlaylist(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra func(Channel) []StreamInf
	}{
		{name: "ts_only"},
		{name: "with_cmaf", extra: func(ch Channel) []StreamInf {
			v := ch.Variant()
			v.Bandwidth += 50_000
			return []StreamInf{{URI: "cmaf.m3u8", Variant: v}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Prefetch: -1, ExtraVariants: tc.extra}, at(100*time.Second), nil)
			res, body := h.do(http.MethodGet, "/channels/news/master.m3u8", map[string]string{"Accept-Encoding": "identity"})
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Equal(t, "application/vnd.apple.mpegurl", res.Header.Get("Content-Type"))
			golden(t, "master_"+tc.name+".m3u8", body)

			pl, err := playlist.Unmarshal(body)
			require.NoError(t, err)
			mv, ok := pl.(*playlist.Multivariant)
			require.True(t, ok, "%T", pl)
			require.True(t, mv.IndependentSegments)
			require.Equal(t, "index.m3u8", mv.Variants[0].URI)
			require.Equal(t, 1_500_000, mv.Variants[0].Bandwidth)
			require.Equal(t, []string{"avc1.42c01e", "mp4a.40.2"}, mv.Variants[0].Codecs)
			require.Equal(t, "640x360", mv.Variants[0].Resolution)
			require.NotNil(t, mv.Variants[0].FrameRate)
			require.InDelta(t, 25.0, *mv.Variants[0].FrameRate, 1e-9)
			if tc.extra != nil {
				require.Len(t, mv.Variants, 2)
				require.Equal(t, "cmaf.m3u8", mv.Variants[1].URI)
			} else {
				require.Len(t, mv.Variants, 1)
			}
		})
	}
}

func TestValidTail(t *testing.T) {
	now := at(time.Hour)
	seg := func(seq, disc int64, start, dur time.Duration) SegmentInfo {
		return SegmentInfo{Seq: seq, DiscSeq: disc, Start: at(start), Duration: dur}
	}
	for _, tc := range []struct {
		name      string
		segs      []SegmentInfo
		wantFirst int64
		wantLen   int
		wantCut   bool
	}{
		{name: "empty"},
		{name: "contiguous", segs: []SegmentInfo{seg(1, 0, 0, 4*time.Second), seg(2, 0, 4*time.Second, 4*time.Second)}, wantFirst: 1, wantLen: 2},
		{name: "gap", segs: []SegmentInfo{seg(1, 0, 0, 4*time.Second), seg(3, 0, 8*time.Second, 4*time.Second), seg(4, 0, 12*time.Second, 4*time.Second)}, wantFirst: 3, wantLen: 2, wantCut: true},
		{name: "disc decreases", segs: []SegmentInfo{seg(1, 2, 0, 4*time.Second), seg(2, 1, 4*time.Second, 4*time.Second)}, wantFirst: 2, wantLen: 1, wantCut: true},
		{name: "zero duration", segs: []SegmentInfo{seg(1, 0, 0, 4*time.Second), seg(2, 0, 4*time.Second, 0)}, wantFirst: 1, wantLen: 1, wantCut: true},
		{name: "ends in the future", segs: []SegmentInfo{seg(1, 0, 0, 4*time.Second), seg(2, 0, time.Hour, 4*time.Second)}, wantFirst: 1, wantLen: 1, wantCut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tail, cut := validTail(tc.segs, now)
			require.Len(t, tail, tc.wantLen)
			require.Equal(t, tc.wantCut, cut)
			if tc.wantLen > 0 {
				require.Equal(t, tc.wantFirst, tail[0].Seq)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	require.Equal(t, "2026-01-01T00:00:04.000Z", formatPDT(at(4*time.Second)))
	require.Equal(t, "2026-01-01T00:00:04.123Z", formatPDT(at(4123400*time.Microsecond)))
	require.Equal(t, "2026-01-01T00:00:04.124Z", formatPDT(at(4123600*time.Microsecond).In(time.FixedZone("CET", 3600))))

	var b bytes.Buffer
	writeMediaPlaylist(&b, window{target: 4, segs: []SegmentInfo{
		{Seq: 7, Start: at(0), Duration: 3999600 * time.Microsecond, Title: "  News,\nat\tnine  "},
	}})
	require.Contains(t, b.String(), "#EXTINF:4.000,News, at nine\nseg/7.ts\n")

	require.Equal(t, "", cleanTitle(""))
	require.Len(t, cleanTitle(strings.Repeat("é", 300)), 200)
	require.Equal(t, "avc1.42c01e", cleanQuoted(`avc1."42c01e`+"\n"))
	require.Equal(t, 1, baseTarget(0))
	require.Equal(t, 4, baseTarget(3001*time.Millisecond))
	require.Equal(t, 7, roundedSeconds(6600*time.Millisecond))
	require.Equal(t, 6, roundedSeconds(6499*time.Millisecond))
}
