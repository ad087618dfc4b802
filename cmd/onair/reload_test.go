package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChannelFilesReload edits channels.d under a running server: a new file
// adds a channel, an edit renames one, a broken file is reported and leaves
// the others playing, a deleted file removes its channel.
func TestChannelFilesReload(t *testing.T) {
	root := smallLibrary(t)
	chdir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(chdir, name), []byte(body), 0o644))
	}
	write("one.yaml", "number: \"1\"\nname: One\nplaylist:\n  - show: Demo\n")
	e, out, errb := testEnv(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--data", t.TempDir(), "--library", root, "--channels", chdir}, e)
	}()
	defer func() {
		cancel()
		require.Equal(t, 0, <-done, errb.String())
	}()
	base := waitServing(t, out)
	waitReady(t, base)
	names := func() []string {
		_, body := get(t, base+"/api/v1/channels")
		var v struct {
			Channels []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"channels"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		var out []string
		for _, c := range v.Channels {
			out = append(out, c.ID+"="+c.Name)
		}
		sort.Strings(out)
		return out
	}
	require.Equal(t, []string{"one=One"}, names())

	write("two.yaml", "number: \"2\"\nname: Two\nplaylist:\n  - kind: ad\n")
	waitFor(t, 20*time.Second, "the new channel", func() bool { return len(names()) == 2 })
	code, _ := get(t, base+"/channels/two/index.m3u8")
	require.Contains(t, []int{200, 503}, code, "the new channel is served")

	write("one.yaml", "number: \"1\"\nname: Uno\nplaylist:\n  - show: Demo\n")
	waitFor(t, 20*time.Second, "the rename", func() bool { n := names(); return len(n) == 2 && n[0] == "one=Uno" })

	// A new playlist applies right after what clients may have seen.
	write("one.yaml", "number: \"1\"\nname: Uno\nplaylist:\n  - kind: ad\n")
	waitFor(t, 30*time.Second, "the new playlist", func() bool {
		_, body := get(t, base+"/api/v1/channels/one")
		var st struct {
			Next *struct {
				Kind string `json:"kind"`
			} `json:"next"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		return st.Next != nil && st.Next.Kind == "ad"
	})

	write("three.yaml", "number: \"3\"\nname: Three\nbogus: true\nplaylist:\n  - kind: ad\n")
	waitFor(t, 20*time.Second, "the error in the log", func() bool { return containsAll(errb.String(), "three.yaml:3:1", "unknown field") })
	require.Equal(t, []string{"one=Uno", "two=Two"}, names(), "a broken file changes nothing else")

	require.NoError(t, os.Remove(filepath.Join(chdir, "two.yaml")))
	waitFor(t, 20*time.Second, "the removal", func() bool { return len(names()) == 1 })
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
