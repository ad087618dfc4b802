package library

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock for tests: every call advances it by step.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

func openTestStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Millisecond}
		opts.Now = c.now
	}
	s, err := OpenWithOptions(filepath.Join(dir, "onair.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenMigrations(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	lib := filepath.Join(dir, "lib")
	writeFile(t, filepath.Join(lib, "ads", "spot.ts"), smallClip(t, "ts"))

	s := openTestStore(t, dir, Options{})
	var mode string
	var fk int
	if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q %v, want wal", mode, err)
	}
	if err := s.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d %v, want 1", fk, err)
	}
	if _, err := s.Scan(ctx, []string{lib}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing twice and keeps the data.
	for range 2 {
		s = openTestStore(t, dir, Options{})
		var n int
		if err := s.w.QueryRow(`SELECT count(*) FROM schema_migrations WHERE scope = 'library'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		names, _ := migrationFS.ReadDir("migrations")
		if n != len(names) {
			t.Fatalf("%d migrations recorded, want %d", n, len(names))
		}
		list, err := s.List(ctx, Filter{})
		if err != nil || len(list) != 1 || list[0].Kind != KindAd {
			t.Fatalf("List after reopen = %+v, %v", list, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGetNotFound(t *testing.T) {
	s := openTestStore(t, t.TempDir(), Options{})
	defer s.Close()
	if _, err := s.Get(context.Background(), 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}
	if _, err := s.Keyframes(context.Background(), 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Keyframes: %v, want ErrNotFound", err)
	}
}

func TestAssetJSON(t *testing.T) {
	a := Asset{
		ID: 7, Path: "/lib/shows/S/Season 01/S - S01E02 - T.ts", Kind: KindEpisode, Show: "S", Season: 1, Episode: 2,
		Title: "T", Tags: []string{"drama"}, Duration: 90500 * time.Millisecond, Container: ContainerTS, Size: 1234,
		SHA256: "ab", Video: &VideoInfo{
			Codec: codecH264, Profile: "High", Level: "4.0", Width: 1920, Height: 1080,
			FrameRate: Rational{30000, 1001}, BFrames: true,
		},
		Audio:         &AudioInfo{Codec: codecAAC, SampleRate: 48000, Channels: 2},
		Cues:          []time.Duration{30 * time.Second, 60500 * time.Millisecond},
		KeyframeCount: 46, Status: StatusOK, MTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{
		"audio", "container", "cues_seconds", "duration_seconds", "episode", "id", "keyframe_count",
		"kind", "mtime", "path", "season", "sha256", "show", "size", "status", "tags", "title", "video",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	if m["duration_seconds"] != 90.5 || !reflect.DeepEqual(m["cues_seconds"], []any{30.0, 60.5}) {
		t.Fatalf("durations: %s", b)
	}
	v := m["video"].(map[string]any)
	if v["frame_rate"] != "30000/1001" || v["b_frames"] != true || v["codec"] != "h264" {
		t.Fatalf("video: %s", b)
	}
	au := m["audio"].(map[string]any)
	if au["sample_rate"] != 48000.0 || au["channels"] != 2.0 {
		t.Fatalf("audio: %s", b)
	}
	var back Asset
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip: %+v, want %+v", back, a)
	}
}

// TestUpgradeRereadsSidecars: a library scanned before migration 0002, when
// rating and description were unknown sidecar keys, has them empty and an
// unchanged sidecar signature; migration 0003 makes the next scan read the
// sidecar again, so they fill in.
func TestUpgradeRereadsSidecars(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	lib := filepath.Join(dir, "lib")
	clip := filepath.Join(lib, "ads", "spot.ts")
	writeFile(t, clip, smallClip(t, "ts"))
	writeFile(t, strings.TrimSuffix(clip, ".ts")+".meta.yaml", []byte("rating: TV-G\ndescription: A spot.\n"))
	s := openTestStore(t, dir, Options{})
	if _, err := s.Scan(ctx, []string{lib}, nil); err != nil {
		t.Fatal(err)
	}
	// As the older version left it: no rating or description, migration 0003
	// not applied yet.
	for _, q := range []string{
		`UPDATE assets SET rating = '', description = ''`,
		`DELETE FROM schema_migrations WHERE scope = 'library' AND version = 3`,
	} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, Options{})
	defer s.Close()
	if _, err := s.Scan(ctx, []string{lib}, nil); err != nil {
		t.Fatal(err)
	}
	a := assetByPath(t, s, clip)
	if a.Rating != "TV-G" || a.Description != "A spot." {
		t.Fatalf("after the upgrade: rating %q, description %q", a.Rating, a.Description)
	}
}
