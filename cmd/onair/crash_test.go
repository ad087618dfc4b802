package main

import (
	"crypto/sha256"
	"database/sql"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"onair/internal/syncbuf"
	"onair/testmedia"
)

var (
	onairBinOnce sync.Once
	onairBin     string
	onairBinErr  error
)

// buildOnair builds the onair binary once per test run.
func buildOnair(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	onairBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "onair-bin")
		if err != nil {
			onairBinErr = err
			return
		}
		onairBin = filepath.Join(dir, "onair")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version=crashtest", "-o", onairBin, ".").CombinedOutput()
		if err != nil {
			onairBinErr = &buildError{out: string(out), err: err}
		}
	})
	require.NoError(t, onairBinErr)
	return onairBin
}

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

// proc is a running `onair serve` process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncbuf.Buffer
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "--http", "127.0.0.1:0", "--rtsp", "", "--webrtc-udp", "127.0.0.1:0"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "ONAIR_LOG_LEVEL=info")
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_ = p.cmd.Wait()
}

// integrityCheck opens the database like a restart does and runs SQLite's
// integrity check.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()
	var res string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&res))
	require.Equal(t, "ok", res, "PRAGMA integrity_check of %s", path)
}

// crashPlaylistA and B are two versions of the channel file; switching
// between them rebuilds the playout log after the published mark.
const (
	crashPlaylistA = `number: "950"
name: Crash Test
segment: 1s
playlist:
  - show: Demo
    breaks:
      - asset: bumpers/back.ts
      - kind: ad
  - asset: bumpers/next.ts
`
	crashPlaylistB = `number: "950"
name: Crash Test
segment: 1s
playlist:
  - asset: bumpers/next.ts
  - kind: ad
  - show: Demo
`
)

// seen is what clients were shown across all the lives of the server.
type seen struct {
	mu     sync.Mutex
	pdt    map[int64]time.Time // seq -> EXT-X-PROGRAM-DATE-TIME
	hash   map[int64][32]byte  // seq -> sha256 of the bytes served
	newest int64               // newest seq listed in a playlist
	// compared counts segments served again and found identical.
	compared int
}

// playlist fetches the channel's playlist and checks it against what was
// shown before: the same seq has the same start time, the live edge never
// goes back.
func (s *seen) playlist(t *testing.T, base string) mediaPlaylist {
	t.Helper()
	code, body := get(t, base+"/channels/crash/index.m3u8")
	require.Equal(t, http.StatusOK, code, body)
	p, err := parseMediaPlaylist(body)
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, p.segments)
	last := p.segments[len(p.segments)-1].seq
	require.GreaterOrEqual(t, last, s.newest, "the live edge went back")
	s.newest = last
	for i, seg := range p.segments {
		if prev, ok := s.pdt[seg.seq]; ok {
			require.True(t, prev.Equal(seg.pdt), "segment %d started at %s, now at %s", seg.seq, prev, seg.pdt)
		}
		s.pdt[seg.seq] = seg.pdt
		if i > 0 {
			require.True(t, seg.pdt.After(p.segments[i-1].pdt), "segment times grow with the sequence")
		}
	}
	return p
}

