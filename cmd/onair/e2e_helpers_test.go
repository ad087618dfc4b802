package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/internal/syncbuf"
	"onair/testmedia"
)

// The end-to-end tests start a real `onair serve` (in-process, on
// 127.0.0.1:0) over a small generated library and play its live HLS channel
// with real clients: ffmpeg, ffprobe and hls.js in Chromium.

// e2eChannel is the id of the test channel every e2e server plays.
const e2eChannel = "e2e"

// e2eFPS is the frame rate of every clip of the e2e library.
const e2eFPS = 25

// requireTools reports whether a missing tool fails the test instead of
// skipping it (CI sets ONAIR_REQUIRE_TOOLS=1).
func requireTools() bool { return os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" }

// needTool returns the path of an executable, skipping the test when it is not
// on PATH (failing it under ONAIR_REQUIRE_TOOLS=1).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if requireTools() {
		t.Fatalf("%s not found on PATH (ONAIR_REQUIRE_TOOLS=1)", name)
	}
	t.Skipf("SKIP: %s not found", name)
	return ""
}

// needNode returns the path of node, 20 or later (what playwright-core
// needs), skipping the test like needTool when there is none.
func needNode(t *testing.T) string {
	t.Helper()
	node := needTool(t, "node")
	out, err := exec.Command(node, "--version").Output()
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	if n, convErr := strconv.Atoi(major); err == nil && convErr == nil && n >= 20 {
		return node
	}
	if requireTools() {
		t.Fatalf("node 20 or later not found: %s is %q (ONAIR_REQUIRE_TOOLS=1)", node, strings.TrimSpace(string(out)))
	}
	t.Skipf("SKIP: node 20 or later not found (%s is %q)", node, strings.TrimSpace(string(out)))
	return ""
}

// needFile skips (or, under ONAIR_REQUIRE_TOOLS=1, fails) the test when path
// does not exist; what names the missing tool and hint says how to get it.
func needFile(t *testing.T, path, what, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if requireTools() {
		t.Fatalf("%s not found at %s (ONAIR_REQUIRE_TOOLS=1; %s)", what, path, hint)
	}
	t.Skipf("SKIP: %s not found (%s; %s)", what, path, hint)
}

// artifactsDir is where a test keeps what a person may want to look at
// afterwards (screenshots, captured streams): $ONAIR_ARTIFACTS/<test name>,
// or a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ONAIR_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	abs, err := filepath.Abs(base)
	require.NoError(t, err)
	dir := filepath.Join(abs, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// e2eClip is one file of the e2e library, relative to its root.
type e2eClip struct {
	rel      string
	duration time.Duration
	seed     int64
	cues     []time.Duration
}

// e2eClips is the e2e library: 320x180 at 25 fps with a keyframe every
// second, so items and segments can be cut every second. Each clip's label is
// its file name, burned into the picture.
var e2eClips = []e2eClip{
	{rel: "shows/Demo/Season 01/Demo - S01E01 - A.ts", duration: 20 * time.Second, seed: 1, cues: []time.Duration{10 * time.Second}},
	{rel: "shows/Demo/Season 01/Demo - S01E02 - B.mp4", duration: 20 * time.Second, seed: 2, cues: []time.Duration{10 * time.Second}},
	{rel: "ads/ad1.ts", duration: 5 * time.Second, seed: 3},
	{rel: "ads/ad2.ts", duration: 5 * time.Second, seed: 4},
	{rel: "bumpers/back.ts", duration: 3 * time.Second, seed: 5},
	{rel: "bumpers/next.ts", duration: 3 * time.Second, seed: 6},
}

// writeE2ELibrary writes the e2e library into a new directory and returns it.
func writeE2ELibrary(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, len(e2eClips))
	for i, c := range e2eClips {
		wg.Go(func() {
			p := filepath.Join(root, c.rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				errs[i] = err
				return
			}
			errs[i] = testmedia.WriteFile(p, testmedia.Options{
				Width: 320, Height: 180, FrameRateNum: e2eFPS, FrameRateDen: 1, GOPFrames: e2eFPS,
				Duration: c.duration, Seed: c.seed, Label: filepath.Base(c.rel),
			})
			if errs[i] == nil && len(c.cues) > 0 {
				errs[i] = os.WriteFile(testmedia.CueSidecarPath(p), testmedia.CueSidecar(c.cues), 0o644)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, e2eClips[i].rel)
	}
	return root
}

// e2ePlaylist is the channel file of the playback tests: every episode is
// split at its cue (10 s) with a bumper and an ad in the break, and a bumper
// follows every episode, so an item boundary comes every 3 to 10 s, between
// MPEG-TS and MP4 sources:
//
//	 0-10 E01 part 1 (.ts)   10-13 bumper   13-18 ad1   18-28 E01 part 2
//	28-31 bumper            31-41 E02 part 1 (.mp4)   41-44 bumper   44-49 ad2
//	49-59 E02 part 2        59-62 bumper, then again from the top.
const e2ePlaylist = `# End-to-end test channel: item boundaries every few seconds.
number: "901"
name: E2E Test
group: Test
segment: 2s
playlist:
  - show: Demo
    breaks:
      - asset: bumpers/back.ts
      - kind: ad
  - asset: bumpers/next.ts
`

// writeChannels writes one channel file, e2e.yaml, into a new directory.
func writeChannels(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, e2eChannel+".yaml"), []byte(yaml), 0o644))
	return dir
}

