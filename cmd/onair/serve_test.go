package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/internal/syncbuf"
	"onair/testmedia"
)

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

// waitServing waits for the "serving on URL" line of a server's stdout and
// returns the URL.
func waitServing(t *testing.T, stdout interface{ String() string }) string {
	t.Helper()
	var base string
	waitFor(t, 30*time.Second, "serving line", func() bool {
		if m := servingRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	})
	return base
}

// waitReady waits until base/readyz answers 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	waitFor(t, 60*time.Second, "readiness", func() bool { c, _ := get(t, base+"/readyz"); return c == 200 })
}

// waitFor polls cond every 20 ms until it is true or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// smallLibrary writes a tiny library: two episodes, an ad, and a broken file.
func smallLibrary(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel string, d time.Duration, seed int64) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, testmedia.WriteFile(p, testmedia.Options{Width: 320, Height: 180, Duration: d, Seed: seed, Label: filepath.Base(rel)}))
	}
	write("shows/Demo/Season 01/Demo - S01E01 - Pilot.ts", 4*time.Second, 1)
	write("shows/Demo/Season 01/Demo - S01E02 - Second.mp4", 4*time.Second, 2)
	write("ads/cola.ts", 2*time.Second, 3)
	require.NoError(t, os.WriteFile(filepath.Join(root, "ads", "broken.ts"), []byte("not a transport stream"), 0o644))
	return root
}

func TestServeInProcess(t *testing.T) {
	root := smallLibrary(t)
	data := t.TempDir()
	e, out, errb := testEnv(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--data", data, "--library", root}, e)
	}()
	base := waitServing(t, out)
	code, body := get(t, base+"/healthz")
	require.Equal(t, 200, code, body)
	waitReady(t, base)

	code, body = get(t, base+"/api/v1/library?kind=episode")
	require.Equal(t, 200, code, body)
	var got struct {
		Assets []struct {
			Path   string `json:"path"`
			Kind   string `json:"kind"`
			Show   string `json:"show"`
			Status string `json:"status"`
		} `json:"assets"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Assets, 2)
	for _, a := range got.Assets {
		require.Equal(t, "episode", a.Kind)
		require.Equal(t, "Demo", a.Show)
		require.Equal(t, "ok", a.Status)
	}
	code, body = get(t, base+"/api/v1/library?status=unplayable")
	require.Equal(t, 200, code)
	require.Contains(t, body, "broken.ts")
	code, _ = get(t, base+"/api/v1/library?kind=cartoon")
	require.Equal(t, 400, code)
	code, _ = get(t, base+"/api/v1/nope")
	require.Equal(t, 404, code)

	cancel()
	select {
	case c := <-done:
		require.Equal(t, 0, c, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	require.Contains(t, errb.String(), "shutting down")
}

// TestServeBinarySIGTERM builds the real binary, scans and lists the library
// through the CLI, serves it, and stops it with SIGTERM.
func TestServeBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "onair")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	root := smallLibrary(t)
	data := t.TempDir()
	envv := append(os.Environ(), "ONAIR_DATA="+data, "ONAIR_LIBRARY="+root)

	scan := exec.Command(bin, "library", "scan")
	scan.Env = envv
	outb, err := scan.CombinedOutput()
	require.NoError(t, err, string(outb))
	require.Contains(t, string(outb), "4 files")
	require.Contains(t, string(outb), "1 problems")

	list := exec.Command(bin, "library", "list")
	list.Env = envv
	outb, err = list.CombinedOutput()
	require.NoError(t, err, string(outb))
	require.Regexp(t, `episode\s+ok\s+0:00:04.00\s+h264 320x180`, string(outb))
	require.Contains(t, string(outb), "cola.ts")

	srv := exec.Command(bin, "serve", "--http", "127.0.0.1:0")
	srv.Env = envv
	stdout := &syncbuf.Buffer{}
	stderr := &syncbuf.Buffer{}
	srv.Stdout, srv.Stderr = stdout, stderr
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Process.Kill() })
	base := waitServing(t, stdout)
	waitReady(t, base)
	require.NoError(t, srv.Process.Signal(syscall.SIGHUP))
	waitFor(t, 20*time.Second, "the SIGHUP reload", func() bool {
		return strings.Contains(stderr.String(), "reloading channel files") && strings.Contains(stderr.String(), "why=SIGHUP")
	})
	require.NoError(t, srv.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.Wait(), stderr.String())
	require.Contains(t, stderr.String(), "shutting down")
}
