package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSIGTERMFinishesInFlight: a response in flight when SIGTERM arrives (a
// 2-second CPU profile from /debug/pprof) is finished, new connections are
// refused, the process exits 0 and the database is closed cleanly (its WAL
// checkpointed away, integrity_check ok).
func TestSIGTERMFinishesInFlight(t *testing.T) {
	bin := buildOnair(t)
	data := t.TempDir()
	p := startProc(t, bin, "--data", data, "--library", smallLibrary(t), "--channels", t.TempDir())
	base := waitServing(t, p.stdout)
	waitReady(t, base)

	type result struct {
		code int
		n    int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/debug/pprof/profile?seconds=2")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{code: resp.StatusCode, n: len(b), err: err}
	}()
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	waitFor(t, 10*time.Second, "shutting down", func() bool { return strings.Contains(p.stderr.String(), "shutting down") })
	// The listener closes right after the log line: new connections are
	// refused while the profile is still being answered.
	refused := false
	for deadline := time.Now().Add(time.Second); !refused && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			refused = true
		} else {
			resp.Body.Close()
		}
	}
	require.True(t, refused, "a new connection after SIGTERM is refused")
	require.Empty(t, done, "refused while the response in flight still runs")
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.code)
	require.Positive(t, r.n)
	require.NoError(t, p.cmd.Wait(), tail(p.stderr.String(), 20))
	_, err := os.Stat(filepath.Join(data, "onair.db-wal"))
	require.True(t, os.IsNotExist(err), "the WAL is checkpointed and removed on a clean close")
	integrityCheck(t, filepath.Join(data, "onair.db"))
}

// TestConfigFile: onair.yaml under flags and variables, unknown keys with
// their position, and config print.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "onair.yaml")
	require.NoError(t, os.WriteFile(file, []byte("# test\nhttp: \"127.0.0.1:9\"\ndata: /from/file\nlibrary:\n  - /a\n  - /b\nlog-format: json\n"), 0o644))
	e, out, errb := testEnv(map[string]string{"ONAIR_DATA": "/from/env"})
	code := run(t.Context(), []string{"config", "print", "--config", file, "--http", ":7777"}, e)
	require.Equal(t, 0, code, errb.String())
	got := out.String()
	require.Contains(t, got, `http: ":7777" # flag`)
	require.Contains(t, got, `data: "/from/env" # env ONAIR_DATA`)
	require.Contains(t, got, `library: ["/a", "/b"] # file`)
	require.Contains(t, got, `log-format: "json" # file`)
	require.Contains(t, got, `channels: "./channels.d" # default`)

	require.NoError(t, os.WriteFile(file, []byte("http: \":1\"\n\nlibary: /typo\n"), 0o644))
	e, _, errb = testEnv(nil)
	code = run(t.Context(), []string{"config", "print", "--config", file}, e)
	require.Equal(t, 1, code)
	require.Contains(t, errb.String(), file+":3:1: unknown key \"libary\"")

	// serve refuses the same file before doing anything.
	e, _, errb = testEnv(nil)
	code = run(t.Context(), []string{"serve", "--config", file, "--data", t.TempDir()}, e)
	require.Equal(t, 1, code)
	require.Contains(t, errb.String(), ":3:1: unknown key")

	// A bad value names its key and position.
	require.NoError(t, os.WriteFile(file, []byte("log-level: loud\n"), 0o644))
	e, _, errb = testEnv(nil)
	code = run(t.Context(), []string{"serve", "--config", file, "--data", t.TempDir()}, e)
	require.NotEqual(t, 0, code)
	require.Contains(t, errb.String(), "log-level")
}
