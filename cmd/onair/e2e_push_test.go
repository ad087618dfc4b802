package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/muxer/tr101290"
)

// freeRTPPorts returns an even UDP port of 127.0.0.1 whose successor is free
// too (RTP and RTCP of RTSP over UDP).
func freeRTPPorts(t *testing.T) int {
	t.Helper()
	for range 200 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if p%2 != 0 || p >= 65534 {
			continue
		}
		c2, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			continue
		}
		c2.Close()
		return p
	}
	t.Fatal("no free pair of UDP ports")
	return 0
}

var rtspLine = regexp.MustCompile(`rtsp +rtsp://([^/\s]+)/`)

// rtspURL is the RTSP URL of the e2e channel, from serve's banner.
func (s *e2eServer) rtspURL(t *testing.T) string {
	t.Helper()
	m := rtspLine.FindStringSubmatch(s.stdout.String())
	require.NotNil(t, m, "no rtsp line in serve's output:\n%s", s.stdout)
	return "rtsp://" + m[1] + "/" + e2eChannel
}

// haveTool reports whether a tool is on PATH; a missing one fails the test
// under ONAIR_REQUIRE_TOOLS=1 and is logged as skipped otherwise.
func haveTool(t *testing.T, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return true
	}
	if requireTools() {
		t.Errorf("%s not found on PATH (ONAIR_REQUIRE_TOOLS=1)", name)
	} else {
		t.Logf("SKIP: %s not found", name)
	}
	return false
}