// segment fetches segment seq and checks its bytes against earlier lives.
func (s *seen) segment(t *testing.T, base string, seq int64) {
	t.Helper()
	resp, err := http.Get(base + "/channels/crash/seg/" + strconv.FormatInt(seq, 10) + ".ts")
	if err != nil {
		return // the server was killed under us
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode == http.StatusNotFound {
		return
	}
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	h := sha256.Sum256(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.hash[seq]; ok {
		require.Equal(t, prev, h, "segment %d changed across a crash", seq)
		s.compared++
	}
	s.hash[seq] = h
}

// TestCrashSafety kills `onair serve` with SIGKILL at random moments, 24
// times, in four situations in turn: during the library scan at start
// (with a new file to scan), right after a schedule rebuild (the channel file
// switched and SIGHUP sent), during playback, and while the log is being
// written ahead at start. After each kill the database passes PRAGMA
// integrity_check; after each restart the playlist keeps the media sequence
// arithmetic (a sequence number keeps its start time, the live edge never
// goes back) and every segment a client was served before, still retained,
// is served byte for byte the same.
func TestCrashSafety(t *testing.T) {
	bin := buildOnair(t)
	root := writeE2ELibrary(t)
	chdir := t.TempDir()
	chfile := filepath.Join(chdir, "crash.yaml")
	require.NoError(t, os.WriteFile(chfile, []byte(crashPlaylistA), 0o644))
	data := t.TempDir()
	dbPath := filepath.Join(data, "onair.db")
	args := []string{"--data", data, "--library", root, "--channels", chdir}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	s := &seen{pdt: map[int64]time.Time{}, hash: map[int64][32]byte{}, newest: -1}
	version := "A"

	const kills = 24
	for i := range kills {
		mode := []string{"scan", "rebuild", "playback", "writes"}[i%4]
		if mode == "scan" {
			p := filepath.Join(root, "ads", "extra-"+strconv.Itoa(i)+".ts")
			require.NoError(t, testmedia.WriteFile(p, testmedia.Options{Width: 320, Height: 180, FrameRateNum: e2eFPS, FrameRateDen: 1, GOPFrames: e2eFPS, Duration: 2 * time.Second, Seed: int64(100 + i), Label: "extra"}))
		}
		p := startProc(t, bin, args...)
		base := waitServing(t, p.stdout)
		if mode == "scan" {
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			p.kill(t)
			integrityCheck(t, dbPath)
			continue
		}
		waitReady(t, base)
		// The channel plays on with the same arithmetic and bytes.
		waitFor(t, 20*time.Second, "a playlist", func() bool {
			c, _ := get(t, base+"/channels/crash/index.m3u8")
			return c == http.StatusOK
		})
		pl := s.playlist(t, base)
		// Every segment of the window: those served in earlier lives must
		// come back byte for byte.
		for _, seg := range pl.segments {
			s.segment(t, base, seg.seq)
		}

		switch mode {
		case "rebuild":
			if version == "A" {
				version = "B"
				require.NoError(t, os.WriteFile(chfile, []byte(crashPlaylistB), 0o644))
			} else {
				version = "A"
				require.NoError(t, os.WriteFile(chfile, []byte(crashPlaylistA), 0o644))
			}
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		case "playback":
			stop := time.Now().Add(time.Duration(200+rng.IntN(800)) * time.Millisecond)
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for time.Now().Before(stop) {
						resp, err := http.Get(base + "/channels/crash/index.m3u8")
						if err != nil {
							return
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if pp, err := parseMediaPlaylist(string(body)); err == nil && len(pp.segments) > 0 {
							s.segment(t, base, pp.segments[len(pp.segments)-1].seq)
						}
					}
				})
			}
			time.Sleep(time.Until(stop) - time.Duration(rng.IntN(100))*time.Millisecond)
			p.kill(t)
			wg.Wait()
			integrityCheck(t, dbPath)
			continue
		case "writes":
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		}
		p.kill(t)
		integrityCheck(t, dbPath)
	}

	// A last clean life: the same checks, then a graceful stop.
	p := startProc(t, bin, args...)
	base := waitServing(t, p.stdout)
	waitReady(t, base)
	pl := s.playlist(t, base)
	for _, seg := range pl.segments {
		s.segment(t, base, seg.seq)
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), tail(p.stderr.String(), 20))
	integrityCheck(t, dbPath)
	require.NotContains(t, p.stderr.String(), "level=ERROR", tail(p.stderr.String(), 20))
	t.Logf("%d kills; %d segments seen, %d served again identical", kills, len(s.hash), s.compared)
	require.Greater(t, s.compared, kills, "segments were compared across lives")
}
