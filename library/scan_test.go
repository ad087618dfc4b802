package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"onair/testmedia"
)

// scanCounts is the countable part of a ScanSummary.
type scanCounts struct{ added, updated, unchanged, moved, missing, problems int }

func counts(s ScanSummary) scanCounts {
	return scanCounts{s.Added, s.Updated, s.Unchanged, s.Moved, s.Missing, len(s.Problems)}
}

func mustScan(t *testing.T, s *Store, roots []string, want scanCounts) ScanSummary {
	t.Helper()
	sum, err := s.Scan(context.Background(), roots, nil)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if got := counts(sum); got != want {
		t.Fatalf("scan counts = %+v, want %+v; problems %+v", got, want, sum.Problems)
	}
	return sum
}

func assetByPath(t *testing.T, s *Store, p string) Asset {
	t.Helper()
	list, err := s.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Path == p {
			return a
		}
	}
	t.Fatalf("no asset %s", p)
	return Asset{}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestScanLibrary(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	ep1 := filepath.Join(lib, "shows", "Harbor Lights", "Season 01", "Harbor Lights - S01E01 - The Lighthouse.ts")
	ep2 := filepath.Join(lib, "shows", "Harbor Lights", "Season 01", "Harbor Lights - S01E02 - Fog Warning.mp4")
	movie := filepath.Join(lib, "movies", "The Long Broadcast (2026).mp4")
	ad := filepath.Join(lib, "ads", "acme-coffee.ts")
	mkv := filepath.Join(lib, "filler", "loop.mkv")
	tsData, mp4Data := smallClip(t, "ts"), smallClip(t, "mp4")
	movieData := genClip(t, testmedia.Options{Width: 64, Height: 48, Duration: 4 * time.Second, Container: "mp4", Seed: 3})
	adData := genClip(t, testmedia.Options{Width: 64, Height: 48, Duration: 2 * time.Second, Container: "ts", Seed: 4})
	writeFile(t, ep1, tsData)
	writeFile(t, strings.TrimSuffix(ep1, ".ts")+".cue.yaml", []byte("cues: [2s, 4s]\n"))
	writeFile(t, ep2, mp4Data)
	writeFile(t, strings.TrimSuffix(ep2, ".mp4")+".meta.yaml", []byte("title: Fog\ntags: [drama, coast]\nrating: TV-14\ndescription: Fog rolls in.\n"))
	writeFile(t, movie, movieData)
	writeFile(t, ad, adData)
	writeFile(t, mkv, []byte("not really matroska"))
	writeFile(t, filepath.Join(lib, "notes.txt"), []byte("ignored"))
	writeFile(t, filepath.Join(lib, "movies", "poster.jpg"), []byte("ignored"))
	writeFile(t, filepath.Join(lib, "ads", "orphan.cue.yaml"), []byte("cues: [1s]\n"))

	s := openTestStore(t, dir, Options{})
	var progress []ScanProgress
	sum, err := s.Scan(ctx, []string{lib}, func(p ScanProgress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(sum); got != (scanCounts{added: 5, problems: 1}) {
		t.Fatalf("first scan = %+v; problems %+v", got, sum.Problems)
	}
	if sum.Problems[0].Path != mkv || !reflect.DeepEqual(sum.Problems[0].Reasons, []string{"unsupported container mkv"}) {
		t.Fatalf("problems = %+v", sum.Problems)
	}
	last := progress[len(progress)-1]
	if last.FilesSeen != 5 || last.FilesTotal != 5 || last.FilesRead != 5 || last.FilesPerSecond <= 0 || last.MBPerSecond <= 0 ||
		last.BytesRead != int64(len(tsData)+len(mp4Data)+len(movieData)+len(adData)) {
		t.Fatalf("last progress = %+v", last)
	}

	a := assetByPath(t, s, ep1)
	want := Asset{
		ID: a.ID, Path: ep1, Kind: KindEpisode, Show: "Harbor Lights", Season: 1, Episode: 1,
		Title: "The Lighthouse", Tags: []string{}, Duration: 6 * time.Second, Container: ContainerTS,
		Size: int64(len(tsData)), SHA256: sha256Hex(tsData),
		Video: &VideoInfo{
			Codec: codecH264, Profile: "Constrained Baseline", Level: a.Video.Level, Width: 320, Height: 180,
			FrameRate: Rational{25, 1},
		},
		Audio: &AudioInfo{Codec: codecAAC, SampleRate: 48000, Channels: 2},
		Cues:  []time.Duration{2 * time.Second, 4 * time.Second}, KeyframeCount: 3, Status: StatusOK, MTime: a.MTime,
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("asset =\n%+v\nwant\n%+v", a, want)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	kfs, err := s.Keyframes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	direct := probeTSBytes(t, tsData)
	if !reflect.DeepEqual(kfs, direct.index) {
		t.Fatalf("stored keyframes %+v, probe %+v", kfs, direct.index)
	}
	b := assetByPath(t, s, ep2)
	if b.Title != "Fog" || !reflect.DeepEqual(b.Tags, []string{"drama", "coast"}) || b.Episode != 2 || b.Container != ContainerMP4 ||
		b.Rating != "TV-14" || b.Description != "Fog rolls in." {
		t.Fatalf("mp4 episode = %+v", b)
	}
	if m := assetByPath(t, s, mkv); m.Status != StatusUnplayable || m.Reason != "unsupported container mkv" || m.Kind != KindFiller {
		t.Fatalf("mkv = %+v", m)
	}
	movies, err := s.List(ctx, Filter{Kind: string(KindMovie), Status: string(StatusOK)})
	if err != nil || len(movies) != 1 || movies[0].Path != movie {
		t.Fatalf("List(movie, ok) = %+v, %v", movies, err)
	}

	// Nothing changed: nothing is read.
	sum = mustScan(t, s, []string{lib}, scanCounts{unchanged: 5, problems: 1})
	if sum.BytesRead != 0 {
		t.Fatalf("rescan read %d bytes", sum.BytesRead)
	}

	// A changed sidecar is a change to its asset.
	cue := strings.TrimSuffix(ep1, ".ts") + ".cue.yaml"
	writeFile(t, cue, []byte("cues: [1m0s, 2m10.5s, 3s]\n"))
	sum = mustScan(t, s, []string{lib}, scanCounts{updated: 1, unchanged: 4, problems: 1})
	if sum.BytesRead != 0 {
		t.Fatalf("a sidecar change read the media (%d bytes)", sum.BytesRead)
	}
	if c := assetByPath(t, s, ep1).Cues; !reflect.DeepEqual(c, []time.Duration{3 * time.Second, time.Minute, 130500 * time.Millisecond}) {
		t.Fatalf("cues after sidecar change = %v", c)
	}
	// A removed sidecar too.
	if err := os.Remove(cue); err != nil {
		t.Fatal(err)
	}
	mustScan(t, s, []string{lib}, scanCounts{updated: 1, unchanged: 4, problems: 1})
	if c := assetByPath(t, s, ep1).Cues; len(c) != 0 {
		t.Fatalf("cues after sidecar removal = %v", c)
	}

	// A changed file is read again.
	writeFile(t, ad, genClip(t, testmedia.Options{Width: 64, Height: 48, Duration: 4 * time.Second, Container: "ts", Seed: 4}))
	mustScan(t, s, []string{lib}, scanCounts{updated: 1, unchanged: 4, problems: 1})
	adAsset := assetByPath(t, s, ad)
	if adAsset.Duration != 4*time.Second || adAsset.KeyframeCount != 2 {
		t.Fatalf("changed ad = %+v", adAsset)
	}

	// A moved file keeps its id.
	moved := filepath.Join(lib, "ads", "archive", "acme-coffee-v2.ts")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ad, moved); err != nil {
		t.Fatal(err)
	}
	mustScan(t, s, []string{lib}, scanCounts{moved: 1, unchanged: 4, problems: 1})
	if m := assetByPath(t, s, moved); m.ID != adAsset.ID || m.Status != StatusOK || m.Title != "acme-coffee-v2" {
		t.Fatalf("moved asset = %+v, want id %d", m, adAsset.ID)
	}

	// A deleted file is marked missing, once; when it returns it is ok again, with its id.
	movieAsset := assetByPath(t, s, movie)
	if err := os.Remove(movie); err != nil {
		t.Fatal(err)
	}
	mustScan(t, s, []string{lib}, scanCounts{missing: 1, unchanged: 4, problems: 1})
	if m := assetByPath(t, s, movie); m.Status != StatusMissing || m.ID != movieAsset.ID || m.Reason == "" {
		t.Fatalf("deleted movie = %+v", m)
	}
	mustScan(t, s, []string{lib}, scanCounts{unchanged: 4, problems: 1})
	writeFile(t, movie, movieData)
	mustScan(t, s, []string{lib}, scanCounts{updated: 1, unchanged: 4, problems: 1})
	if m := assetByPath(t, s, movie); m.Status != StatusOK || m.ID != movieAsset.ID {
		t.Fatalf("returned movie = %+v", m)
	}

	// A missing file that comes back somewhere else is a move.
	if err := os.Remove(movie); err != nil {
		t.Fatal(err)
	}
	mustScan(t, s, []string{lib}, scanCounts{missing: 1, unchanged: 4, problems: 1})
	elsewhere := filepath.Join(lib, "movies", "Long Broadcast.mp4")
	writeFile(t, elsewhere, movieData)
	mustScan(t, s, []string{lib}, scanCounts{moved: 1, unchanged: 4, problems: 1})
	if m := assetByPath(t, s, elsewhere); m.Status != StatusOK || m.ID != movieAsset.ID {
		t.Fatalf("movie back at a new path = %+v", m)
	}

	// A root that is gone is a problem; its assets are not marked missing.
	mustScan(t, s, []string{filepath.Join(dir, "nope")}, scanCounts{problems: 1})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}

func TestScanBadInputs(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	ts, mp4 := smallClip(t, "ts"), smallClip(t, "mp4")
	bad := badInputs()
	p := func(name string) string { return filepath.Join(lib, "bad", name) }

	want := map[string]string{} // path → reason substring; "" for a playable file
	add := func(name string, data []byte, reason string) {
		writeFile(t, p(name), data)
		want[p(name)] = reason
	}
	add("zero.ts", nil, "empty file")
	add("zero.mp4", nil, "empty file")
	add("truncated.ts", ts[:len(ts)/2+77], "truncated")
	add("truncated.mp4", mp4[:len(mp4)/2], "truncated")
	add("corrupt.ts", corruptAt(ts, len(ts)/3), "lost packet sync")
	add("random.ts", bad["random"], "not an MPEG-TS stream")
	add("random.mp4", bad["random"], "not an MP4 file")
	add("text.ts", bad["text"], "not an MPEG-TS stream")
	add("film.webm", []byte("webm"), "unsupported container webm")
	add("song.mp3", []byte("ID3"), "unsupported container mp3")
	add("clip.avi", []byte("RIFF"), "unsupported container avi")
	add("badcue.ts", ts, "badcue.cue.yaml:1:1: unknown field \"cue\"")
	writeFile(t, p("badcue.cue.yaml"), []byte("cue: [1s]\n"))
	add("changing.ts", ts, "changed during scan")
	add("panics.mp4", mp4, "probe failed: panic: boom")
	// A directory with a media name is just a directory.
	add("folder.ts/inside.ts", ts, "")

	if err := os.Symlink("loop.ts", p("loop.ts")); err != nil {
		t.Fatal(err)
	}
	want[p("loop.ts")] = "symbolic link loop"
	if err := os.Symlink("missing-target.mp4", p("dangling.mp4")); err != nil {
		t.Fatal(err)
	}
	want[p("dangling.mp4")] = "broken symbolic link"
	if err := os.Symlink("..", p("up")); err != nil {
		t.Fatal(err)
	}
	want[p("up")] = "symbolic link loop: leads back"
	if err := syscall.Mkfifo(p("pipe.ts"), 0o644); err != nil {
		t.Fatal(err)
	}
	want[p("pipe.ts")] = "not a regular file"
	if os.Geteuid() != 0 {
		add("locked.ts", ts, "unreadable: open: permission denied")
		if err := os.Chmod(p("locked.ts"), 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(p("locked.ts"), 0o644) })
	} else {
		t.Log("running as root: the unreadable-file case is covered by TestProbeEntryUnreadable")
	}
	// A good file next to all of that.
	add("good.mp4", mp4, "")

	var changes atomic.Int32
	s := openTestStore(t, dir, Options{afterRead: func(path string) {
		switch filepath.Base(path) {
		case "changing.ts":
			if changes.Add(1) == 1 {
				// Touch it: same bytes, another mtime.
				_ = os.Chtimes(path, time.Unix(1e9, 0), time.Unix(1e9, 0))
			}
		case "panics.mp4":
			panic("boom")
		}
	}})
	defer s.Close()
	sum, err := s.Scan(context.Background(), []string{lib}, nil)
	if err != nil {
		t.Fatalf("Scan returned %v, want nil with problems", err)
	}
	problems := map[string]string{}
	for _, pr := range sum.Problems {
		problems[pr.Path] = strings.Join(pr.Reasons, "; ")
	}
	for path, reason := range want {
		t.Run(strings.TrimPrefix(path, lib+"/"), func(t *testing.T) {
			got, ok := problems[path]
			if reason == "" {
				if ok {
					t.Fatalf("problem %q for a good file", got)
				}
				return
			}
			if !strings.Contains(got, reason) {
				t.Fatalf("problem = %q, want it to contain %q", got, reason)
			}
		})
	}
	if len(problems) != len(want)-2 {
		t.Errorf("%d problems, want %d: %+v", len(problems), len(want)-2, sum.Problems)
	}
	list, err := s.List(context.Background(), Filter{Status: string(StatusUnplayable)})
	if err != nil {
		t.Fatal(err)
	}
	// Everything with a media name is an asset, except the directory symlink.
	if wantN := len(want) - 2 - 1 - 1; len(list) != wantN { // good files, "up", badcue is ok
		t.Errorf("%d unplayable assets, want %d", len(list), wantN)
	}

	// The file that changed during the scan is read again, and is fine now.
	sum2, err := s.Scan(context.Background(), []string{lib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := assetByPath(t, s, p("changing.ts")); a.Status != StatusOK {
		t.Fatalf("changed file after rescan = %+v", a)
	}
	// Only the files whose problem may go away are read again.
	retried := 1
	if os.Geteuid() != 0 {
		retried = 2 // and the unreadable one
	}
	if sum2.Added != 0 || sum2.Moved != 0 || sum2.Missing != 0 || sum2.Updated != retried ||
		sum2.Unchanged != len(want)-1-retried {
		t.Fatalf("rescan = %+v, want %d updated", counts(sum2), retried)
	}
}

func TestProbeEntryUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory passed where a file was expected: opening works, it is not a regular file.
	o := probeEntry(context.Background(), &walkEntry{path: dir, container: ContainerTS}, nil)
	if o.res.problem != "not a regular file" {
		t.Fatalf("directory: %+v", o.res)
	}
	// A path that vanished between the walk and the read.
	o = probeEntry(context.Background(), &walkEntry{path: filepath.Join(dir, "gone.ts"), container: ContainerTS}, nil)
	if !strings.HasPrefix(o.res.problem, "unreadable: open: no such file") || !o.retry {
		t.Fatalf("vanished file: %+v retry=%v", o.res, o.retry)
	}
}

func TestScanCanceled(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	for i := range 20 {
		writeFile(t, filepath.Join(lib, fmt.Sprintf("clip%02d.ts", i)), smallClip(t, "ts"))
	}
	s := openTestStore(t, dir, Options{})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := s.Scan(ctx, []string{lib}, func(p ScanProgress) {
		n++
		if p.FilesRead == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan = %v, want context.Canceled", err)
	}
	// What was written stays; the next scan finishes the job.
	sum, err := s.Scan(context.Background(), []string{lib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(context.Background(), Filter{Status: string(StatusOK)})
	if len(list) != 20 || sum.Added+sum.Unchanged != 20 {
		t.Fatalf("after canceled scan and rescan: %d ok, %+v", len(list), counts(sum))
	}
}

// BenchmarkRescan1000 rescans a library of 1,000 small files where nothing changed, and
// reports files/s.
func BenchmarkRescan1000(b *testing.B) {
	dir := b.TempDir()
	lib := filepath.Join(dir, "lib")
	clip := genClip(b, testmedia.Options{Width: 64, Height: 48, Duration: time.Second, Container: "ts", NoAudio: true})
	for i := range 1000 {
		p := filepath.Join(lib, "shows", fmt.Sprintf("Show %02d", i/50), "Season 01",
			fmt.Sprintf("Show %02d - S01E%02d - Episode.ts", i/50, i%50))
		writeFile(b, p, clip)
		if i%10 == 0 {
			writeFile(b, strings.TrimSuffix(p, ".ts")+".cue.yaml", []byte("cues: [500ms]\n"))
		}
	}
	s := openTestStore(b, dir, Options{})
	defer s.Close()
	ctx := context.Background()
	if sum, err := s.Scan(ctx, []string{lib}, nil); err != nil || sum.Added != 1000 {
		b.Fatalf("first scan: %+v %v", counts(sum), err)
	}
	b.ResetTimer()
	for b.Loop() {
		sum, err := s.Scan(ctx, []string{lib}, nil)
		if err != nil || sum.Unchanged != 1000 {
			b.Fatalf("rescan: %+v %v", counts(sum), err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkFirstScan1000 scans a new library of 1,000 distinct clips (2 s,
// 320x180, H.264 + AAC) into an empty database, and reports files/s and MB/s.
func BenchmarkFirstScan1000(b *testing.B) {
	dir := b.TempDir()
	lib := filepath.Join(dir, "lib")
	var total int64
	for i := range 1000 {
		clip := genClip(b, testmedia.Options{Width: 320, Height: 180, Duration: 2 * time.Second, Container: "ts", Seed: int64(i), Label: fmt.Sprintf("clip %d", i)})
		writeFile(b, filepath.Join(lib, "ads", fmt.Sprintf("ad-%04d.ts", i)), clip)
		total += int64(len(clip))
	}
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b, b.TempDir(), Options{})
		b.StartTimer()
		sum, err := s.Scan(ctx, []string{lib}, nil)
		if err != nil || sum.Added != 1000 {
			b.Fatalf("scan: %+v %v", counts(sum), err)
		}
		n++
	}
	b.ReportMetric(float64(n)*1000/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(n)*float64(total)/1e6/b.Elapsed().Seconds(), "MB/s")
}
