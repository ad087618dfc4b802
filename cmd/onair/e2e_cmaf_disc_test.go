package main

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/stretchr/testify/require"

	"onair/testmedia"
)

// startTwoSizesServer serves a channel whose items alternate two picture
// sizes, 320x180 (3 s) and 480x272 (4 s), cut into 2 s segments: a
// discontinuity with a new stream profile every few seconds.
func startTwoSizesServer(t *testing.T) *e2eServer {
	t.Helper()
	root := writeE2ELibrary(t)
	wide := filepath.Join(root, "movies", "wide.ts")
	require.NoError(t, os.MkdirAll(filepath.Dir(wide), 0o755))
	require.NoError(t, testmedia.WriteFile(wide, testmedia.Options{
		Width: 480, Height: 272, FrameRateNum: e2eFPS, FrameRateDen: 1, GOPFrames: e2eFPS,
		Duration: 4 * time.Second, Seed: 11, Label: "wide",
	}))
	return startServer(t, root, writeChannels(t, `number: "903"
name: Two sizes
segment: 2s
playlist:
  - asset: bumpers/back.ts
  - asset: movies/wide.ts
`))
}

// initWidth parses an init segment with mediacommon's fMP4 reader and
// returns the picture size of its H.264 track, from the SPS of its avcC.
func initWidth(t *testing.T, data []byte) (w, h int) {
	t.Helper()
	var in mcfmp4.Init
	require.NoError(t, in.Unmarshal(bytes.NewReader(data)))
	for _, tr := range in.Tracks {
		if c, ok := tr.Codec.(*codecs.H264); ok {
			var sps h264.SPS
			require.NoError(t, sps.Unmarshal(c.SPS))
			return sps.Width(), sps.Height()
		}
	}
	t.Fatalf("init segment without an H.264 track")
	return 0, 0
}

// ffmpegErrorRe matches the lines ffmpeg -v level+... prints at error level
// or above; frameSizeRe the picture size of a showinfo line.
var (
	ffmpegErrorRe = regexp.MustCompile(`(?m)^.*\[(error|fatal|panic)\].*$`)
	frameSizeRe   = regexp.MustCompile(`\[Parsed_showinfo_\d+ @ [^]]+\] \[info\] n: *\d+ .* s:(\d+x\d+) `)
)

// mapRe matches an EXT-X-MAP of cmaf.m3u8.
var mapRe = regexp.MustCompile(`^#EXT-X-MAP:URI="(cmaf/init-\d+\.mp4)"$`)

