package cmaf_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/stretchr/testify/require"

	"onair/muxer/fmp4"
	"onair/outputs/cmaf"
	"onair/outputs/cmaf/cmaftest"
	"onair/outputs/hls"
)

// newOutput returns an Output over one fake channel "news" (2 s segments,
// a run of the other picture size every 5) at now, without prefetch.
func newOutput(t *testing.T, now time.Time, setup func(*cmaftest.Channel)) (*cmaf.Output, *cmaftest.Clock, *cmaftest.Channel) {
	t.Helper()
	clock := cmaftest.NewClock(now)
	ch := cmaftest.NewChannel("news", clock)
	if setup != nil {
		setup(ch)
	}
	out := cmaf.New(cmaf.Config{HLS: hls.Config{Prefetch: -1}}, cmaftest.Registry{"news": ch}, clock)
	t.Cleanup(func() { require.NoError(t, out.Close()) })
	return out, clock, ch
}

// do serves one request through h, returning the response and its body.
func do(t *testing.T, h http.Handler, path string, header map[string]string) (*reply, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return &reply{StatusCode: rec.Code, Header: rec.Header()}, rec.Body.Bytes()
}

// reply is the status and header of a response.
type reply struct {
	StatusCode int
	Header     http.Header
}

// videoSize parses an init segment with mediacommon and returns the size
// of its H.264 track, from the SPS of its avcC.
func videoSize(t *testing.T, data []byte) [2]int {
	t.Helper()
	var in mcfmp4.Init
	require.NoError(t, in.Unmarshal(bytes.NewReader(data)))
	for _, tr := range in.Tracks {
		if c, ok := tr.Codec.(*codecs.H264); ok {
			var sps h264.SPS
			require.NoError(t, sps.Unmarshal(c.SPS))
			return [2]int{sps.Width(), sps.Height()}
		}
	}
	t.Fatal("no H.264 track")
	return [2]int{}
}

// TestPlaylistGolden renders cmaf.m3u8 at fixed instants: the window's
// segments in runs, each after the EXT-X-MAP of its run's init segment, an
// EXT-X-DISCONTINUITY between runs; a run whose start has left the log is
// named by its first retained segment. gohlslib parses each.
func TestPlaylistGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		now   time.Duration
		setup func(*cmaftest.Channel)
		maps  []string
	}{
		{name: "discontinuity", now: 25 * time.Second, maps: []string{"cmaf/init-5.mp4", "cmaf/init-10.mp4"}},
		{name: "one_run", now: 40 * time.Second, setup: func(ch *cmaftest.Channel) { ch.RunLen = 10 }, maps: []string{"cmaf/init-10.mp4"}},
		{name: "retained_start", now: 25 * time.Second, setup: func(ch *cmaftest.Channel) { ch.RetainFrom = 8 }, maps: []string{"cmaf/init-8.mp4", "cmaf/init-10.mp4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, _ := newOutput(t, cmaftest.At(tc.now), tc.setup)
			res, body := do(t, out, "/channels/news/cmaf.m3u8", nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
			require.Equal(t, "application/vnd.apple.mpegurl", res.Header.Get("Content-Type"))
			golden(t, "cmaf_"+tc.name+".m3u8", body)

			pl, err := playlist.Unmarshal(body)
			require.NoError(t, err, "%s", body)
			_, ok := pl.(*playlist.Media)
			require.True(t, ok)
			// gohlslib keeps one EXT-X-MAP: read them from the lines.
			lines := strings.Split(string(body), "\n")
			var maps []string
			for i, line := range lines {
				uri, ok := strings.CutPrefix(line, "#EXT-X-MAP:URI=")
				if !ok {
					continue
				}
				maps = append(maps, strings.Trim(uri, `"`))
				if len(maps) > 1 {
					require.Equal(t, "#EXT-X-DISCONTINUITY", lines[i-1], "EXT-X-MAP %s not after a discontinuity", uri)
				}
			}
			require.Equal(t, len(maps)-1, strings.Count(string(body), "#EXT-X-DISCONTINUITY\n"))
			require.Equal(t, tc.maps, maps)
		})
	}
}

