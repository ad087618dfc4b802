package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestE2EIPTV serves the e2e channel with one tuner and checks what IPTV
// players, media servers and browsers get: the M3U, the XMLTV guide (valid
// for tv_validate_file), the HDHomeRun lineup and its tuner limit, and the
// web app in Chromium (a channel picked on / plays for 20 s; the guide shows
// the programmes of the log; a screenshot of every page).
func TestE2EIPTV(t *testing.T) {
	t.Parallel()
	root := writeE2ELibrary(t)
	// An unplayable file, for the library page.
	require.NoError(t, os.WriteFile(filepath.Join(root, "ads", "broken.ts"), []byte(strings.Repeat("not a transport stream ", 100)), 0o644))
	srv := startServer(t, root, writeChannels(t, e2ePlaylist), "--tuners", "1", "--guide-hours", "2")

	t.Run("m3u", func(t *testing.T) {
		t.Parallel()
		code, body := get(t, srv.base+"/iptv/channels.m3u")
		require.Equal(t, 200, code, body)
		require.True(t, strings.HasPrefix(body, `#EXTM3U url-tvg="`+srv.base+`/iptv/xmltv.xml"`), body)
		require.Contains(t, body, `tvg-id="e2e.onair" tvg-name="E2E Test" tvg-logo="`+srv.base+`/iptv/logos/e2e.png" tvg-chno="901" group-title="Test",E2E Test`+"\n"+srv.base+"/channels/e2e/master.m3u8\n")
		code, body = get(t, srv.base+"/iptv/channels.m3u?format=ts")
		require.Equal(t, 200, code)
		require.Contains(t, body, "\n"+srv.base+"/channels/e2e.ts\n")
		code, _ = get(t, srv.base+"/iptv/logos/e2e.png")
		require.Equal(t, 200, code)
	})

	t.Run("xmltv", func(t *testing.T) {
		t.Parallel()
		tool := needTool(t, "tv_validate_file")
		code, body := get(t, srv.base+"/iptv/xmltv.xml")
		require.Equal(t, 200, code, body)
		require.Contains(t, body, `<channel id="e2e.onair">`)
		require.Contains(t, body, `<title>Demo</title>`)
		require.Contains(t, body, `<episode-num system="onscreen">S01E0`)
		p := filepath.Join(artifactsDir(t), "xmltv.xml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		cmd := exec.Command(tool, p)
		if _, err := os.Stat("/usr/share/xmltv/xmltv.dtd"); err == nil {
			cmd.Env = append(os.Environ(), "XMLTV_SUPPLEMENT=/usr/share/xmltv") // the DTD without the network
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "tv_validate_file:\n%s", out)
	})

	// Plex tunes the lineup's URL; a second viewer of the same channel
	// shares its tuner, and the tuner is free once the viewers leave.
	t.Run("hdhomerun", func(t *testing.T) {
		t.Parallel()
		code, body := get(t, srv.base+"/discover.json")
		require.Equal(t, 200, code)
		var d struct{ TunerCount int }
		require.NoError(t, json.Unmarshal([]byte(body), &d))
		require.Equal(t, 1, d.TunerCount)
		code, body = get(t, srv.base+"/lineup.json")
		require.Equal(t, 200, code)
		var l []struct{ GuideNumber, GuideName, URL string }
		require.NoError(t, json.Unmarshal([]byte(body), &l))
		require.Equal(t, []struct{ GuideNumber, GuideName, URL string }{{"901", "E2E Test", srv.base + "/channels/e2e.ts"}}, l)

		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, l[0].URL, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		buf := make([]byte, 188*10)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err, "the first tune streams")
		require.Equal(t, byte(0x47), buf[0])

		// A second viewer of the tuned channel shares its tuner (a tune of
		// another channel beyond the count gets 503: TestTuners).
		ctx2, cancel2 := context.WithCancel(context.Background())
		req2, err := http.NewRequestWithContext(ctx2, http.MethodGet, l[0].URL, nil)
		require.NoError(t, err)
		resp2, err := http.DefaultClient.Do(req2)
		require.NoError(t, err)
		require.Equal(t, 200, resp2.StatusCode)
		_, err = io.ReadFull(resp2.Body, buf)
		require.NoError(t, err, "the second viewer streams")
		cancel2()
		resp2.Body.Close()

		cancel()
		resp.Body.Close()
		waitFor(t, 10*time.Second, "the tuner to be free", func() bool {
			resp, err := http.Get(l[0].URL)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			return resp.StatusCode == 200
		})
	})

	t.Run("webapp", func(t *testing.T) {
		t.Parallel()
		node := needNode(t)
		needFile(t, chromiumPath(), "chromium", "apt-get install chromium, or set CHROMIUM")
		browserDir, err := filepath.Abs(filepath.Join("..", "..", "tests", "browser"))
		require.NoError(t, err)
		needFile(t, filepath.Join(browserDir, "node_modules", "playwright-core", "package.json"), "node_modules/playwright-core", "run make browser-deps")
		shots := artifactsDir(t)
		// The programmes of the log, before and after the browser looks.
		titles := map[string]bool{}
		guideTitles := func() string {
			code, body := get(t, srv.base+"/api/v1/guide?hours=1&channel=e2e")
			require.Equal(t, 200, code)
			var g struct {
				Channels []struct {
					Programmes []struct{ Title string }
				}
			}
			require.NoError(t, json.Unmarshal([]byte(body), &g))
			require.Len(t, g.Channels, 1)
			for _, p := range g.Channels[0].Programmes {
				titles[p.Title] = true
			}
			return body
		}
		guideTitles()
		out, errOut, err := runTool(t, 3*time.Minute, nil, node, filepath.Join(browserDir, "webapp.mjs"), srv.base, shots, "20")
		require.NoError(t, err, "webapp.mjs failed; stderr:\n%s\nstdout:\n%s", errOut, out)
		var rep struct {
			Pages struct {
				Channels []struct{ ID, Name, Now string }
				Watch    struct {
					URL       string
					StartupMs *int
					Samples   []struct{ Ct float64 }
					Player    struct {
						Channel string
						Errors  []struct {
							Fatal   bool
							Details string
						}
					}
					Osd struct{ Chan, Now string }
				}
				Guide []struct {
					Channel    string
					Programmes []string
				}
				Operator []struct{ ID, Text string }
				Library  struct {
					Assets     int
					Unplayable []string
				}
			}
			ConsoleErrors []string
			Requests      []string
			PhoneOverflow bool
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		t.Logf("screenshots in %s", shots)

		require.Len(t, rep.Pages.Channels, 1)
		require.Equal(t, "e2e", rep.Pages.Channels[0].ID)
		require.Contains(t, rep.Pages.Channels[0].Name, "E2E Test")

		w := rep.Pages.Watch
		require.Equal(t, srv.base+"/watch/e2e", w.URL, "picking a channel opens its player")
		require.NotNil(t, w.StartupMs, "the video never started")
		require.GreaterOrEqual(t, len(w.Samples), 18)
		first, last := w.Samples[0].Ct, w.Samples[len(w.Samples)-1].Ct
		require.Greater(t, last-first, 15.0, "currentTime advanced %.1f s in %d s", last-first, len(w.Samples))
		for i := 1; i < len(w.Samples); i++ {
			require.GreaterOrEqual(t, w.Samples[i].Ct, w.Samples[i-1].Ct, "currentTime went back")
		}
		for _, e := range w.Player.Errors {
			require.False(t, e.Fatal, "fatal hls.js error: %s", e.Details)
		}
		require.Equal(t, "901 E2E Test", w.Osd.Chan)
		require.NotEmpty(t, w.Osd.Now)

		// The guide shows the programmes of the log.
		body := guideTitles()
		require.Len(t, rep.Pages.Guide, 1)
		require.Equal(t, "e2e", rep.Pages.Guide[0].Channel)
		shown := rep.Pages.Guide[0].Programmes
		require.NotEmpty(t, shown)
		require.Contains(t, shown, "Demo")
		for _, title := range shown {
			require.True(t, titles[title], "the guide shows %q, which is not in the log's programmes %s", title, body)
		}

		require.Len(t, rep.Pages.Operator, 1)
		require.Contains(t, rep.Pages.Operator[0].Text, "on air")
		require.Equal(t, len(e2eClips)+1, rep.Pages.Library.Assets)
		require.Len(t, rep.Pages.Library.Unplayable, 1)
		require.Contains(t, rep.Pages.Library.Unplayable[0], "broken.ts")

		require.Empty(t, rep.Requests, "the web app fetched from elsewhere")
		require.False(t, rep.PhoneOverflow, "the guide page is wider than a phone")
		for _, e := range rep.ConsoleErrors {
			require.NotContains(t, e, "Content Security Policy", "CSP blocked something")
			require.NotContains(t, e, "page error", "a script failed")
		}
		for _, f := range []string{"channels.png", "watch.png", "guide.png", "operator.png", "library.png", "channels_phone.png", "guide_phone.png"} {
			st, err := os.Stat(filepath.Join(shots, f))
			require.NoError(t, err)
			require.Greater(t, st.Size(), int64(2000), f)
		}
	})
}
