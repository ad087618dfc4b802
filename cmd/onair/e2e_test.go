package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/muxer/tr101290"
)

// playSeconds is how long the real-time playback tests play the channel.
const playSeconds = 30

// TestE2EPlayback serves the e2e channel and plays it with three real clients
// at once: ffmpeg reading the live playlist, the concatenation of 20
// consecutive segments through ffmpeg, ffprobe and the TR 101 290 analyzer,
// and hls.js in headless Chromium (on a page of another origin, so CORS is
// exercised too). Live HLS plays at real time, so the clients take about 40 s
// once the server is ready.
func TestE2EPlayback(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if _, err := exec.LookPath("node"); err != nil {
			needTool(t, "ffmpeg") // no client at all: skip before starting a server
		}
	}
	srv := startServer(t, writeE2ELibrary(t), writeChannels(t, e2ePlaylist))

	// ffmpeg plays 30 s of the live playlist, across several
	// program → bumper → ad → program boundaries, without a word on stderr.
	t.Run("ffmpeg", func(t *testing.T) {
		t.Parallel()
		ffmpeg := needTool(t, "ffmpeg")
		start := time.Now()
		out, errOut, err := runTool(t, 3*playSeconds*time.Second, nil, ffmpeg, "-nostdin", "-v", "error",
			"-i", srv.channelURL("index.m3u8"), "-t", strconv.Itoa(playSeconds), "-progress", "pipe:1", "-f", "null", "-")
		require.NoError(t, err, "ffmpeg failed; stderr:\n%s", errOut)
		require.Empty(t, errOut, "ffmpeg -v error printed errors while playing the live playlist")
		progress := lastProgress(out)
		frames, _ := strconv.Atoi(progress["frame"])
		t.Logf("ffmpeg played %d frames (%s) in %s", frames, progress["out_time"], time.Since(start).Round(time.Millisecond))
		require.GreaterOrEqual(t, frames, playSeconds*e2eFPS-e2eFPS, "ffmpeg stopped early: %v", progress)
	})

	// A client polling the media playlist is a viewer in the status API.
	t.Run("viewers", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodGet, srv.channelURL("index.m3u8"), nil)
		require.NoError(t, err)
		req.Header.Set("User-Agent", "onair-viewer-check")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		st := srv.status(t)
		require.GreaterOrEqual(t, st.Viewers["hls"], 1, "%+v", st.Viewers)
		require.GreaterOrEqual(t, st.ViewersTotal, st.Viewers["hls"])
	})

	// 20 consecutive segments, each fetched as soon as it is listed, make
	// one clean MPEG-TS stream: ffmpeg decodes it silently, ffprobe counts
	// exactly the frames the playlist announced, TR 101 290 finds no
	// priority 1 or 2 error.
	t.Run("segments", func(t *testing.T) {
		t.Parallel()
		ffmpeg := needTool(t, "ffmpeg")
		ffprobe := needTool(t, "ffprobe")
		const n = 20
		data, segs := srv.collectSegments(t, -1, func(segs []hlsSegment) bool { return len(segs) == n }, 4*n*2*time.Second)
		cat := bytes.Join(data, nil)
		var total time.Duration
		discontinuities := 0
		for i, s := range segs {
			total += s.duration
			if i > 0 && s.discontinuity {
				discontinuities++
			}
		}
		path := filepath.Join(artifactsDir(t), "segments.ts")
		require.NoError(t, os.WriteFile(path, cat, 0o644))
		t.Logf("segments %d-%d: %d bytes, %s, %d discontinuities, in %s", segs[0].seq, segs[n-1].seq, len(cat), total, discontinuities, path)

		_, errOut, err := runTool(t, time.Minute, cat, ffmpeg, "-nostdin", "-v", "error", "-f", "mpegts", "-i", "-", "-f", "null", "-")
		require.NoError(t, err, errOut)
		require.Empty(t, errOut, "ffmpeg -v error printed errors decoding the concatenated segments")

		frames := probeFrames(t, ffprobe, path)
		t.Logf("ffprobe -count_frames: %d video, %d audio frames", frames["video"], frames["audio"])
		wantVideo := int(math.Round(total.Seconds() * e2eFPS))
		require.Equal(t, wantVideo, frames["video"], "video frames of %s of segments", total)
		// AAC-LC at 48 kHz: 1024 samples a frame; each item's audio may end up to
		// one frame off its video, so allow one frame per segment.
		wantAudio := total.Seconds() * 48000 / 1024
		require.InDelta(t, wantAudio, float64(frames["audio"]), float64(n), "audio frames of %s of segments", total)

		rep, err := tr101290.Analyze(bytes.NewReader(cat))
		require.NoError(t, err)
		require.Zero(t, rep.Counters.Priority1(), "TR 101 290 priority 1: %v, first errors: %+v", rep.Counters.Map(), firstErrors(rep))
		require.Zero(t, rep.Counters.Priority2(), "TR 101 290 priority 2: %v, first errors: %+v", rep.Counters.Map(), firstErrors(rep))
		require.Equal(t, int64(len(cat)/188), rep.Packets)
		t.Logf("TR 101 290: %d packets, max PCR interval %.1f ms, max PAT interval %.1f ms, max PTS interval %.1f ms",
			rep.Packets, ms(rep.Stats.MaxPCRInterval), ms(rep.Stats.MaxPATInterval), ms(rep.Stats.MaxPTSInterval))
	})

	// hls.js in Chromium plays the channel for 30 s from a page on another
	// origin, crossing item boundaries, without a fatal error.
	t.Run("hlsjs", func(t *testing.T) {
		t.Parallel()
		node := needNode(t)
		needFile(t, chromiumPath(), "chromium", "apt-get install chromium, or set CHROMIUM")
		browserDir, err := filepath.Abs(filepath.Join("..", "..", "tests", "browser"))
		require.NoError(t, err)
		hlsJS := filepath.Join(browserDir, "node_modules", "hls.js", "dist", "hls.min.js")
		needFile(t, hlsJS, "node_modules/hls.js", "run make browser-deps")
		needFile(t, filepath.Join(browserDir, "node_modules", "playwright-core", "package.json"), "node_modules/playwright-core", "run make browser-deps")

		page := httptest.NewServer(playerPage(browserDir, hlsJS))
		defer page.Close()
		pageURL := page.URL + "/?src=" + url.QueryEscape(srv.channelURL("index.m3u8"))

		items, stopWatch := srv.watchItems(t)
		shot := filepath.Join(artifactsDir(t), "hlsjs.png")
		start := time.Now()
		out, errOut, err := runTool(t, 3*playSeconds*time.Second, nil, node, filepath.Join(browserDir, "play.mjs"), pageURL, strconv.Itoa(playSeconds), shot)
		require.NoError(t, err, "play.mjs failed; stderr:\n%s\nstdout:\n%s", errOut, out)
		stopWatch()
		var rep playReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		t.Logf("hls.js %s: started in %d ms, %d samples, currentTime %.2f → %.2f, %d stalls, %d errors, %d fragments shown, readyState %d, %dx%d, wall %s; screenshot %s",
			rep.HLSVersion, rep.StartupMs, len(rep.Samples), rep.first(), rep.last(), len(rep.Stalls), len(rep.Errors), len(rep.Frags),
			rep.Final.ReadyState, rep.Final.Width, rep.Final.Height, time.Since(start).Round(time.Millisecond), shot)
		for _, e := range rep.Errors {
			t.Logf("hls.js error: %+v", e)
		}
		for _, s := range rep.Stalls {
			t.Logf("stall (waiting) at currentTime %.2f", s.At)
		}
		for _, c := range rep.ConsoleErrors {
			t.Logf("console: %s", c)
		}
		for _, e := range rep.Errors {
			require.False(t, e.Fatal, "fatal hls.js error: %+v", e)
		}
		require.NotEmpty(t, rep.Samples, "playback never started")
		span := rep.Samples[len(rep.Samples)-1].Wall - rep.Samples[0].Wall
		require.GreaterOrEqual(t, span, float64(playSeconds)-0.5)
		require.GreaterOrEqual(t, rep.last()-rep.first(), float64(playSeconds-5),
			"currentTime advanced %.2f s in %.1f s of wall time", rep.last()-rep.first(), span)
		require.GreaterOrEqual(t, rep.Final.ReadyState, 2, "final readyState")
		require.Equal(t, 320, rep.Final.Width)
		require.Equal(t, 180, rep.Final.Height)

		// The fragments shown, placed by their PROGRAM-DATE-TIME on the items
		// the status API reported on air.
		seen := map[int64]string{}
		for _, f := range rep.Frags {
			if f.PDT == 0 {
				continue
			}
			mid := time.UnixMilli(int64(f.PDT)).Add(time.Duration(f.Duration * float64(time.Second) / 2))
			if it, ok := items.at(mid); ok {
				seen[it.Index] = it.Kind + " " + filepath.Base(it.Asset)
			}
		}
		t.Logf("items shown: %v", seen)
		require.GreaterOrEqual(t, len(seen), 2, "playback should cross at least one item boundary")
	})
}

