package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/engine"
	"onair/library"
)

type fixedClock struct{ t time.Time }

func (f fixedClock) Now() time.Time { return f.t }

type noChannels struct{}

func (noChannels) List() []*engine.Channel            { return nil }
func (noChannels) Get(string) (*engine.Channel, bool) { return nil, false }

func TestRoutes(t *testing.T) {
	lib, err := library.Open(filepath.Join(t.TempDir(), "onair.db"))
	require.NoError(t, err)
	defer lib.Close()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := New(Config{Library: lib, Channels: noChannels{}, Clock: fixedClock{now}})
	srv := httptest.NewServer(s)
	defer srv.Close()

	get := func(path string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", body)
	code, body = get("/readyz", nil)
	require.Equal(t, 503, code)
	require.Contains(t, body, "starting")
	s.SetReady(true, "")
	code, _ = get("/readyz", nil)
	require.Equal(t, 200, code)

	code, body = get("/api/v1/library", nil)
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"assets": []}`, body)
	code, body = get("/api/v1/library?kind=cartoon", nil)
	require.Equal(t, 400, code)
	require.Contains(t, body, "unknown kind cartoon")
	code, _ = get("/api/v1/library?status=lost", nil)
	require.Equal(t, 400, code)
	code, body = get("/api/v1/library?colour=red", nil)
	require.Equal(t, 400, code)
	require.Contains(t, body, "unknown query parameter colour")

	code, body = get("/api/v1/channels", nil)
	require.Equal(t, 200, code)
	var list struct {
		Channels []any `json:"channels"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Empty(t, list.Channels)
	code, _ = get("/api/v1/channels/nope", nil)
	require.Equal(t, 404, code)
	code, body = get("/api/v1/time", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "2026-11-22T10:00:00Z\n", body)
	code, _ = get("/api/v1/unknown", nil)
	require.Equal(t, 404, code)
}

func TestBaseURL(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://onair.local:8080/x", nil)
	require.Equal(t, "http://onair.local:8080", BaseURL(r))
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "tv.example.org")
	require.Equal(t, "https://tv.example.org", BaseURL(r))
	r.Header.Set("X-Forwarded-Host", "evil.org/<script>")
	r.Header.Set("X-Forwarded-Proto", "javascript")
	require.Equal(t, "http://onair.local:8080", BaseURL(r), "hostile forwarded headers are ignored")
}
