package hls

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func requireCORS(t *testing.T, res *reply) {
	t.Helper()
	require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "ETag")
	require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "Retry-After")
}

func TestPlaylistHeaders(t *testing.T) {
	for _, tc := range []struct {
		target     time.Duration
		wantMaxAge string
	}{
		{target: 4 * time.Second, wantMaxAge: "max-age=2"},
		{target: 1 * time.Second, wantMaxAge: "max-age=1"},
		{target: 2500 * time.Millisecond, wantMaxAge: "max-age=1"},
		{target: 10 * time.Second, wantMaxAge: "max-age=5"},
	} {
		for _, path := range []string{"/channels/news/index.m3u8", "/channels/news/master.m3u8"} {
			t.Run(tc.target.String()+path, func(t *testing.T) {
				h := newHarness(t, Config{Prefetch: -1}, at(time.Hour), func(ch *fakeChannel) {
					ch.dur, ch.target = tc.target, tc.target
				})

				res, plain := h.do(http.MethodGet, path, map[string]string{"Accept-Encoding": "identity"})
				require.Equal(t, http.StatusOK, res.StatusCode)
				require.Equal(t, "application/vnd.apple.mpegurl", res.Header.Get("Content-Type"))
				require.Equal(t, tc.wantMaxAge, res.Header.Get("Cache-Control"))
				require.Equal(t, "Accept-Encoding", res.Header.Get("Vary"))
				require.Empty(t, res.Header.Get("Content-Encoding"))
				require.True(t, bytes.HasPrefix(plain, []byte("#EXTM3U\n")))
				requireCORS(t, res)

				// gzip round trip (set by hand, so the client does not
				// decompress it behind our back).
				res, zipped := h.do(http.MethodGet, path, map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.5"})
				require.Equal(t, http.StatusOK, res.StatusCode)
				require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
				require.Equal(t, "Accept-Encoding", res.Header.Get("Vary"))
				require.Equal(t, int64(len(zipped)), res.ContentLength)
				zr, err := gzip.NewReader(bytes.NewReader(zipped))
				require.NoError(t, err)
				unzipped, err := io.ReadAll(zr)
				require.NoError(t, err)
				require.Equal(t, string(plain), string(unzipped))

				res, body := h.do(http.MethodGet, path, map[string]string{"Accept-Encoding": "gzip;q=0, *"})
				require.Empty(t, res.Header.Get("Content-Encoding"))
				require.Equal(t, string(plain), string(body))

				res, body = h.do(http.MethodHead, path, map[string]string{"Accept-Encoding": "identity"})
				require.Equal(t, http.StatusOK, res.StatusCode)
				require.Empty(t, body)
				require.Equal(t, int64(len(plain)), res.ContentLength)
				require.Equal(t, tc.wantMaxAge, res.Header.Get("Cache-Control"))
			})
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip, deflate, br", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"br", false},
		{"gzip;q=bogus", false},
	} {
		t.Run(tc.header, func(t *testing.T) {
			require.Equal(t, tc.want, acceptsGzip([]string{tc.header}))
		})
	}
}

func TestPreflight(t *testing.T) {
	h := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), nil)
	for _, path := range []string{"/channels/news/master.m3u8", "/channels/news/index.m3u8", "/channels/news/seg/20.ts"} {
		t.Run(path, func(t *testing.T) {
			res, body := h.do(http.MethodOptions, path, map[string]string{
				"Origin":                         "https://player.example",
				"Access-Control-Request-Method":  "GET",
				"Access-Control-Request-Headers": "range, x-custom",
			})
			require.Equal(t, http.StatusNoContent, res.StatusCode)
			require.Empty(t, body)
			requireCORS(t, res)
			require.Equal(t, "GET, HEAD, OPTIONS", res.Header.Get("Access-Control-Allow-Methods"))
			require.Equal(t, "range, x-custom", res.Header.Get("Access-Control-Allow-Headers"))
			require.NotEmpty(t, res.Header.Get("Access-Control-Max-Age"))
		})
	}
	res, _ := h.do(http.MethodOptions, "/channels/news/index.m3u8", map[string]string{"Access-Control-Request-Headers": "x-a(b)"})
	require.Equal(t, "Range, If-None-Match, If-Modified-Since, Cache-Control", res.Header.Get("Access-Control-Allow-Headers"))
}