// TestE2EPush plays the e2e channel through the push outputs with real
// clients at once, all fed by the channel's one shared session: ffmpeg
// reads 30 s of continuous TS and of RTSP over TCP and over UDP (across
// several item boundaries) without a word on stderr; GStreamer reads
// continuous TS and RTSP; 50 viewers read continuous TS and each gets a
// stream with no TR 101 290 continuity or PCR error; Chromium plays it over
// WHEP and decodes frames. The status API counts the viewers of each output
// while they play. The clients run as goroutines (not parallel subtests), so
// they overlap whatever -parallel is.
func TestE2EPush(t *testing.T) {
	t.Parallel()
	udp := freeRTPPorts(t)
	srv := startServer(t, writeE2ELibrary(t), writeChannels(t, e2ePlaylist), "--rtsp-udp", strconv.Itoa(udp), "--tuners", "100")
	tsURL := srv.base + "/channels/" + e2eChannel + ".ts"
	rtspURL := srv.rtspURL(t)

	var wg sync.WaitGroup
	results := map[string]func(t *testing.T){}
	var mu sync.Mutex
	client := func(name string, f func() func(t *testing.T)) {
		wg.Go(func() {
			check := f()
			mu.Lock()
			results[name] = check
			mu.Unlock()
		})
	}

	if haveTool(t, "ffmpeg") {
		for _, c := range []struct{ name, url, transport string }{
			{"ffmpeg-ts", tsURL, ""},
			{"ffmpeg-rtsp-tcp", rtspURL, "tcp"},
			{"ffmpeg-rtsp-udp", rtspURL, "udp"},
		} {
			client(c.name, func() func(t *testing.T) {
				args := []string{"-nostdin", "-v", "error"}
				if c.transport != "" {
					args = append(args, "-rtsp_transport", c.transport)
				}
				args = append(args, "-i", c.url, "-t", strconv.Itoa(playSeconds), "-progress", "pipe:1", "-f", "null", "-")
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 3*playSeconds*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, "ffmpeg", args...)
				var out, errOut strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &errOut
				err := cmd.Run()
				took := time.Since(start)
				return func(t *testing.T) {
					require.NoError(t, err, "ffmpeg failed; stderr:\n%s", errOut.String())
					require.Empty(t, errOut.String(), "ffmpeg -v error printed errors")
					progress := lastProgress(out.String())
					frames, _ := strconv.Atoi(progress["frame"])
					t.Logf("%s: %d frames (%s) in %s", c.name, frames, progress["out_time"], took.Round(time.Millisecond))
					require.GreaterOrEqual(t, frames, playSeconds*e2eFPS-e2eFPS, "ffmpeg stopped early: %v", progress)
				}
			})
		}
	}

	if haveTool(t, "gst-launch-1.0") {
		for _, c := range []struct{ name, pipeline string }{
			{"gstreamer-ts", "souphttpsrc location=" + tsURL + " ! tsdemux ! h264parse ! avdec_h264 ! fakesink sync=false"},
			{"gstreamer-rtsp-tcp", "rtspsrc location=" + rtspURL + " protocols=tcp latency=500 ! rtph264depay ! h264parse ! avdec_h264 ! fakesink sync=false"},
		} {
			client(c.name, func() func(t *testing.T) {
				const secs = 20
				ctx, cancel := context.WithTimeout(context.Background(), secs*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, "gst-launch-1.0", append([]string{"-m"}, strings.Fields(c.pipeline)...)...)
				out, _ := cmd.CombinedOutput() // killed at the deadline: a live stream has no end
				s := string(out)
				return func(t *testing.T) {
					require.NotContains(t, s, "ERROR", "GStreamer reported an error:\n%s", tail(s, 40))
					require.Contains(t, s, "Setting pipeline to PLAYING", tail(s, 40))
					require.NotContains(t, s, "Got EOS", "the stream ended:\n%s", tail(s, 40))
					require.Error(t, ctx.Err(), "gst-launch ran until it was stopped")
				}
			})
		}
	}

	const fifty, fiftySecs = 50, 15
	client("fifty-ts-viewers", func() func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), fiftySecs*time.Second)
		defer cancel()
		reports := make([]tr101290.Report, fifty)
		sizes := make([]int64, fifty)
		var vg sync.WaitGroup
		for i := range fifty {
			vg.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, tsURL, nil)
				if err != nil {
					return
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				an := tr101290.NewAnalyzer(tr101290.Options{})
				sizes[i], _ = io.Copy(an, resp.Body)
				_ = an.Close()
				reports[i] = an.Report()
			})
		}
		vg.Wait()
		return func(t *testing.T) {
			for i, rep := range reports {
				require.Greater(t, sizes[i], int64(100_000), "viewer %d got %d bytes", i, sizes[i])
				require.Zero(t, rep.Counters.Priority1(), "viewer %d: %v %+v", i, rep.Counters.Map(), firstErrors(rep))
				require.Zero(t, rep.Counters.PCRRepetitionError+rep.Counters.PCRDiscontinuityIndicatorError,
					"viewer %d: PCR continuity %v %+v", i, rep.Counters.Map(), firstErrors(rep))
			}
			t.Logf("%d viewers: %d bytes each (first), max PCR interval %.1f ms", fifty, sizes[0], ms(reports[0].Stats.MaxPCRInterval))
		}
	})

	browserDir, err := filepath.Abs(filepath.Join("..", "..", "tests", "browser"))
	require.NoError(t, err)
	if haveTool(t, "node") && haveFile(t, chromiumPath()) && haveFile(t, filepath.Join(browserDir, "node_modules", "playwright-core", "package.json")) {
		client("whep-chromium", func() func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
				http.ServeFile(w, r, filepath.Join(browserDir, "whep.html"))
			})
			mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
			page := httptest.NewServer(mux) // another origin: CORS preflight on the POST
			defer page.Close()
			pageURL := page.URL + "/?src=" + url.QueryEscape(srv.channelURL("whep"))
			const secs = 20
			shot := filepath.Join(artifactsDir(t), "whep.png")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", filepath.Join(browserDir, "whep.mjs"), pageURL, strconv.Itoa(secs), shot)
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			runErr := cmd.Run()
			return func(t *testing.T) {
				require.NoError(t, runErr, "whep.mjs failed; stderr:\n%s\nstdout:\n%s", errOut.String(), out.String())
				var rep struct {
					ConnectMs *int   `json:"connectMs"`
					State     string `json:"state"`
					Status    int    `json:"status"`
					Errors    []string
					Samples   []struct {
						Wall                         float64
						FramesDecoded, Width, Height int
						AudioTracks                  int
					}
				}
				require.NoError(t, json.Unmarshal([]byte(out.String()), &rep), out.String())
				require.Equal(t, http.StatusCreated, rep.Status, out.String())
				require.Empty(t, rep.Errors)
				require.NotNil(t, rep.ConnectMs, "never connected: %s", out.String())
				require.NotEmpty(t, rep.Samples)
				first, last := rep.Samples[0], rep.Samples[len(rep.Samples)-1]
				t.Logf("WHEP: connected in %d ms; framesDecoded %d → %d in %.1f s; %dx%d; screenshot %s",
					*rep.ConnectMs, first.FramesDecoded, last.FramesDecoded, last.Wall-first.Wall, last.Width, last.Height, shot)
				require.GreaterOrEqual(t, last.FramesDecoded-first.FramesDecoded, (secs-2)*e2eFPS, "frames decoded in %d s", secs)
				require.Equal(t, 320, last.Width)
				require.Equal(t, 180, last.Height)
				require.Zero(t, last.AudioTracks, "the e2e library's audio is AAC: WebRTC is video only")
			}
		})
	}

	// The status API, polled while the clients play.
	client("viewers", func() func(t *testing.T) {
		maxSeen := map[string]int{}
		all := false
		var webrtcAudio map[string]any
		for range 100 {
			time.Sleep(250 * time.Millisecond)
			resp, err := http.Get(srv.base + "/api/v1/channels/" + e2eChannel)
			if err != nil {
				continue
			}
			var st channelStatus
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			for k, v := range st.Viewers {
				maxSeen[k] = max(maxSeen[k], v)
			}
			all = all || (st.Viewers["ts"] >= 1 && st.Viewers["rtsp"] >= 1 && st.Viewers["webrtc"] >= 1)
			if w := st.Outputs["webrtc"]; w != nil {
				webrtcAudio = w
			}
		}
		return func(t *testing.T) {
			t.Logf("most viewers seen at once: %v", maxSeen)
			require.True(t, all, "ts, rtsp and webrtc viewers at once in the status API: %v", maxSeen)
			require.GreaterOrEqual(t, maxSeen["ts"], fifty+1)
			require.GreaterOrEqual(t, maxSeen["rtsp"], 2)
			// The sample media's audio is AAC: WebRTC is video only, and the status says why.
			require.Equal(t, false, webrtcAudio["audio"], "%v", webrtcAudio)
			require.Contains(t, webrtcAudio["audio_reason"], "Opus")
		}
	})

	wg.Wait()
	for name, check := range results {
		t.Run(name, check)
	}
}

// haveFile reports whether path exists, like haveTool.
func haveFile(t *testing.T, path string) bool {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return true
	}
	if requireTools() {
		t.Errorf("%s not found (ONAIR_REQUIRE_TOOLS=1)", path)
	} else {
		t.Logf("SKIP: %s not found", path)
	}
	return false
}

// TestE2EWHEPRefusesBadOffers: a broken offer is a 400 with a message, an
// unknown channel a 404.
func TestE2EWHEPRefusesBadOffers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, writeE2ELibrary(t), writeChannels(t, e2ePlaylist))
	for _, c := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/channels/" + e2eChannel + "/whep", "not sdp", http.StatusBadRequest, "invalid SDP offer"},
		{"/channels/nope/whep", "v=0\r\n", http.StatusNotFound, "no such channel"},
	} {
		resp, err := http.Post(srv.base+c.path, "application/sdp", strings.NewReader(c.body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, c.code, resp.StatusCode, string(b))
		require.Contains(t, string(b), c.msg, fmt.Sprint(c))
	}
}
