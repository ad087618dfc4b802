package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestE2ECMAF serves the e2e channel and checks its CMAF HLS variant and its
// DASH manifest with real clients, all at once: ffmpeg reads cmaf.m3u8 and
// manifest.mpd for 30 s each (across several item boundaries) without a word
// on stderr, GStreamer plays cmaf.m3u8 through hlsdemux, hls.js plays
// cmaf.m3u8 and dash.js the MPD in headless Chromium; and the playlists,
// manifest, init segments and fragments keep their contracts (same segments
// as index.m3u8, identical bytes on every request, 4xx for hostile requests).
func TestE2ECMAF(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if _, err := exec.LookPath("node"); err != nil {
			needTool(t, "ffmpeg")
		}
	}
	srv := startServer(t, writeE2ELibrary(t), writeChannels(t, e2ePlaylist))

	t.Run("contracts", func(t *testing.T) {
		t.Parallel()
		code, master := get(t, srv.channelURL("master.m3u8"))
		require.Equal(t, http.StatusOK, code, master)
		require.Contains(t, master, "\nindex.m3u8\n")
		require.Contains(t, master, "\ncmaf.m3u8\n", "master.m3u8 lists the CMAF variant")

		// cmaf.m3u8 lists the segments index.m3u8 does (retry when a segment
		// boundary falls between the two requests).
		var cm mediaPlaylist
		var body string
		waitFor(t, 10*time.Second, "cmaf.m3u8 and index.m3u8 to list the same window", func() bool {
			ts := srv.fetchPlaylist(t)
			code, body = get(t, srv.channelURL("cmaf.m3u8"))
			require.Equal(t, http.StatusOK, code, body)
			var err error
			cm, err = parseMediaPlaylist(body)
			require.NoError(t, err)
			if cm.mediaSeq != ts.mediaSeq || len(cm.segments) != len(ts.segments) {
				return false
			}
			for i, s := range cm.segments {
				require.Equal(t, "cmaf/"+strconv.FormatInt(s.seq, 10)+".m4s", s.uri)
				require.Equal(t, ts.segments[i].duration, s.duration)
				require.True(t, ts.segments[i].pdt.Equal(s.pdt))
				require.Equal(t, ts.segments[i].discontinuity, s.discontinuity)
			}
			require.Equal(t, ts.discSeq, cm.discSeq)
			return true
		})
		require.Contains(t, body, "#EXT-X-VERSION:6\n")
		maps := regexp.MustCompile(`#EXT-X-MAP:URI="(cmaf/init-(\d+)\.mp4)"`).FindAllStringSubmatch(body, -1)
		require.NotEmpty(t, maps, body)
		initURI := maps[0][1]

		// Init segments and fragments: the same bytes on every request,
		// with an immutable Cache-Control and a strong ETag.
		seg := cm.segments[len(cm.segments)-1]
		for _, path := range []string{
			initURI, seg.uri,
			"cmaf/v/" + strconv.FormatInt(seg.seq, 10) + ".m4s", "cmaf/a/" + strconv.FormatInt(seg.seq, 10) + ".m4s",
			strings.Replace(initURI, "cmaf/", "cmaf/v/", 1), strings.Replace(initURI, "cmaf/", "cmaf/a/", 1),
		} {
			a, ha := getBytes(t, srv.channelURL(path))
			b, hb := getBytes(t, srv.channelURL(path))
			require.Equal(t, a, b, "%s differs between two requests", path)
			require.Equal(t, ha.Get("ETag"), hb.Get("ETag"))
			require.Contains(t, ha.Get("Cache-Control"), "immutable", path)
			wantType := "video/mp4"
			if strings.HasPrefix(path, "cmaf/a/") {
				wantType = "audio/mp4"
			}
			require.Equal(t, wantType, ha.Get("Content-Type"), path)
		}
		// The muxed segment is the video fragment followed by the audio one.
		muxed, _ := getBytes(t, srv.channelURL(seg.uri))
		v, _ := getBytes(t, srv.channelURL("cmaf/v/"+strconv.FormatInt(seg.seq, 10)+".m4s"))
		a, _ := getBytes(t, srv.channelURL("cmaf/a/"+strconv.FormatInt(seg.seq, 10)+".m4s"))
		require.Equal(t, muxed, append(append([]byte(nil), v...), a...))

		// Hostile requests get a clear 4xx.
		for path, want := range map[string]int{
			"cmaf/abc.m4s":                http.StatusBadRequest,
			"cmaf/-1.m4s":                 http.StatusBadRequest,
			"cmaf/007.m4s":                http.StatusBadRequest,
			"cmaf/99999999999.m4s":        http.StatusNotFound,
			"cmaf/x/1.m4s":                http.StatusNotFound,
			"cmaf/1.ts":                   http.StatusNotFound,
			"cmaf/init-abc.mp4":           http.StatusBadRequest,
			"cmaf/init-99999999999.mp4":   http.StatusNotFound,
			"cmaf/v/init-99999999999.mp4": http.StatusNotFound,
		} {
			code, body := get(t, srv.channelURL(path))
			require.Equal(t, want, code, "%s: %s", path, body)
		}
		// A segment that does not start a run names no init segment.
		if seg.seq > 0 && !seg.discontinuity {
			code, body := get(t, srv.channelURL("cmaf/init-"+strconv.FormatInt(seg.seq, 10)+".mp4"))
			if maps[len(maps)-1][2] != strconv.FormatInt(seg.seq, 10) {
				require.Equal(t, http.StatusNotFound, code, body)
			}
		}
		code, body = get(t, srv.base+"/channels/nope/manifest.mpd")
		require.Equal(t, http.StatusNotFound, code, body)

		// The MPD: dynamic, its clock from the log, the HLS window.
		code, body = get(t, srv.channelURL("manifest.mpd"))
		require.Equal(t, http.StatusOK, code, body)
		var mpd struct {
			Type    string `xml:"type,attr"`
			AST     string `xml:"availabilityStartTime,attr"`
			MUP     string `xml:"minimumUpdatePeriod,attr"`
			TSBD    string `xml:"timeShiftBufferDepth,attr"`
			Periods []struct {
				ID   string `xml:"id,attr"`
				Sets []struct {
					ContentType string `xml:"contentType,attr"`
					Template    struct {
						StartNumber int64  `xml:"startNumber,attr"`
						Media       string `xml:"media,attr"`
						Init        string `xml:"initialization,attr"`
					} `xml:"SegmentTemplate"`
				} `xml:"AdaptationSet"`
			} `xml:"Period"`
			UTCTiming struct {
				Value string `xml:"value,attr"`
			} `xml:"UTCTiming"`
		}
		require.NoError(t, xml.Unmarshal([]byte(body), &mpd), body)
		require.Equal(t, "dynamic", mpd.Type)
		require.NotEmpty(t, mpd.AST)
		require.NotEmpty(t, mpd.MUP)
		require.NotEmpty(t, mpd.TSBD)
		require.Equal(t, srv.base+"/api/v1/time", mpd.UTCTiming.Value)
		require.NotEmpty(t, mpd.Periods)
		for _, p := range mpd.Periods {
			require.Len(t, p.Sets, 2, "a video and an audio adaptation set")
			require.Equal(t, "cmaf/$RepresentationID$/t$Time$.m4s", p.Sets[0].Template.Media)
		}
		t.Logf("MPD: %d periods, availabilityStartTime %s, timeShiftBufferDepth %s\n%s", len(mpd.Periods), mpd.AST, mpd.TSBD, body)
	})

	for _, c := range []struct{ name, path string }{{"ffmpeg-cmaf", "cmaf.m3u8"}, {"ffmpeg-dash", "manifest.mpd"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ffmpeg := needTool(t, "ffmpeg")
			start := time.Now()
			out, errOut, err := runTool(t, 3*playSeconds*time.Second, nil, ffmpeg, "-nostdin", "-v", "error",
				"-i", srv.channelURL(c.path), "-t", strconv.Itoa(playSeconds), "-progress", "pipe:1", "-f", "null", "-")
			require.NoError(t, err, "ffmpeg failed; stderr:\n%s", errOut)
			require.Empty(t, errOut, "ffmpeg -v error printed errors while playing %s", c.path)
			progress := lastProgress(out)
			frames, _ := strconv.Atoi(progress["frame"])
			t.Logf("ffmpeg played %d frames of %s (%s) in %s", frames, c.path, progress["out_time"], time.Since(start).Round(time.Millisecond))
			require.GreaterOrEqual(t, frames, playSeconds*e2eFPS-e2eFPS, "ffmpeg stopped early: %v", progress)
		})
	}

	// GStreamer's hlsdemux plays cmaf.m3u8 (video and audio decoded, in
	// real time) for 20 s without an error.
	t.Run("gstreamer", func(t *testing.T) {
		t.Parallel()
		gst := needTool(t, "gst-launch-1.0")
		inspect := needTool(t, "gst-inspect-1.0")
		for _, el := range []string{"hlsdemux", "avdec_h264"} {
			if exec.Command(inspect, "--exists", el).Run() != nil {
				if requireTools() {
					t.Fatalf("GStreamer element %s missing (ONAIR_REQUIRE_TOOLS=1)", el)
				}
				t.Skipf("SKIP: GStreamer element %s not found", el)
			}
		}
		const seconds = 20
		ctx, cancel := context.WithTimeout(context.Background(), seconds*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, gst, "-v", "playbin", "uri="+srv.channelURL("cmaf.m3u8"),
			"video-sink=fakesink sync=true", "audio-sink=fakesink sync=true")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		log := out.String()
		require.Error(t, ctx.Err(), "gst-launch-1.0 ended before %d s: %v\n%s", seconds, err, tail(log, 40))
		for line := range strings.SplitSeq(log, "\n") {
			require.NotContains(t, line, "ERROR", "GStreamer reported an error:\n%s", tail(log, 40))
		}
		require.Contains(t, log, "Setting pipeline to PLAYING", "the pipeline never ran:\n%s", tail(log, 40))
		require.Contains(t, log, "video/x-raw", "no video was decoded:\n%s", tail(log, 40))
		require.Contains(t, log, "audio/x-raw", "no audio was decoded:\n%s", tail(log, 40))
	})

	t.Run("hlsjs", func(t *testing.T) {
		t.Parallel()
		rep := playInBrowser(t, srv, "player.html", "hls.min.js", filepath.Join("hls.js", "dist", "hls.min.js"), srv.channelURL("cmaf.m3u8"))
		require.Equal(t, 320, rep.Final.Width)
		require.Equal(t, 180, rep.Final.Height)
	})

	t.Run("dashjs", func(t *testing.T) {
		t.Parallel()
		rep := playInBrowser(t, srv, "dash.html", "dash.all.min.js", filepath.Join("dashjs", "dist", "modern", "umd", "dash.all.min.js"), srv.channelURL("manifest.mpd"))
		require.Equal(t, 320, rep.Final.Width)
		require.Equal(t, 180, rep.Final.Height)
	})
}