func TestSegmentResponse(t *testing.T) {
	h := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), nil)

	res, body := h.get("/channels/news/seg/20.ts")
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	require.Equal(t, segmentBytes(20), body)
	require.Equal(t, "video/mp2t", res.Header.Get("Content-Type"))
	require.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
	require.Equal(t, int64(len(body)), res.ContentLength)
	etag := res.Header.Get("ETag")
	require.Regexp(t, regexp.MustCompile(`^"[0-9a-f]{24}"$`), etag)
	requireCORS(t, res)

	res, body = h.do(http.MethodGet, "/channels/news/seg/20.ts", map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusNotModified, res.StatusCode)
	require.Empty(t, body)
	require.Equal(t, etag, res.Header.Get("ETag"))

	res, body = h.do(http.MethodGet, "/channels/news/seg/20.ts", map[string]string{"If-None-Match": `"other", ` + etag})
	require.Equal(t, http.StatusNotModified, res.StatusCode)
	require.Empty(t, body)

	res, body = h.do(http.MethodGet, "/channels/news/seg/20.ts", map[string]string{"If-None-Match": `"other"`})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, segmentBytes(20), body)

	res, body = h.do(http.MethodHead, "/channels/news/seg/20.ts", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Empty(t, body)
	require.Equal(t, int64(len(segmentBytes(20))), res.ContentLength)
	require.Equal(t, etag, res.Header.Get("ETag"))
	require.Equal(t, "video/mp2t", res.Header.Get("Content-Type"))

	res, body = h.do(http.MethodGet, "/channels/news/seg/20.ts", map[string]string{"Range": "bytes=0-187"})
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	require.Equal(t, segmentBytes(20)[:188], body)

	other, _ := h.get("/channels/news/seg/21.ts")
	require.NotEqual(t, etag, other.Header.Get("ETag"))

	// The same bytes have the same ETag after a restart.
	h2 := newHarness(t, Config{Prefetch: -1}, at(100*time.Second), nil)
	res, _ = h2.get("/channels/news/seg/20.ts")
	require.Equal(t, etag, res.Header.Get("ETag"))

	s := h.out.Stats()
	require.Equal(t, uint64(2), s.Generations)
	require.Equal(t, uint64(len(segmentBytes(20))*2+188+len(segmentBytes(21))), s.BytesServed)
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		now        time.Duration
		setup      func(*fakeChannel)
		path       string
		want       int
		retryAfter string
	}{
		{name: "unknown channel playlist", now: 100 * time.Second, path: "/channels/nope/index.m3u8", want: 404},
		{name: "unknown channel master", now: 100 * time.Second, path: "/channels/nope/master.m3u8", want: 404},
		{name: "unknown channel segment", now: 100 * time.Second, path: "/channels/nope/seg/20.ts", want: 404},
		{name: "not a number", now: 100 * time.Second, path: "/channels/news/seg/abc.ts", want: 400},
		{name: "negative", now: 100 * time.Second, path: "/channels/news/seg/-1.ts", want: 400},
		{name: "plus sign", now: 100 * time.Second, path: "/channels/news/seg/+5.ts", want: 400},
		{name: "leading zeros", now: 100 * time.Second, path: "/channels/news/seg/020.ts", want: 400},
		{name: "overflow", now: 100 * time.Second, path: "/channels/news/seg/99999999999999999999.ts", want: 400},
		{name: "empty number", now: 100 * time.Second, path: "/channels/news/seg/.ts", want: 400},
		{name: "other extension", now: 100 * time.Second, path: "/channels/news/seg/20.mp4", want: 404},
		{name: "newest", now: 100 * time.Second, path: "/channels/news/seg/24.ts", want: 200},
		{name: "next", now: 100 * time.Second, path: "/channels/news/seg/25.ts", want: 503, retryAfter: "4"},
		{name: "next, mid-segment", now: 101500 * time.Millisecond, path: "/channels/news/seg/25.ts", want: 503, retryAfter: "3"},
		{name: "next, 1ms before its end", now: 103999 * time.Millisecond, path: "/channels/news/seg/25.ts", want: 503, retryAfter: "1"},
		{name: "next, at its end", now: 104 * time.Second, path: "/channels/news/seg/25.ts", want: 200},
		{name: "after next", now: 100 * time.Second, path: "/channels/news/seg/26.ts", want: 503, retryAfter: "8"},
		{name: "first of window", now: 400 * time.Second, path: "/channels/news/seg/94.ts", want: 200},
		{name: "within 2 windows of time", now: 400 * time.Second, path: "/channels/news/seg/87.ts", want: 200},
		{name: "older than 2 windows", now: 400 * time.Second, path: "/channels/news/seg/86.ts", want: 404},
		{name: "long ago", now: 400 * time.Second, path: "/channels/news/seg/0.ts", want: 404},
		{
			name: "long segments: within 2 windows of segments", now: 800 * time.Second, path: "/channels/news/seg/88.ts", want: 200,
			setup: func(ch *fakeChannel) { ch.dur, ch.target = 8*time.Second, 4*time.Second },
		},
		{
			name: "long segments: older than 2 windows of segments", now: 800 * time.Second, path: "/channels/news/seg/87.ts", want: 404,
			setup: func(ch *fakeChannel) { ch.dur, ch.target = 8*time.Second, 4*time.Second },
		},
		{
			name: "before the retained log", now: 400 * time.Second, path: "/channels/news/seg/94.ts", want: 404,
			setup: func(ch *fakeChannel) { ch.retainFrom = 95 },
		},
		{name: "playlist before the first segment", now: 2 * time.Second, path: "/channels/news/index.m3u8", want: 503, retryAfter: "4"},
		{name: "master before the first segment", now: 2 * time.Second, path: "/channels/news/master.m3u8", want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Prefetch: -1}, at(tc.now), tc.setup)
			res, body := h.get(tc.path)
			require.Equal(t, tc.want, res.StatusCode, "%s", body)
			require.Equal(t, tc.retryAfter, res.Header.Get("Retry-After"))
			requireCORS(t, res)
			if tc.want != 200 {
				require.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
				require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
				require.NotEmpty(t, strings.TrimSpace(string(body)))
				require.Less(t, len(body), 200)
			}
		})
	}
}

