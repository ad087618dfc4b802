package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"onair/testmedia"
)

// isolated are serve flags that keep a test's server off the fixed RTSP and
// WebRTC ports.
var isolated = []string{"--rtsp", "", "--webrtc-udp", "127.0.0.1:0"}

// metricValue scrapes base/metrics and returns the value of the sample whose
// line starts with series (name and labels as exposed), or -1.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			require.NoError(t, err, line)
			return v
		}
	}
	return -1
}

// playsOn checks for d (and at least until the edge moved) that the channel's playlist answers 200 and its live
// edge advances, each newest segment answering 200, and returns the edge.
func playsOn(t *testing.T, s *e2eServer, d time.Duration) int64 {
	t.Helper()
	first := s.fetchPlaylist(t)
	startEdge := first.segments[len(first.segments)-1].seq
	edge := startEdge
	deadline, limit := time.Now().Add(d), time.Now().Add(d+15*time.Second)
	for time.Now().Before(deadline) || (edge == startEdge && time.Now().Before(limit)) {
		p := s.fetchPlaylist(t)
		last := p.segments[len(p.segments)-1].seq
		require.GreaterOrEqual(t, last, edge)
		if last > edge {
			require.NotEmpty(t, s.fetchSegment(t, last))
			edge = last
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Greater(t, edge, startEdge, "the live edge advanced")
	return edge
}

// TestFaultDiskFull puts the data directory on a 16 MiB tmpfs and fills it
// while the channel plays. Database writes (a library rescan, a schedule
// rebuild) fail: the channel plays on from the log and the in-memory segment
// cache, the failure is reported (log, /metrics, /readyz), and once space is
// freed the next rescan succeeds and the server is ready again.
func TestFaultDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if requireTools() {
			t.Fatal("TestFaultDiskFull needs root to mount a tmpfs")
		}
		t.Skip("SKIP: needs root (mount tmpfs)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		if requireTools() {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("SKIP: mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })

	root := writeE2ELibrary(t)
	chdir := writeChannels(t, e2ePlaylist)
	s := startServer(t, root, chdir, append([]string{"--data", dir}, isolated...)...)
	playsOn(t, s, 2*time.Second)

	// Fill the disk.
	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	require.NoError(t, err)
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
			break
		}
	}
	require.NoError(t, f.Close())

	// Writes that must fail: a new library file (rescan) and a schedule
	// change (rebuild after the published mark).
	p := filepath.Join(root, "ads", "new-ad.ts")
	require.NoError(t, testmedia.WriteFile(p, testmedia.Options{Width: 320, Height: 180, FrameRateNum: e2eFPS, FrameRateDen: 1, GOPFrames: e2eFPS, Duration: 5 * time.Second, Seed: 42, Label: "new"}))
	require.NoError(t, os.WriteFile(filepath.Join(chdir, e2eChannel+".yaml"), []byte(strings.Replace(e2ePlaylist, "name: E2E Test", "name: E2E Test Full", 1)), 0o644))
	waitFor(t, 20*time.Second, "a failed scan in /metrics", func() bool {
		return metricValue(t, s.base, `onair_library_scans_total{result="error"}`) >= 1
	})
	require.Regexp(t, `(?i)disk is full|no space`, s.stderr.String())
	code, body := get(t, s.base+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "library scan failed")
	// Playback is unaffected: the log and memory suffice.
	playsOn(t, s, 3*time.Second)
	code, _ = get(t, s.base+"/healthz")
	require.Equal(t, http.StatusOK, code)

	// Space comes back: the next rescan succeeds.
	require.NoError(t, os.Remove(fill))
	okBefore := metricValue(t, s.base, `onair_library_scans_total{result="ok"}`)
	require.NoError(t, os.WriteFile(p+".tmp", []byte("x"), 0o644)) // a file event starts a rescan
	require.NoError(t, os.Remove(p+".tmp"))
	waitFor(t, 20*time.Second, "a good rescan", func() bool {
		return metricValue(t, s.base, `onair_library_scans_total{result="ok"}`) > okBefore
	})
	waitReady(t, s.base)
	code, body = get(t, s.base+"/api/v1/library?kind=ad")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "new-ad.ts")
	playsOn(t, s, time.Second)
}

