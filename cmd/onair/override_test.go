package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/internal/syncbuf"
)

// serveDir runs `onair serve` on root and the channel files of chdir with
// extra flags until the test ends; it returns the base URL once ready.
func serveDir(t *testing.T, root, chdir string, extra ...string) (string, *syncbuf.Buffer) {
	t.Helper()
	e, out, errb := testEnv(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args := append([]string{"serve", "--http", "127.0.0.1:0", "--data", t.TempDir(), "--library", root, "--channels", chdir}, extra...)
	go func() { done <- run(ctx, args, e) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d\n%s", code, errb)
		}
	})
	base := waitServing(t, out)
	waitReady(t, base)
	return base, errb
}

type overrideJSON struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Source string    `json:"source"`
	Title  string    `json:"title"`
	Resume string    `json:"resume"`
}

type statusJSON struct {
	Now *struct {
		Kind  string `json:"kind"`
		Title string `json:"title"`
	} `json:"now"`
	Override *overrideJSON `json:"override"`
}

func request(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func channelStatusOf(t *testing.T, base, id string) statusJSON {
	t.Helper()
	code, body := get(t, base+"/api/v1/channels/"+id)
	require.Equal(t, http.StatusOK, code, body)
	var st statusJSON
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return st
}

// TestOverrideAPI: with an admin token, POST /api/v1/channels/{id}/override
// needs it; the override starts within one segment of the request and goes
// on air; bad requests get 400, a second override 409; DELETE ends it at the
// next segment boundary and the schedule comes back on air.
func TestOverrideAPI(t *testing.T) {
	root := smallLibrary(t)
	chdir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(chdir, "one.yaml"), []byte("number: \"1\"\nname: One\nsegment: 2s\nplaylist:\n  - show: Demo\n"), 0o644))
	base, _ := serveDir(t, root, chdir, "--admin-token", "s3cret")
	url := base + "/api/v1/channels/one/override"

	code, body := request(t, http.MethodPost, url, "", `{"asset":"ads/cola.ts","duration":"1m"}`)
	require.Equal(t, http.StatusUnauthorized, code, body)
	code, body = request(t, http.MethodPost, url, "wrong", `{"asset":"ads/cola.ts","duration":"1m"}`)
	require.Equal(t, http.StatusUnauthorized, code, body)
	for _, bad := range []string{`{"asset":"ads/none.ts"}`, `{"asset":"ads/cola.ts","channel":"one"}`, `{"asset":"ads/cola.ts","duration":"soon"}`, `{"asset":"ads/cola.ts","oops":1}`, `not json`, `{"asset":"ads/cola.ts","resume":"later"}`} {
		code, body = request(t, http.MethodPost, url, "s3cret", bad)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", bad, body)
	}
	code, _ = request(t, http.MethodPost, base+"/api/v1/channels/nope/override", "s3cret", `{"asset":"ads/cola.ts"}`)
	require.Equal(t, http.StatusNotFound, code)

	asked := time.Now()
	code, body = request(t, http.MethodPost, url, "s3cret", `{"asset":"ads/cola.ts","title":"Breaking news"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var ov overrideJSON
	require.NoError(t, json.Unmarshal([]byte(body), &ov))
	require.WithinDuration(t, asked, ov.Start, 2500*time.Millisecond+time.Second, "the next segment boundary (2 s segments)")
	require.True(t, ov.End.IsZero(), "until cleared")
	code, body = request(t, http.MethodPost, url, "s3cret", `{"asset":"ads/cola.ts"}`)
	require.Equal(t, http.StatusConflict, code, body)

	waitFor(t, 15*time.Second, "the override on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "override" && st.Override != nil
	})
	require.Equal(t, "Breaking news", channelStatusOf(t, base, "one").Now.Title)

	code, body = request(t, http.MethodDelete, url, "s3cret", "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &ov))
	require.False(t, ov.End.IsZero())
	waitFor(t, 15*time.Second, "the schedule back on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "program" && st.Override == nil
	})
	code, _ = request(t, http.MethodDelete, url, "s3cret", "")
	require.Equal(t, http.StatusNotFound, code)
}

// TestOverrideFile: dropping channels.d/<id>.override.yaml under a running
// server puts the override on air; removing it ends it. Without an admin
// token the API answers only this machine's clients, so loopback works.
func TestOverrideFile(t *testing.T) {
	root := smallLibrary(t)
	chdir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(chdir, "one.yaml"), []byte("number: \"1\"\nname: One\nsegment: 2s\nplaylist:\n  - show: Demo\n"), 0o644))
	base, errb := serveDir(t, root, chdir)
	waitFor(t, 15*time.Second, "the schedule on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "program"
	})

	file := filepath.Join(chdir, "one.override.yaml")
	require.NoError(t, os.WriteFile(file, []byte("asset: ads/cola.ts\nduration: 10m\ntitle: From a file\n"), 0o644))
	waitFor(t, 20*time.Second, "the file's override on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "override" && st.Now.Title == "From a file"
	})
	require.NoError(t, os.Remove(file))
	waitFor(t, 20*time.Second, "the schedule back on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "program" && st.Override == nil
	})

	// A broken override file is reported and changes nothing.
	require.NoError(t, os.WriteFile(file, []byte("asset: [oops\n"), 0o644))
	waitFor(t, 20*time.Second, "the broken file reported", func() bool {
		return strings.Contains(errb.String(), "one.override.yaml:")
	})
	require.Nil(t, channelStatusOf(t, base, "one").Override)

	code, body := request(t, http.MethodPost, base+"/api/v1/channels/one/override", "", `{"asset":"ads/cola.ts","duration":"30s"}`)
	require.Equal(t, http.StatusCreated, code, body)
}