// TestSegmentErrorsFromChannel covers a channel whose Segment disagrees with
// SegmentEnd: its sentinel errors still map to 404 and 503.
func TestSegmentErrorsFromChannel(t *testing.T) {
	clock := newFakeClock(at(100 * time.Second))
	ch := newFakeChannel("news", clock)
	reg := RegistryFunc(func(id string) (Channel, bool) {
		if id != "news" {
			return nil, false
		}
		return lyingChannel{ch}, true
	})
	out := New(Config{Prefetch: -1}, reg, clock)
	defer out.Close()
	for _, tc := range []struct {
		path       string
		want       int
		retryAfter string
	}{
		{"/channels/news/seg/19.ts", 404, ""},
		{"/channels/news/seg/24.ts", 503, "1"},
		{"/channels/news/seg/23.ts", 500, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptestRecorder(out, http.MethodGet, tc.path)
			require.Equal(t, tc.want, rec.Code)
			require.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"))
		})
	}
	require.Equal(t, uint64(3), out.Stats().GenerationErrors)
}

// lyingChannel's Segment fails for segments SegmentEnd calls available:
// segments before 20 are gone, 24 is not yet there, 23 fails.
type lyingChannel struct{ *fakeChannel }

func (l lyingChannel) Segment(ctx context.Context, seq int64) ([]byte, error) {
	switch {
	case seq < 20:
		return nil, fmt.Errorf("log trimmed: %w", ErrGone)
	case seq == 24:
		return nil, fmt.Errorf("clock skew: %w", ErrNotYet)
	case seq == 23:
		return nil, errors.New("asset unreadable")
	}
	return l.fakeChannel.Segment(ctx, seq)
}

func httptestRecorder(out *Output, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	out.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestConcurrentPlaylistRequests(t *testing.T) {
	h := newHarness(t, Config{}, at(100*time.Second), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				rec := httptestRecorder(h.out, http.MethodGet, "/channels/news/index.m3u8")
				if rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
				rec = httptestRecorder(h.out, http.MethodGet, "/channels/news/seg/24.ts")
				if rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, h.ch().Calls(24))
}