// playInBrowser plays src for playSeconds in headless Chromium on page (of
// tests/browser, served on another origin with script, a file of
// node_modules, beside it) and checks that playback started, had no fatal
// error and advanced with the wall clock.
func playInBrowser(t *testing.T, srv *e2eServer, page, script, scriptRel, src string) playReport {
	t.Helper()
	node := needNode(t)
	needFile(t, chromiumPath(), "chromium", "apt-get install chromium, or set CHROMIUM")
	browserDir, err := filepath.Abs(filepath.Join("..", "..", "tests", "browser"))
	require.NoError(t, err)
	scriptPath := filepath.Join(browserDir, "node_modules", scriptRel)
	needFile(t, scriptPath, "node_modules/"+scriptRel, "run make browser-deps")
	needFile(t, filepath.Join(browserDir, "node_modules", "playwright-core", "package.json"), "node_modules/playwright-core", "run make browser-deps")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(browserDir, page))
	})
	mux.HandleFunc("GET /"+script, func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, scriptPath)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	ps := httptest.NewServer(mux)
	defer ps.Close()
	shot := filepath.Join(artifactsDir(t), strings.TrimSuffix(page, ".html")+".png")
	out, errOut, err := runTool(t, 3*playSeconds*time.Second, nil, node, filepath.Join(browserDir, "play.mjs"),
		ps.URL+"/?src="+url.QueryEscape(src), strconv.Itoa(playSeconds), shot)
	require.NoError(t, err, "play.mjs failed; stderr:\n%s\nstdout:\n%s", errOut, out)
	var rep playReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	t.Logf("%s: started in %d ms, %d samples, currentTime %.2f → %.2f, %d stalls, %d errors, %d fragments, readyState %d, %dx%d; screenshot %s",
		rep.HLSVersion, rep.StartupMs, len(rep.Samples), rep.first(), rep.last(), len(rep.Stalls), len(rep.Errors), len(rep.Frags),
		rep.Final.ReadyState, rep.Final.Width, rep.Final.Height, shot)
	for _, e := range rep.Errors {
		t.Logf("player error: %+v", e)
	}
	for _, s := range rep.Stalls {
		t.Logf("stall (waiting) at currentTime %.2f", s.At)
	}
	for _, c := range rep.ConsoleErrors {
		t.Logf("console: %s", c)
	}
	for _, e := range rep.Errors {
		require.False(t, e.Fatal, "fatal player error: %+v", e)
	}
	require.NotEmpty(t, rep.Samples, "playback never started")
	span := rep.Samples[len(rep.Samples)-1].Wall - rep.Samples[0].Wall
	require.GreaterOrEqual(t, span, float64(playSeconds)-0.5)
	require.GreaterOrEqual(t, rep.last()-rep.first(), float64(playSeconds-5),
		"currentTime advanced %.2f s in %.1f s of wall time", rep.last()-rep.first(), span)
	require.GreaterOrEqual(t, rep.Final.ReadyState, 2, "final readyState")
	// After the start, playback never waited for data for long: no stall
	// once it ran (a stall at the very start is the player filling its
	// buffer).
	for _, s := range rep.Stalls {
		require.Less(t, s.At, rep.first()+1, "playback stalled at %.2f", s.At)
	}
	return rep
}

// getBytes GETs url, requiring 200, and returns the body and headers.
func getBytes(t *testing.T, u string) ([]byte, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, b)
	return b, resp.Header
}