// e2eServer is a running in-process `onair serve`.
type e2eServer struct {
	base   string // http://127.0.0.1:PORT
	stderr *syncbuf.Buffer
	stdout *syncbuf.Buffer
}

// channelURL is the URL of path under the e2e channel, e.g. "index.m3u8".
func (s *e2eServer) channelURL(path string) string {
	return s.base + "/channels/" + e2eChannel + "/" + path
}

// startServer runs `onair serve` over root and the channels of dir until the
// test ends, and waits until it is ready and its channel has a first segment.
// extra flags are added to serve's.
func startServer(t *testing.T, root, channels string, extra ...string) *e2eServer {
	t.Helper()
	e, out, errb := testEnv(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args := append([]string{"serve", "--http", "127.0.0.1:0", "--data", t.TempDir(), "--library", root, "--channels", channels}, extra...)
	go func() {
		done <- run(ctx, args, e)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d\nstderr:\n%s", code, errb)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop after cancel")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(errb.String(), 60))
		}
	})
	s := &e2eServer{stderr: errb, stdout: out, base: waitServing(t, out)}
	waitReady(t, s.base)
	waitFor(t, 30*time.Second, "the channel's first segment", func() bool {
		c, _ := get(t, s.channelURL("index.m3u8"))
		return c == 200
	})
	return s
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hlsSegment is one segment of a media playlist.
type hlsSegment struct {
	seq           int64
	duration      time.Duration
	discontinuity bool
	pdt           time.Time
	uri           string
}

// mediaPlaylist is a parsed live media playlist.
type mediaPlaylist struct {
	mediaSeq int64
	discSeq  int64
	target   int
	segments []hlsSegment
}

// parseMediaPlaylist reads the tags of a media playlist that the tests use,
// checking the ones every playlist must have.
func parseMediaPlaylist(body string) (mediaPlaylist, error) {
	var p mediaPlaylist
	sc := bufio.NewScanner(strings.NewReader(body))
	first, haveSeq, haveTarget := true, false, false
	var next hlsSegment
	var haveInf bool
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return p, fmt.Errorf("first line is %q, want #EXTM3U", line)
			}
			first = false
			continue
		}
		tag, val, _ := strings.Cut(line, ":")
		var err error
		switch {
		case line == "":
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			p.mediaSeq, err = strconv.ParseInt(val, 10, 64)
			haveSeq = true
		case tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			p.discSeq, err = strconv.ParseInt(val, 10, 64)
		case tag == "#EXT-X-TARGETDURATION":
			p.target, err = strconv.Atoi(val)
			haveTarget = true
		case tag == "#EXT-X-DISCONTINUITY":
			next.discontinuity = true
		case tag == "#EXT-X-PROGRAM-DATE-TIME":
			next.pdt, err = time.Parse(time.RFC3339Nano, val)
		case tag == "#EXTINF":
			d, _, _ := strings.Cut(val, ",")
			var f float64
			f, err = strconv.ParseFloat(d, 64)
			next.duration = time.Duration(f*1000+0.5) * time.Millisecond
			haveInf = true
		case strings.HasPrefix(line, "#"):
		default:
			if !haveInf {
				return p, fmt.Errorf("segment %q without #EXTINF", line)
			}
			next.uri = line
			next.seq = p.mediaSeq + int64(len(p.segments))
			p.segments = append(p.segments, next)
			next, haveInf = hlsSegment{}, false
		}
		if err != nil {
			return p, fmt.Errorf("%s: %w", line, err)
		}
	}
	if first || !haveSeq || !haveTarget {
		return p, fmt.Errorf("not a media playlist:\n%s", body)
	}
	return p, nil
}

// fetchPlaylist gets and parses the e2e channel's media playlist.
func (s *e2eServer) fetchPlaylist(t *testing.T) mediaPlaylist {
	t.Helper()
	code, body := get(t, s.channelURL("index.m3u8"))
	require.Equal(t, http.StatusOK, code, body)
	p, err := parseMediaPlaylist(body)
	require.NoError(t, err)
	for _, seg := range p.segments {
		require.Equal(t, "seg/"+strconv.FormatInt(seg.seq, 10)+".ts", seg.uri, "segment URIs follow the media sequence")
	}
	return p
}

