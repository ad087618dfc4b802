package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/testmedia"
)

func scrapeText(t *testing.T, h http.Handler) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

func TestHTTPMetricsAndRequestIDs(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /channels/{id}/seg/{file}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("file") == "9.ts" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("segment"))
	})
	h := m.Wrap(mux, HTTPOptions{Now: time.Now})

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/channels/news/seg/1.ts", 200},
		{"/channels/news/seg/2.ts", 200},
		{"/channels/news/seg/9.ts", 500},
		{"/random/thing", 404},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.code, rec.Code, tc.path)
		require.NotEmpty(t, rec.Header().Get(RequestIDHeader))
	}
	// A sane id from the client is kept; a silly one replaced.
	req := httptest.NewRequest(http.MethodGet, "/channels/news/seg/1.ts", nil)
	req.Header.Set(RequestIDHeader, "abc-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "abc-123", rec.Header().Get(RequestIDHeader))
	req.Header.Set(RequestIDHeader, "bad id\n")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.NotEqual(t, "bad id\n", rec.Header().Get(RequestIDHeader))

	text := scrapeText(t, h)
	require.Contains(t, text, `onair_http_requests_total{code="200",route="GET /channels/{id}/seg/{file}"} 4`)
	require.Contains(t, text, `onair_http_requests_total{code="500",route="GET /channels/{id}/seg/{file}"} 1`)
	require.Contains(t, text, `onair_http_requests_total{code="404",route="unmatched"} 1`)
	require.Contains(t, text, `onair_segments_served_total{channel="news",output="hls"} 4`)
	require.Contains(t, text, `onair_http_request_duration_seconds_bucket`)
	require.Contains(t, text, "go_goroutines")
}

func TestPprofAdminOnly(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	for _, tc := range []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"remote without token", "", "192.0.2.1:1234", "", http.StatusForbidden},
		{"loopback without token", "", "127.0.0.1:1234", "", http.StatusOK},
		{"token missing", "s3cret", "127.0.0.1:1234", "", http.StatusUnauthorized},
		{"token wrong", "s3cret", "192.0.2.1:1234", "Bearer nope", http.StatusUnauthorized},
		{"token right", "s3cret", "192.0.2.1:1234", "Bearer s3cret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := m.Wrap(http.NotFoundHandler(), HTTPOptions{Now: time.Now, AdminToken: tc.token})
			req := httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil)
			req.RemoteAddr = tc.remote
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code)
			if tc.want == http.StatusOK {
				require.Contains(t, rec.Body.String(), "goroutine")
			}
		})
	}
}

func TestSegmentObserverAndScrapeSources(t *testing.T) {
	m := New(Options{})
	p := filepath.Join(t.TempDir(), "a.ts")
	require.NoError(t, testmedia.WriteFile(p, testmedia.Options{Width: 320, Height: 180, Duration: 2 * time.Second, Seed: 1, Label: "x"}))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	m.SegmentRequested("news", false)
	m.SegmentRequested("news", true)
	m.SegmentRequested("news", true)
	m.SegmentGenerated("news", 8, data, 3*time.Millisecond, nil)
	m.SegmentGenerated("news", 9, data, 3*time.Millisecond, nil) // not a sampled number: not analysed
	m.SegmentGenerated("news", 2, nil, time.Millisecond, io.ErrUnexpectedEOF)
	// A corrupt segment: continuity broken by dropping a packet.
	bad := append(append([]byte{}, data[:188*5]...), data[188*6:]...)
	m.Close() // waits for the first analysis
	m = reopen(m)
	m.SegmentGenerated("bad", 16, bad, time.Millisecond, nil)
	m.Close()
	m.ObserveScan(ScanSummary{Seen: 4, Added: 3, Problems: 1}, time.Second, nil)
	m.ObserveScan(ScanSummary{}, 0, os.ErrNotExist)
	m.SetSources(Sources{
		Channels: func() []ChannelSample {
			return []ChannelSample{{ID: "news", Viewers: map[string]int{"hls": 3, "ts": 1}, ItemsFailed: 2, SlateSeconds: 8, LogFailures: 1}}
		},
		Cache: func() CacheSample { return CacheSample{Bytes: 1000, Entries: 2} },
	})
	text := scrapeText(t, m.Wrap(http.NotFoundHandler(), HTTPOptions{Now: time.Now}))
	for _, want := range []string{
		`onair_segment_cache_requests_total{channel="news",result="hit"} 2`,
		`onair_segment_cache_requests_total{channel="news",result="miss"} 1`,
		`onair_segment_generation_seconds_count{channel="news"} 2`,
		`onair_segment_generation_errors_total{channel="news"} 1`,
		`onair_tr101290_segments_total{channel="news",result="analysed"} 1`,
		`onair_tr101290_priority_errors_total{channel="news",priority="1"} 0`,
		`onair_tr101290_errors_total{channel="bad",indicator="Continuity_count_error"}`,
		`onair_library_scans_total{result="ok"} 1`,
		`onair_library_scans_total{result="error"} 1`,
		`onair_library_last_scan_files{what="problems"} 1`,
		`onair_viewers{channel="news",output="hls"} 3`,
		`onair_viewers{channel="news",output="ts"} 1`,
		`onair_items_failed_total{channel="news"} 2`,
		`onair_slate_seconds_total{channel="news"} 8`,
		`onair_playout_log_write_failures_total{channel="news"} 1`,
		`onair_segment_cache_bytes 1000`,
		`onair_channels 1`,
	} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, `onair_tr101290_errors_total{channel="news"`)
	require.True(t, strings.Contains(text, "process_"), "process collector")
}

// reopen lets a closed Metrics analyse again (tests only).
func reopen(m *Metrics) *Metrics {
	m.mu.Lock()
	m.done = false
	m.mu.Unlock()
	return m
}
