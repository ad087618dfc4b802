package dash_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/outputs/cmaf"
	"onair/outputs/cmaf/cmaftest"
	"onair/outputs/dash"
	"onair/outputs/hls"
)

// newOutput returns a DASH Output over the CMAF Output of one fake channel
// "news" (2 s segments, a run of the other picture size every 5) at now.
func newOutput(t *testing.T, now time.Time, setup func(*cmaftest.Channel)) (*dash.Output, *cmaftest.Clock) {
	t.Helper()
	clock := cmaftest.NewClock(now)
	ch := cmaftest.NewChannel("news", clock)
	if setup != nil {
		setup(ch)
	}
	frags := cmaf.New(cmaf.Config{HLS: hls.Config{Prefetch: -1}}, cmaftest.Registry{"news": ch}, clock)
	t.Cleanup(func() { require.NoError(t, frags.Close()) })
	return dash.New(dash.Config{}, frags, clock), clock
}

func get(t *testing.T, h http.Handler, path, agent string) (*reply, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if agent != "" {
		req.Header.Set("User-Agent", agent)
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

type mpdDoc struct {
	Type    string `xml:"type,attr"`
	AST     string `xml:"availabilityStartTime,attr"`
	Periods []struct {
		ID    string `xml:"id,attr"`
		Start string `xml:"start,attr"`
		Sets  []struct {
			ContentType string `xml:"contentType,attr"`
			Template    struct {
				PTO  int64  `xml:"presentationTimeOffset,attr"`
				Init string `xml:"initialization,attr"`
				S    []struct {
					T int64 `xml:"t,attr"`
					D int64 `xml:"d,attr"`
					R int   `xml:"r,attr"`
				} `xml:"SegmentTimeline>S"`
			} `xml:"SegmentTemplate"`
			Reps []struct {
				Width  int `xml:"width,attr"`
				Height int `xml:"height,attr"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
}

// TestMPDGolden renders the MPD at fixed instants: one Period per
// discontinuity run of the window, each starting at its run's first
// segment on the channel clock (also when that segment has left the
// window), with its own init segments and picture size, and a
// SegmentTimeline of the run's segments in the window.
func TestMPDGolden(t *testing.T) {
	type period struct {
		id, start, init string
		pto, t0         int64
		segs            int
		size            [2]int
	}
	for _, tc := range []struct {
		name    string
		now     time.Duration
		setup   func(*cmaftest.Channel)
		periods []period
	}{
		{name: "discontinuity", now: 25 * time.Second, periods: []period{
			{id: "p5", start: "PT10S", init: "cmaf/$RepresentationID$/init-5.mp4", pto: 900000, t0: 1080000, segs: 4, size: cmaftest.Sizes[1]},
			{id: "p10", start: "PT20S", init: "cmaf/$RepresentationID$/init-10.mp4", pto: 1800000, t0: 1800000, segs: 2, size: cmaftest.Sizes[0]},
		}},
		{name: "retained_start", now: 25 * time.Second, setup: func(ch *cmaftest.Channel) { ch.RetainFrom = 8 }, periods: []period{
			{id: "p8", start: "PT16S", init: "cmaf/$RepresentationID$/init-8.mp4", pto: 1440000, t0: 1440000, segs: 2, size: cmaftest.Sizes[1]},
			{id: "p10", start: "PT20S", init: "cmaf/$RepresentationID$/init-10.mp4", pto: 1800000, t0: 1800000, segs: 2, size: cmaftest.Sizes[0]},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := newOutput(t, cmaftest.At(tc.now), tc.setup)
			res, body := get(t, out, "/channels/news/manifest.mpd", "")
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
			require.Equal(t, "application/dash+xml", res.Header.Get("Content-Type"))
			golden(t, "manifest_"+tc.name+".mpd", body)

			var doc mpdDoc
			require.NoError(t, xml.Unmarshal(body, &doc))
			require.Equal(t, "dynamic", doc.Type)
			require.Equal(t, "2026-01-01T00:00:00.000Z", doc.AST)
			require.Len(t, doc.Periods, len(tc.periods))
			for i, want := range tc.periods {
				p := doc.Periods[i]
				require.Equal(t, want.id, p.ID)
				require.Equal(t, want.start, p.Start)
				require.Len(t, p.Sets, 2)
				for _, set := range p.Sets {
					tpl := set.Template
					require.Equal(t, want.init, tpl.Init)
					require.Equal(t, want.pto, tpl.PTO, "presentationTimeOffset is the period start on the channel clock")
					require.Len(t, tpl.S, 1)
					require.Equal(t, want.t0, tpl.S[0].T)
					require.Equal(t, int64(180000), tpl.S[0].D)
					require.Equal(t, want.segs-1, tpl.S[0].R)
				}
				require.Equal(t, "video", p.Sets[0].ContentType)
				require.Equal(t, want.size, [2]int{p.Sets[0].Reps[0].Width, p.Sets[0].Reps[0].Height})
			}
		})
	}
}

// TestStatuses: an unknown channel is 404; a channel without a segment yet
// is 503 with Retry-After.
func TestStatuses(t *testing.T) {
	out, _ := newOutput(t, cmaftest.At(time.Second), nil)
	res, _ := get(t, out, "/channels/nope/manifest.mpd", "")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = get(t, out, "/channels/news/manifest.mpd", "")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.NotEmpty(t, res.Header.Get("Retry-After"))
}

// TestViewers: a client polling the MPD is a viewer until it stops for
// three target durations (6 s); a failed request makes none.
func TestViewers(t *testing.T) {
	out, clock := newOutput(t, cmaftest.At(time.Second), nil)
	res, _ := get(t, out, "/channels/news/manifest.mpd", "early")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.Zero(t, out.Viewers("news"))

	clock.Set(cmaftest.At(25 * time.Second))
	for _, agent := range []string{"tv", "phone", "tv"} {
		res, _ = get(t, out, "/channels/news/manifest.mpd", agent)
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.Equal(t, 2, out.Viewers("news"))
	require.Zero(t, out.Viewers("nope"))
	clock.Set(cmaftest.At(29 * time.Second))
	get(t, out, "/channels/news/manifest.mpd", "phone")
	clock.Set(cmaftest.At(31500 * time.Millisecond)) // 6.5 s after the tv's poll
	require.Equal(t, 1, out.Viewers("news"))
	clock.Set(cmaftest.At(36 * time.Second))
	require.Zero(t, out.Viewers("news"))
}