// fetchSegment gets segment seq of the e2e channel.
func (s *e2eServer) fetchSegment(t *testing.T, seq int64) []byte {
	t.Helper()
	resp, err := http.Get(s.channelURL("seg/" + strconv.FormatInt(seq, 10) + ".ts"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "segment %d: %s", seq, b)
	require.Equal(t, "video/mp2t", resp.Header.Get("Content-Type"))
	return b
}

// collectSegments fetches consecutive segments of the e2e channel, from
// segment first (the oldest one in the playlist when first is negative), each
// as soon as the playlist lists it (a segment older than a few windows is no
// longer served), until done says the playlist entries of the segments
// fetched so far are enough. It returns the segments and their playlist
// entries.
func (s *e2eServer) collectSegments(t *testing.T, first int64, done func([]hlsSegment) bool, timeout time.Duration) ([][]byte, []hlsSegment) {
	t.Helper()
	var data [][]byte
	var segs []hlsSegment
	nextSeq := first
	deadline := time.Now().Add(timeout)
	for !done(segs) {
		require.False(t, time.Now().After(deadline), "timed out after %s with %d segments", timeout, len(segs))
		p := s.fetchPlaylist(t)
		if nextSeq < 0 {
			nextSeq = p.mediaSeq
		}
		require.LessOrEqual(t, p.mediaSeq, nextSeq, "segment %d left the playlist before it was fetched", nextSeq)
		for _, seg := range p.segments {
			if seg.seq != nextSeq || done(segs) {
				continue
			}
			data = append(data, s.fetchSegment(t, seg.seq))
			segs = append(segs, seg)
			nextSeq++
		}
		if !done(segs) {
			time.Sleep(250 * time.Millisecond)
		}
	}
	return data, segs
}

// channelStatus is what the tests read of GET /api/v1/channels/{id}.
type channelStatus struct {
	ID  string      `json:"id"`
	Now *statusItem `json:"now"`
	// Next is the item after Now.
	Next   *statusItem `json:"next"`
	Errors []struct {
		Seq     int64  `json:"seq"`
		Item    int64  `json:"item"`
		Message string `json:"message"`
	} `json:"errors"`
	Slate        int64                     `json:"slate_segments"`
	Viewers      map[string]int            `json:"viewers"`
	ViewersTotal int                       `json:"viewers_total"`
	Outputs      map[string]map[string]any `json:"outputs"`
}

type statusItem struct {
	Index int64     `json:"index"`
	Kind  string    `json:"kind"`
	Title string    `json:"title"`
	Asset string    `json:"asset"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (s *e2eServer) status(t *testing.T) channelStatus {
	t.Helper()
	code, body := get(t, s.base+"/api/v1/channels/"+e2eChannel)
	require.Equal(t, http.StatusOK, code, body)
	var st channelStatus
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return st
}

// itemLog records the items the status API reports on air, by index.
type itemLog struct {
	mu    sync.Mutex
	items map[int64]statusItem
}

func (l *itemLog) add(it *statusItem) {
	if it == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.items == nil {
		l.items = map[int64]statusItem{}
	}
	l.items[it.Index] = *it
}

// at returns the recorded item on air at wall time w.
func (l *itemLog) at(w time.Time) (statusItem, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range l.items {
		if !w.Before(it.Start) && w.Before(it.End) {
			return it, true
		}
	}
	return statusItem{}, false
}

// watchItems polls the status API every 500 ms until the test ends or stop is
// called, recording now and next.
func (s *e2eServer) watchItems(t *testing.T) (l *itemLog, stop func()) {
	l = &itemLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if resp, err := client.Get(s.base + "/api/v1/channels/" + e2eChannel); err == nil {
				var st channelStatus
				if json.NewDecoder(resp.Body).Decode(&st) == nil {
					l.add(st.Now)
					l.add(st.Next)
				}
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return l, stop
}

// runTool runs a command with stdin, returning its stdout and stderr; it fails
// the test when the command cannot start or outlives timeout.
func runTool(t *testing.T, timeout time.Duration, stdin []byte, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	require.NoError(t, ctx.Err(), "%s %s: timed out after %s\nstderr: %s", name, strings.Join(args, " "), timeout, errb.String())
	return out.String(), errb.String(), err
}

// probeFrames counts the decoded frames of each stream of an MPEG-TS file
// with ffprobe -count_frames, keyed by codec type ("video", "audio").
func probeFrames(t *testing.T, ffprobe, path string) map[string]int {
	t.Helper()
	out, errOut, err := runTool(t, 60*time.Second, nil, ffprobe, "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_type,nb_read_frames", "-of", "json", path)
	require.NoError(t, err, errOut)
	require.Empty(t, errOut, "ffprobe -count_frames reported problems")
	var got struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			Frames    string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	frames := map[string]int{}
	for _, s := range got.Streams {
		n, err := strconv.Atoi(s.Frames)
		require.NoError(t, err, out)
		frames[s.CodecType] += n
	}
	return frames
}
