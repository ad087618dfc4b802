package h264gen

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool returns the path of name on PATH. When it is missing the test is
// skipped, or fails when ONAIR_REQUIRE_TOOLS=1 (as in CI).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not found on PATH (ONAIR_REQUIRE_TOOLS=1)", name)
		}
		t.Skipf("SKIP: %s not found", name)
	}
	return p
}

const (
	testGOPs      = 3
	testGOPFrames = 50
)

// gopLines returns the text of GOP g of a test stream: the case's lines,
// then a line that changes every GOP.
func gopLines(lines []string, g int) []string {
	return append(append([]string(nil), lines...), fmt.Sprintf("gop %d f%d", g, g*testGOPFrames))
}

// annexB returns testGOPs GOPs of e as an Annex B byte stream: each access
// unit starts with an access unit delimiter, an IDR one also carries the SPS
// and PPS, and each GOP is an IDR picture followed by P pictures.
// Specification: ITU-T H.264, B.1 and 7.3.2.4.
func annexB(e *Encoder, lines []string) []byte {
	startCode := []byte{0, 0, 0, 1}
	audI := []byte{0x09, 0x10} // primary_pic_type 0: I slices only
	audP := []byte{0x09, 0x30} // primary_pic_type 1: I and P slices
	var out []byte
	for g := range testGOPs {
		for _, nal := range [][]byte{audI, e.SPS(), e.PPS(), e.IDR(g, gopLines(lines, g))} {
			out = append(append(out, startCode...), nal...)
		}
		for f := 1; f < testGOPFrames; f++ {
			out = append(append(append(out, startCode...), audP...), startCode...)
			out = append(out, e.P(f)...)
		}
	}
	return out
}

// frameYUV returns what e draws for lines as a display-size yuv420p frame.
func frameYUV(e *Encoder, lines []string) []byte {
	p := e.render(lines)
	out := make([]byte, 0, e.width*e.height*3/2)
	for y := range e.height {
		for x := range e.width {
			out = append(out, p.luma(x, y))
		}
	}
	for c := 1; c <= 2; c++ {
		for y := range e.height / 2 {
			for x := range e.width / 2 {
				out = append(out, p.chroma(c, x, y))
			}
		}
	}
	return out
}

// runFFmpeg runs ffmpeg with args and fails the test on an error or on any
// output to stderr (with -v error, only errors are printed).
func runFFmpeg(t *testing.T, ffmpeg string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(ffmpeg, append([]string{"-nostdin", "-hide_banner", "-v", "error"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("ffmpeg %s reported:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.Bytes()
}

func TestFFmpegDecodes(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	for _, tc := range idrCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "f.h264")
			if err = os.WriteFile(file, annexB(e, tc.lines), 0o644); err != nil {
				t.Fatal(err)
			}

			// No decoding error at all.
			runFFmpeg(t, ffmpeg, "-i", file, "-f", "null", "-")

			// The first frame, pixel by pixel.
			raw := filepath.Join(t.TempDir(), "out.yuv")
			runFFmpeg(t, ffmpeg, "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", raw)
			got, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			lines0 := gopLines(tc.lines, 0)
			want := frameYUV(e, lines0)
			if len(got) != len(want) {
				t.Fatalf("first frame has %d bytes, want %d", len(got), len(want))
			}
			far := (e.height-1)*e.width + e.width - 1 // bottom-right, far from the text
			if got[far] != e.bg[0] {
				t.Errorf("background luma %d, want %d", got[far], e.bg[0])
			}
			if x, y, ok := firstInk(e, lines0); ok {
				if got[y*e.width+x] != e.fg[0] {
					t.Errorf("glyph luma at %d,%d is %d, want %d", x, y, got[y*e.width+x], e.fg[0])
				}
			} else if len(tc.lines) > 0 && e.layout.rows > 0 {
				t.Error("no ink found in the first character")
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("first frame differs at byte %d: %d, want %d", i, got[i], want[i])
			}

			// Every frame of every GOP, by MD5.
			out := runFFmpeg(t, ffmpeg, "-i", file, "-f", "framemd5", "-pix_fmt", "yuv420p", "-")
			var sums []string
			for line := range strings.SplitSeq(string(out), "\n") {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				f := strings.Split(line, ",")
				sums = append(sums, strings.TrimSpace(f[len(f)-1]))
			}
			if len(sums) != testGOPs*testGOPFrames {
				t.Fatalf("%d frames decoded, want %d", len(sums), testGOPs*testGOPFrames)
			}
			for g := range testGOPs {
				sum := md5.Sum(frameYUV(e, gopLines(tc.lines, g)))
				want := hex.EncodeToString(sum[:])
				for f := range testGOPFrames {
					if got := sums[g*testGOPFrames+f]; got != want {
						t.Fatalf("GOP %d frame %d: md5 %s, want %s", g, f, got, want)
					}
				}
			}
		})
	}
}

// firstInk returns the centre of the first ink pixel of the first
// character of lines, when it is drawn.
func firstInk(e *Encoder, lines []string) (x, y int, ok bool) {
	l := e.layout
	if len(lines) == 0 || lines[0] == "" || l.cols == 0 || l.rows == 0 {
		return 0, 0, false
	}
	g := glyphFor([]rune(lines[0])[0])
	for gy := range glyphH {
		for gx := range glyphW {
			if g.ink(gx, gy) {
				return l.x0 + gx*l.scale + l.scale/2, l.y0 + gy*l.scale + l.scale/2, true
			}
		}
	}
	return 0, 0, false
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
