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

	// An existing channel whose file breaks stays on its last good version.
	write("one.yaml", "number: \"1\"\nname: [Uno\nplaylist:\n  - kind: ad\n")
	waitFor(t, 20*time.Second, "the error in the log", func() bool { return strings.Contains(errb.String(), "one.yaml:") })
	require.Equal(t, []string{"one=Uno", "two=Two"}, names(), "the broken channel keeps playing")
	code, _ = get(t, base+"/channels/one/index.m3u8")
	require.Equal(t, 200, code)

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

// TestReloadKeepsThePublishedWindow edits a channel's schedule under a
// running server: every segment a client was shown stays in the playlist
// with the same number and the same bytes, the media sequence goes on, and
// the new schedule shows after it.
func TestReloadKeepsThePublishedWindow(t *testing.T) {
	root := smallLibrary(t)
	chdir := t.TempDir()
	file := filepath.Join(chdir, "one.yaml")
	require.NoError(t, os.WriteFile(file, []byte("number: \"1\"\nname: One\nsegment: 2s\nplaylist:\n  - show: Demo\n"), 0o644))
	base, errb := serveDir(t, root, chdir)
	playlist := func() mediaPlaylist {
		code, body := get(t, base+"/channels/one/index.m3u8")
		require.Equal(t, 200, code, body)
		pl, err := parseMediaPlaylist(body)
		require.NoError(t, err)
		return pl
	}
	segment := func(uri string) string {
		code, body := get(t, base+"/channels/one/"+uri)
		require.Equal(t, 200, code)
		return body
	}
	waitFor(t, 30*time.Second, "a playlist of 3 segments", func() bool {
		code, body := get(t, base+"/channels/one/index.m3u8")
		pl, err := parseMediaPlaylist(body)
		return code == 200 && err == nil && len(pl.segments) >= 3
	})
	before := playlist()
	shown := map[int64]string{}
	for _, s := range before.segments {
		shown[s.seq] = segment(s.uri)
	}

	require.NoError(t, os.WriteFile(file, []byte("number: \"1\"\nname: One\nsegment: 2s\nplaylist:\n  - kind: ad\n"), 0o644))
	waitFor(t, 20*time.Second, "the rebuild", func() bool { return strings.Contains(errb.String(), "playout log rebuilt") })
	after := playlist()
	require.GreaterOrEqual(t, after.segments[0].seq, before.segments[0].seq, "the media sequence goes on")
	kept := 0
	for _, s := range after.segments {
		if b, ok := shown[s.seq]; ok {
			require.Equal(t, b, segment(s.uri), "segment %d was shown before the edit: same bytes after it", s.seq)
			kept++
		}
	}
	require.Positive(t, kept, "the window still holds segments shown before the edit")
	waitFor(t, 30*time.Second, "the new schedule on air", func() bool {
		st := channelStatusOf(t, base, "one")
		return st.Now != nil && st.Now.Kind == "ad"
	})
}
