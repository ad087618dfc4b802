package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// TestPages serves every page and checks that everything a page loads is
// embedded (no script, style or player library from elsewhere).
func TestPages(t *testing.T) {
	mux := http.NewServeMux()
	New().Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	for _, p := range []string{"/", "/guide", "/watch/news", "/operator", "/library"} {
		code, hdr, body := get(t, srv, p)
		require.Equal(t, 200, code, p)
		require.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
		require.Contains(t, hdr.Get("Content-Security-Policy"), "script-src 'self'")
		require.Contains(t, body, `<meta name="viewport"`, "%s: usable on a phone", p)
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			u := m[1]
			if !strings.HasPrefix(u, "/static/") {
				require.False(t, strings.Contains(u, "//"), "%s links off-site: %s", p, u)
				continue
			}
			code, _, b := get(t, srv, u)
			require.Equal(t, 200, code, "%s loads %s", p, u)
			require.NotEmpty(t, b, u)
		}
	}
	code, hdr, body := get(t, srv, "/static/vendor/hls.min.js")
	require.Equal(t, 200, code)
	require.Greater(t, len(body), 100000, "hls.js is embedded (make web)")
	require.Contains(t, hdr.Get("Cache-Control"), "max-age")
	code, _, body = get(t, srv, "/static/vendor/dash.all.min.js")
	require.Equal(t, 200, code)
	require.Greater(t, len(body), 100000, "dash.js is embedded (make web)")

	for _, p := range []string{"/static/nope.js", "/static/../web.go", "/static/index.html", "/static/%2e%2e/web.go", "/nowhere"} {
		code, _, _ := get(t, srv, p)
		require.Equal(t, http.StatusNotFound, code, p)
	}
}