// TestFaultLibraryRootVanishes moves the library root away while a channel
// plays (as an unmounted disk would) and brings it back. While it is gone
// the channel never stops: the slate stands in for what cannot be read, the
// errors show in the channel's status and /metrics (items failed, slate
// seconds), and the scan reports the root as a problem without marking its
// assets missing. When it returns the channel plays its media again: no
// more failures.
func TestFaultLibraryRootVanishes(t *testing.T) {
	root := writeE2ELibrary(t)
	chdir := writeChannels(t, e2ePlaylist)
	s := startServer(t, root, chdir, isolated...)
	playsOn(t, s, time.Second)
	failed := func() float64 { return metricValue(t, s.base, `onair_items_failed_total{channel="e2e"}`) }
	require.Zero(t, failed())

	away := root + ".away"
	require.NoError(t, os.Rename(root, away))
	playsOn(t, s, 4*time.Second)
	waitFor(t, 20*time.Second, "failed items", func() bool { return failed() > 0 })
	require.Positive(t, metricValue(t, s.base, `onair_slate_seconds_total{channel="e2e"}`))
	st := s.status(t)
	require.NotEmpty(t, st.Errors)
	waitFor(t, 20*time.Second, "the scan reporting the root", func() bool {
		return strings.Contains(s.stderr.String(), "library root: stat")
	})
	code, body := get(t, s.base+"/api/v1/library?status=missing")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, `"path"`, "a vanished root does not mark its assets missing")

	require.NoError(t, os.Rename(away, root))
	// Segments generated before it came back may still be the slate; after
	// one more segment, nothing fails any more.
	playsOn(t, s, 3*time.Second)
	before := failed()
	playsOn(t, s, 5*time.Second)
	require.Equal(t, before, failed(), "items still fail after the root came back")
}

// TestFaultSlowConnections holds 1,000 connections that trickle a request
// header and never finish it, plus 100 that request a segment and never
// read: other clients still get every playlist and segment.
func TestFaultSlowConnections(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < 4096 && lim.Max >= 4096 {
		lim.Cur = 4096
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	}
	if lim.Cur < 3000 {
		t.Skipf("SKIP: open file limit %d is too low for 1,000 connections", lim.Cur)
	}
	root := writeE2ELibrary(t)
	s := startServer(t, root, writeChannels(t, e2ePlaylist), isolated...)
	addr := strings.TrimPrefix(s.base, "http://")

	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	var wg sync.WaitGroup
	for i := range 1100 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if i < 1000 {
				// Half a request line, never finished.
				_, _ = fmt.Fprintf(c, "GET /channels/%s/index.m3u8 HTTP/1.1\r\nHost: x\r\nX-Slow: ", e2eChannel)
				return
			}
			// A whole request whose answer is never read.
			_, _ = fmt.Fprintf(c, "GET /channels/%s/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n", e2eChannel)
		})
	}
	wg.Wait()
	require.Len(t, conns, 1100)
	// Trickle a byte now and then on the slow ones while the others play.
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				mu.Lock()
				for _, c := range conns[:1000] {
					_, _ = c.Write([]byte("a"))
				}
				mu.Unlock()
			}
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	var fails int
	for range 20 {
		resp, err := client.Get(s.channelURL("index.m3u8"))
		if err != nil {
			fails++
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p, err := parseMediaPlaylist(string(body))
		if resp.StatusCode != http.StatusOK || err != nil {
			fails++
			continue
		}
		seg := p.segments[len(p.segments)-1]
		resp, err = client.Get(s.channelURL(seg.uri))
		if err != nil {
			fails++
			continue
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n == 0 {
			fails++
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-trickled
	require.Zero(t, fails, "requests of other clients failed while 1,100 connections were held")
	// The held connections are still open (the server did not drop them all
	// to cope): a finished request on one of them is answered.
	c := conns[0]
	_, err := c.Write([]byte("\r\n\r\n"))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^HTTP/1.1 200`), line)
}