// TestInitPerRun: each run's init segment carries its run's picture size;
// a segment that does not start a run names no init segment; the muxed
// segment is the video fragment then the audio fragment; a DASH $Time$ name
// gives the fragment of the segment starting then.
func TestInitPerRun(t *testing.T) {
	out, _, ch := newOutput(t, cmaftest.At(25*time.Second), nil)
	for _, tc := range []struct {
		path string
		size [2]int
	}{
		{"init-5.mp4", cmaftest.Sizes[1]},
		{"v/init-5.mp4", cmaftest.Sizes[1]},
		{"init-10.mp4", cmaftest.Sizes[0]},
		{"v/init-10.mp4", cmaftest.Sizes[0]},
	} {
		res, body := do(t, out, "/channels/news/cmaf/"+tc.path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", tc.path, body)
		require.Equal(t, tc.size, videoSize(t, body), tc.path)
	}
	res, body := do(t, out, "/channels/news/cmaf/a/init-10.mp4", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	require.Equal(t, "audio/mp4", res.Header.Get("Content-Type"))

	for path, want := range map[string]int{
		"cmaf/init-6.mp4":  http.StatusNotFound,           // not a run start
		"cmaf/init-15.mp4": http.StatusServiceUnavailable, // in the future
		"cmaf/12.m4s":      http.StatusServiceUnavailable,
		"cmaf/x/10.m4s":    http.StatusNotFound,
		"cmaf/v/t1.m4s":    http.StatusNotFound,
		"cmaf/v/tx.m4s":    http.StatusBadRequest,
	} {
		res, body := do(t, out, "/channels/news/"+path, nil)
		require.Equal(t, want, res.StatusCode, "%s: %s", path, body)
	}

	_, muxed := do(t, out, "/channels/news/cmaf/10.m4s", nil)
	_, v := do(t, out, "/channels/news/cmaf/v/10.m4s", nil)
	_, a := do(t, out, "/channels/news/cmaf/a/10.m4s", nil)
	require.NotEmpty(t, v)
	require.NotEmpty(t, a)
	require.Equal(t, muxed, append(append([]byte(nil), v...), a...))

	at := cmaf.Ticks(ch.Epoch(), ch.Info(10).Start)
	require.Equal(t, int64(10*2*fmp4.Timescale), at)
	res, byTime := do(t, out, "/channels/news/cmaf/v/t"+strconv.FormatInt(at, 10)+".m4s", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", byTime)
	require.Equal(t, v, byTime)
}

// TestViewers: a client polling cmaf.m3u8 is a viewer until it stops for
// three target durations (6 s); fragment and init requests make none.
func TestViewers(t *testing.T) {
	out, clock, _ := newOutput(t, cmaftest.At(25*time.Second), nil)
	do(t, out, "/channels/news/cmaf/10.m4s", nil)
	do(t, out, "/channels/news/cmaf/init-10.mp4", nil)
	require.Zero(t, out.Viewers("news"))
	for _, agent := range []string{"tv", "phone", "tv"} {
		res, _ := do(t, out, "/channels/news/cmaf.m3u8", map[string]string{"User-Agent": agent})
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.Equal(t, 2, out.Viewers("news"))
	require.Zero(t, out.Viewers("nope"))
	clock.Set(cmaftest.At(29 * time.Second))
	do(t, out, "/channels/news/cmaf.m3u8", map[string]string{"User-Agent": "phone"})
	clock.Set(cmaftest.At(31500 * time.Millisecond)) // 6.5 s after the tv's poll
	require.Equal(t, 1, out.Viewers("news"))
	clock.Set(cmaftest.At(36 * time.Second))
	require.Zero(t, out.Viewers("news"))
}