// TestE2EBadInput damages the library under a playing channel: an upcoming
// ad gets 64 KB of garbage in its middle (size and mtime kept, so the scanner
// does not notice) and the bumper after it is deleted. Every segment of both
// items is still a valid MPEG-TS segment of the right length (the slate), the
// playlist keeps advancing, and the channel's status shows the errors.
func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	ffmpeg := needTool(t, "ffmpeg")
	ffprobe := needTool(t, "ffprobe")
	root := writeE2ELibrary(t)
	// Ads and bumpers only, 16 s a pass, so that the damaged items come soon.
	srv := startServer(t, root, writeChannels(t, `number: "902"
name: E2E Bad Input
segment: 2s
playlist:
  - asset: ads/ad1.ts
  - asset: bumpers/back.ts
  - asset: ads/ad2.ts
  - asset: bumpers/next.ts
`))
	otherAd := map[string]string{"ad1.ts": "ad2.ts", "ad2.ts": "ad1.ts"}
	bumperAfter := map[string]string{"ad1.ts": "back.ts", "ad2.ts": "next.ts"}
	items, _ := srv.watchItems(t)

	// The damaged ad is the one after the next ad, at least 9.5 s ahead: the
	// deletion makes the server rescan the library and reload its channels
	// (which takes a few seconds under -race) before the damage plays.
	var next *statusItem
	waitFor(t, 20*time.Second, "an ad at least 1.5 s ahead", func() bool {
		st := srv.status(t)
		if st.Next != nil && st.Next.Kind == "ad" && time.Until(st.Next.Start) > 1500*time.Millisecond {
			next = st.Next
		}
		return next != nil
	})
	adName := otherAd[filepath.Base(next.Asset)]
	ad := statusItem{
		Index: next.Index + 2, Kind: "ad", Start: next.End.Add(3 * time.Second), End: next.End.Add(8 * time.Second),
		Asset: filepath.Join(root, "ads", adName),
	}
	deleted := filepath.Join(root, "bumpers", bumperAfter[adName])
	before := srv.fetchPlaylist(t)
	firstSeq, startSeq := before.mediaSeq, before.segments[len(before.segments)-1].seq
	corruptMiddle(t, ad.Asset, 64<<10)
	require.NoError(t, os.Remove(deleted))
	t.Logf("corrupted %s (item %d, on air in %s) and deleted %s, the item after it",
		ad.Asset, ad.Index, time.Until(ad.Start).Round(time.Millisecond), deleted)
	badFrom, badTo := ad.Start, ad.End.Add(3*time.Second) // the ad and the 3 s bumper

	data, segs := srv.collectSegments(t, startSeq, func(segs []hlsSegment) bool {
		return len(segs) > 0 && !segs[len(segs)-1].pdt.Before(badTo)
	}, 60*time.Second)
	var badSeqs []int64
	for i, s := range segs {
		if s.pdt.Before(badFrom) || !s.pdt.Before(badTo) {
			continue
		}
		badSeqs = append(badSeqs, s.seq)
		rep, err := tr101290.Analyze(bytes.NewReader(data[i]))
		require.NoError(t, err)
		require.True(t, rep.OK(), "segment %d: TR 101 290 %v, first errors %+v", s.seq, rep.Counters.Map(), firstErrors(rep))
		p := filepath.Join(artifactsDir(t), "seg-"+strconv.FormatInt(s.seq, 10)+".ts")
		require.NoError(t, os.WriteFile(p, data[i], 0o644))
		frames := probeFrames(t, ffprobe, p)
		t.Logf("segment %d: %s after the ad's start, %s, %d bytes, %d video frames", s.seq, s.pdt.Sub(badFrom), s.duration, len(data[i]), frames["video"])
		require.Equal(t, int(math.Round(s.duration.Seconds()*e2eFPS)), frames["video"], "video frames of segment %d", s.seq)
	}
	require.Len(t, badSeqs, 5, "segments of the damaged ad (5 s) and bumper (3 s)")
	cat := bytes.Join(data, nil)
	path := filepath.Join(artifactsDir(t), "bad-input.ts")
	require.NoError(t, os.WriteFile(path, cat, 0o644))
	_, errOut, err := runTool(t, time.Minute, cat, ffmpeg, "-nostdin", "-v", "error", "-f", "mpegts", "-i", "-", "-f", "null", "-")
	require.NoError(t, err, errOut)
	require.Empty(t, errOut, "ffmpeg -v error printed errors decoding segments %d-%d (damaged: %v; saved in %s)",
		segs[0].seq, segs[len(segs)-1].seq, badSeqs, path)

	// The playlist keeps advancing past the damaged items.
	last := segs[len(segs)-1].seq
	waitFor(t, 20*time.Second, "the playlist to move on", func() bool {
		p := srv.fetchPlaylist(t)
		return p.mediaSeq > firstSeq && p.segments[len(p.segments)-1].seq > last
	})

	// The damaged items were the ones expected.
	got, ok := items.at(ad.Start.Add(time.Second))
	require.True(t, ok, "the status API never showed the damaged ad")
	require.Equal(t, ad.Index, got.Index)
	require.Equal(t, ad.Asset, got.Asset)
	bumper, ok := items.at(ad.End.Add(time.Second))
	require.True(t, ok, "the status API never showed the item after the ad")
	require.Equal(t, ad.Index+1, bumper.Index)
	require.Equal(t, deleted, bumper.Asset)

	st := srv.status(t)
	var msgs []string
	errSeqs := map[int64]bool{}
	for _, e := range st.Errors {
		msgs = append(msgs, strconv.FormatInt(e.Seq, 10)+" item "+strconv.FormatInt(e.Item, 10)+": "+e.Message)
		errSeqs[e.Seq] = true
	}
	t.Logf("status: %d slate segments, errors:\n%s", st.Slate, strings.Join(msgs, "\n"))
	var logged []string
	for line := range strings.SplitSeq(srv.stderr.String(), "\n") {
		if strings.Contains(line, "slate") || strings.Contains(line, "scanned") || strings.Contains(line, "level=ERROR") {
			logged = append(logged, line)
		}
	}
	t.Logf("server log:\n%s", strings.Join(logged, "\n"))
	require.GreaterOrEqual(t, st.Slate, int64(len(badSeqs)), "slate segments")
	for _, seq := range badSeqs {
		require.True(t, errSeqs[seq], "no error in the channel's status for damaged segment %d", seq)
	}
	all := strings.Join(msgs, "\n")
	require.Contains(t, all, adName+": corrupt", "the corrupted ad is named in the errors")
	require.Contains(t, all, filepath.Base(deleted), "the deleted bumper is named in the errors")
}