// TestE2ECMAFDiscontinuity plays the CMAF HLS variant and the DASH manifest
// of a channel whose items alternate two picture sizes: cmaf.m3u8 signals
// each change with EXT-X-DISCONTINUITY and a new EXT-X-MAP whose init
// segment carries the new size; the MPD starts a new Period there with its
// own init segments; ffmpeg reads cmaf.m3u8 across the changes without an
// error, hls.js plays it and dash.js plays the MPD across Period boundaries.
func TestE2ECMAFDiscontinuity(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if _, err := exec.LookPath("node"); err != nil {
			needTool(t, "ffmpeg")
		}
	}
	srv := startTwoSizesServer(t)

	// Viewers first, before the players below (parallel subtests) poll: the
	// status API counts a client of the MPD as a DASH viewer and one of
	// cmaf.m3u8 as a CMAF viewer, each client (address and user agent) once.
	t.Run("viewers", func(t *testing.T) {
		before := srv.status(t).Viewers
		require.Zero(t, before["dash"], "%v", before)
		require.Zero(t, before["cmaf"], "%v", before)
		poll := func(path, agent string) {
			req, err := http.NewRequest(http.MethodGet, srv.channelURL(path), nil)
			require.NoError(t, err)
			req.Header.Set("User-Agent", agent)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
		}
		poll("manifest.mpd", "dash-tv")
		poll("manifest.mpd", "dash-tv")
		st := srv.status(t)
		require.Equal(t, 1, st.Viewers["dash"], "%v", st.Viewers)
		require.Zero(t, st.Viewers["cmaf"], "%v", st.Viewers)
		poll("manifest.mpd", "dash-phone")
		poll("cmaf.m3u8", "hls-tv")
		st = srv.status(t)
		require.Equal(t, 2, st.Viewers["dash"], "%v", st.Viewers)
		require.Equal(t, 1, st.Viewers["cmaf"], "%v", st.Viewers)
		require.GreaterOrEqual(t, st.ViewersTotal, 3, "%+v", st)
	})

	t.Run("playlist", func(t *testing.T) {
		t.Parallel()
		// Wait for a window holding a discontinuity, then check every
		// EXT-X-MAP: one at the top and one after each EXT-X-DISCONTINUITY,
		// each init segment of the size its run's segments have.
		var body string
		waitFor(t, 30*time.Second, "cmaf.m3u8 to list a discontinuity", func() bool {
			var code int
			code, body = get(t, srv.channelURL("cmaf.m3u8"))
			require.Equal(t, http.StatusOK, code, body)
			return strings.Contains(body, "#EXT-X-DISCONTINUITY\n")
		})
		lines := strings.Split(strings.TrimSpace(body), "\n")
		var sizes []int
		for i, line := range lines {
			m := mapRe.FindStringSubmatch(line)
			if strings.HasPrefix(line, "#EXT-X-MAP") {
				require.NotNil(t, m, "malformed EXT-X-MAP %q", line)
			}
			if line == "#EXT-X-DISCONTINUITY" {
				require.Less(t, i+1, len(lines))
				require.Regexp(t, mapRe, lines[i+1], "EXT-X-DISCONTINUITY not followed by a new EXT-X-MAP:\n%s", body)
			}
			if m == nil {
				continue
			}
			data, _ := getBytes(t, srv.channelURL(m[1]))
			w, h := initWidth(t, data)
			require.Contains(t, [][2]int{{320, 180}, {480, 272}}, [2]int{w, h}, m[1])
			sizes = append(sizes, w)
		}
		require.GreaterOrEqual(t, len(sizes), 2, body)
		for i := 1; i < len(sizes); i++ {
			require.NotEqual(t, sizes[i-1], sizes[i], "consecutive runs with the same size:\n%s", body)
		}
		t.Logf("cmaf.m3u8 with %d runs of sizes %v:\n%s", len(sizes), sizes, body)
	})

	t.Run("mpd", func(t *testing.T) {
		t.Parallel()
		type representation struct {
			ID     string `xml:"id,attr"`
			Width  int    `xml:"width,attr"`
			Height int    `xml:"height,attr"`
		}
		var mpd struct {
			Periods []struct {
				ID    string `xml:"id,attr"`
				Start string `xml:"start,attr"`
				Sets  []struct {
					ContentType string `xml:"contentType,attr"`
					Template    struct {
						Init string `xml:"initialization,attr"`
						PTO  int64  `xml:"presentationTimeOffset,attr"`
						S    []struct {
							T int64 `xml:"t,attr"`
						} `xml:"SegmentTimeline>S"`
					} `xml:"SegmentTemplate"`
					Reps []representation `xml:"Representation"`
				} `xml:"AdaptationSet"`
			} `xml:"Period"`
		}
		var body string
		waitFor(t, 30*time.Second, "the MPD to list two periods", func() bool {
			var code int
			code, body = get(t, srv.channelURL("manifest.mpd"))
			require.Equal(t, http.StatusOK, code, body)
			mpd.Periods = nil // Unmarshal appends to slices
			require.NoError(t, xml.Unmarshal([]byte(body), &mpd), body)
			return len(mpd.Periods) >= 2
		})
		prevWidth, prevPTO := 0, int64(-1)
		seen := map[string]bool{}
		for _, p := range mpd.Periods {
			require.False(t, seen[p.ID], "period id %s twice:\n%s", p.ID, body)
			seen[p.ID] = true
			require.Len(t, p.Sets, 2, "period %s: a video and an audio adaptation set", p.ID)
			v := p.Sets[0]
			require.Equal(t, "video", v.ContentType)
			require.Len(t, v.Reps, 1)
			// Each period has its own init segment, of its own size.
			init := strings.ReplaceAll(v.Template.Init, "$RepresentationID$", v.Reps[0].ID)
			require.Equal(t, "cmaf/v/init-"+strings.TrimPrefix(p.ID, "p")+".mp4", init)
			data, _ := getBytes(t, srv.channelURL(init))
			w, h := initWidth(t, data)
			require.Equal(t, [2]int{v.Reps[0].Width, v.Reps[0].Height}, [2]int{w, h}, "period %s: init segment and Representation disagree", p.ID)
			require.NotEqual(t, prevWidth, w, "period %s has the size of the one before", p.ID)
			prevWidth = w
			// Periods follow each other on the channel clock, each
			// timeline starting at its presentationTimeOffset.
			require.Greater(t, v.Template.PTO, prevPTO)
			prevPTO = v.Template.PTO
			require.NotEmpty(t, v.Template.S)
			require.GreaterOrEqual(t, v.Template.S[0].T, v.Template.PTO)
		}
		t.Logf("MPD with %d periods:\n%s", len(mpd.Periods), body)
	})

	// ffmpeg reads cmaf.m3u8 and the MPD for playSeconds, logging at info
	// level with each line's level, and the size of every decoded frame
	// (showinfo): nothing at error level or above (what -v error would
	// print), and frames of both sizes, so it crossed the changes.
	for _, c := range []struct{ name, path string }{{"ffmpeg-cmaf", "cmaf.m3u8"}, {"ffmpeg-dash", "manifest.mpd"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ffmpeg := needTool(t, "ffmpeg")
			out, errOut, err := runTool(t, 3*playSeconds*time.Second, nil, ffmpeg, "-nostdin", "-v", "level+info",
				"-i", srv.channelURL(c.path), "-t", strconv.Itoa(playSeconds), "-vf", "showinfo", "-progress", "pipe:1", "-f", "null", "-")
			require.NoError(t, err, "ffmpeg failed; stderr:\n%s", tail(errOut, 40))
			errLines := ffmpegErrorRe.FindAllString(errOut, -1)
			require.Empty(t, errLines, "ffmpeg printed errors across picture-size changes")
			var sizes []string
			for _, m := range frameSizeRe.FindAllStringSubmatch(errOut, -1) {
				if len(sizes) == 0 || sizes[len(sizes)-1] != m[1] {
					sizes = append(sizes, m[1])
				}
			}
			progress := lastProgress(out)
			frames, _ := strconv.Atoi(progress["frame"])
			t.Logf("ffmpeg played %d frames of %s (%s), sizes %v", frames, c.path, progress["out_time"], sizes)
			require.GreaterOrEqual(t, frames, playSeconds*e2eFPS-e2eFPS, "ffmpeg stopped early: %v", progress)
			require.Subset(t, sizes, []string{"320x180", "480x272"}, "ffmpeg did not decode both sizes")
			require.GreaterOrEqual(t, len(sizes), 3, "ffmpeg crossed fewer than two changes: %v", sizes)
		})
	}

	t.Run("hlsjs", func(t *testing.T) {
		t.Parallel()
		// No run lasts more than 4 s: playing for playSeconds (which
		// playInBrowser checks) crosses several changes.
		rep := playInBrowser(t, srv, "player.html", "hls.min.js", filepath.Join("hls.js", "dist", "hls.min.js"), srv.channelURL("cmaf.m3u8"))
		require.Contains(t, [][2]int{{320, 180}, {480, 272}}, [2]int{rep.Final.Width, rep.Final.Height})
	})

	t.Run("dashjs", func(t *testing.T) {
		t.Parallel()
		rep := playInBrowser(t, srv, "dash.html", "dash.all.min.js", filepath.Join("dashjs", "dist", "modern", "umd", "dash.all.min.js"), srv.channelURL("manifest.mpd"))
		// dash.html records each period switch as a fragment numbered -1;
		// currentTime kept advancing across them (playInBrowser).
		switches := 0
		for _, f := range rep.Frags {
			if f.SN == -1 {
				switches++
			}
		}
		require.GreaterOrEqual(t, switches, 2, "dash.js never crossed a Period boundary")
	})
}
