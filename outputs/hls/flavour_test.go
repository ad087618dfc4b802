package hls

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeCounter is a ResponseWriter that counts Write calls.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(p)
}

// TestServeSegmentPlainGet: the segment route and ServeSegment (a flavour's
// route, with a Part) share one implementation: a plain GET gets the bytes in
// one Write with Content-Length; a range request goes through
// http.ServeContent; both count the body bytes served.
func TestServeSegmentPlainGet(t *testing.T) {
	clock := newFakeClock(at(100 * time.Second))
	ch := newFakeChannel("news", clock)
	out := New(Config{Prefetch: -1}, fakeRegistry{"news": ch}, clock)
	defer out.Close()
	first188 := func(seg []byte) ([]byte, string, error) { return seg[:188], "head", nil }

	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		want  []byte
		ctype string
	}{
		{name: "route", serve: out.ServeHTTP, want: segmentBytes(20), ctype: "video/mp2t"},
		{name: "flavour", serve: func(w http.ResponseWriter, r *http.Request) {
			out.ServeSegment(w, r, ch, 20, "video/mp4", first188)
		}, want: segmentBytes(20)[:188], ctype: "video/mp4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := out.Stats().BytesServed
			w := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
			tc.serve(w, httptest.NewRequest(http.MethodGet, "/channels/news/seg/20.ts", nil))
			require.Equal(t, http.StatusOK, w.Code)
			require.Equal(t, 1, w.writes, "a plain GET is one Write")
			require.Equal(t, tc.want, w.Body.Bytes())
			require.Equal(t, strconv.Itoa(len(tc.want)), w.Header().Get("Content-Length"))
			require.Equal(t, tc.ctype, w.Header().Get("Content-Type"))
			require.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
			etag := w.Header().Get("ETag")
			require.NotEmpty(t, etag)

			rng := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/channels/news/seg/20.ts", nil)
			req.Header.Set("Range", "bytes=0-9")
			tc.serve(rng, req)
			require.Equal(t, http.StatusPartialContent, rng.Code)
			require.Equal(t, tc.want[:10], rng.Body.Bytes())
			require.Equal(t, etag, rng.Header().Get("ETag"))

			cond := httptest.NewRecorder()
			req = httptest.NewRequest(http.MethodGet, "/channels/news/seg/20.ts", nil)
			req.Header.Set("If-None-Match", etag)
			tc.serve(cond, req)
			require.Equal(t, http.StatusNotModified, cond.Code)

			require.Equal(t, uint64(len(tc.want)+10), out.Stats().BytesServed-before)
		})
	}
}