// corruptMiddle overwrites n bytes in the middle of a file with garbage,
// keeping its size and modification time.
func corruptMiddle(t *testing.T, path string, n int) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Greater(t, fi.Size(), int64(n)+188*8, "%s is too small to corrupt %d bytes of its middle", path, n)
	garbage := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(garbage, (fi.Size()-int64(n))/2)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Chtimes(path, fi.ModTime(), fi.ModTime()))
	after, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fi.Size(), after.Size())
	require.True(t, fi.ModTime().Equal(after.ModTime()))
}

// chromiumPath is the browser play.mjs starts: $CHROMIUM or Debian's.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// playerPage serves tests/browser/player.html at / and hls.js beside it.
func playerPage(browserDir, hlsJS string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(browserDir, "player.html"))
	})
	mux.HandleFunc("GET /hls.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, hlsJS)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// playReport is what play.mjs prints.
type playReport struct {
	HLSVersion string `json:"hlsVersion"`
	StartupMs  int    `json:"startupMs"`
	Samples    []struct {
		Wall        float64 `json:"wall"`
		CurrentTime float64 `json:"ct"`
		ReadyState  int     `json:"rs"`
		Paused      bool    `json:"paused"`
	} `json:"samples"`
	Errors []struct {
		Fatal   bool   `json:"fatal"`
		Type    string `json:"type"`
		Details string `json:"details"`
		Reason  string `json:"reason"`
		URL     string `json:"url"`
	} `json:"errors"`
	Stalls []struct {
		At float64 `json:"at"`
	} `json:"stalls"`
	Frags []struct {
		SN       int64   `json:"sn"`
		PDT      float64 `json:"pdt"`
		Start    float64 `json:"start"`
		Duration float64 `json:"duration"`
	} `json:"frags"`
	Final struct {
		CurrentTime float64 `json:"ct"`
		ReadyState  int     `json:"rs"`
		Width       int     `json:"w"`
		Height      int     `json:"h"`
	} `json:"final"`
	ConsoleErrors []string `json:"consoleErrors"`
}

func (r *playReport) first() float64 {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[0].CurrentTime
}

func (r *playReport) last() float64 {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[len(r.Samples)-1].CurrentTime
}

// lastProgress returns the last block of ffmpeg -progress key=value lines.
func lastProgress(out string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

// firstErrors returns up to 5 of a report's errors.
func firstErrors(r tr101290.Report) []tr101290.Error {
	return r.Errors[:min(len(r.Errors), 5)]
}

// ms converts 90 kHz ticks to milliseconds.
func ms(ticks int64) float64 { return float64(ticks) / 90 }
