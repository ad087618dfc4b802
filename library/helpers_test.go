package library

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"onair/testmedia"
)

// clipDir holds clips shared by the tests of one run (made by ffmpeg or testmedia).
var clipDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "onair-library-clips-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clipDir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

// requireTool returns the path of a command-line tool, or skips the test when it is missing
// (fails instead when ONAIR_REQUIRE_TOOLS=1).
func requireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
			tb.Fatalf("%s not found and ONAIR_REQUIRE_TOOLS=1", name)
		}
		tb.Skipf("SKIP: %s not found", name)
	}
	return p
}

var (
	clipMu    sync.Mutex
	clipCache = map[string][]byte{}
)

// genClip returns a clip made by the pure-Go generator, cached for the run.
func genClip(tb testing.TB, o testmedia.Options) []byte {
	tb.Helper()
	key := fmt.Sprintf("%+v", o)
	clipMu.Lock()
	defer clipMu.Unlock()
	if b, ok := clipCache[key]; ok {
		return b
	}
	var buf bytes.Buffer
	if err := testmedia.Generate(&buf, o); err != nil {
		tb.Fatalf("testmedia.Generate(%+v): %v", o, err)
	}
	clipCache[key] = buf.Bytes()
	return buf.Bytes()
}

// smallClip is a 6 s, 320x180, 25 fps clip with a keyframe every 2 s.
func smallClip(tb testing.TB, container string) []byte {
	return genClip(tb, testmedia.Options{
		Width: 320, Height: 180, FrameRateNum: 25, FrameRateDen: 1, GOPFrames: 50,
		Duration: 6 * time.Second, Container: container, Seed: 7, Label: "probe",
	})
}

// tinyClip is a 1 s, 32x32 clip with a keyframe every 10 frames: small enough to seed the
// fuzz targets (the fuzzer minimizes inputs byte by byte).
func tinyClip(tb testing.TB, container string) []byte {
	return genClip(tb, testmedia.Options{
		Width: 32, Height: 32, FrameRateNum: 25, FrameRateDen: 1, GOPFrames: 10,
		Duration: time.Second, Container: container, Seed: 9, Label: "f", Silent: true,
	})
}

// ffmpegClip returns the path of a 6 s 320x180 25 fps clip with a sine tone that ffmpeg
// encodes with the given output arguments into a file named name (its extension picks the
// container). It skips the test when ffmpeg is missing.
func ffmpegClip(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	full := []string{"-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", "sine=r=48000"}
	full = append(full, args...)
	return ffmpegFile(tb, name, append(full, "-t", "6")...)
}

// ffmpegFile runs ffmpeg with args and the output file name, once per test run.
func ffmpegFile(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	ffmpeg := requireTool(tb, "ffmpeg")
	clipMu.Lock()
	defer clipMu.Unlock()
	out := filepath.Join(clipDir, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	full := append([]string{"-v", "error", "-y"}, args...)
	full = append(full, out)
	if b, err := exec.Command(ffmpeg, full...).CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", full, err, b)
	}
	return out
}

// toM2TS turns 188-byte packets into 192-byte M2TS packets with a zero timestamp prefix.
func toM2TS(ts []byte) []byte {
	out := make([]byte, 0, len(ts)/188*192)
	for i := 0; i+188 <= len(ts); i += 188 {
		out = append(out, 0, 0, 0, 0)
		out = append(out, ts[i:i+188]...)
	}
	return out
}

// writeFile writes b to path, creating directories.
func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// badInputs are contents that no probe may accept, shared by the TS and MP4 tables and
// seeding both fuzz targets.
func badInputs() map[string][]byte {
	random := make([]byte, 4<<10)
	x := uint32(2463534242)
	for i := range random {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		random[i] = byte(x)
	}
	return map[string][]byte{
		"zero-length": {},
		"random":      random,
		"text":        []byte("Good evening. This is not a video, it is a text file with a media extension.\n"),
		"one-byte":    {0x47},
		"sync-only":   bytes.Repeat([]byte{0x47}, 188*3),
		"box-header":  {0, 0, 0, 8, 'f', 't', 'y', 'p'},
	}
}
