package source

import (
	"bytes"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"onair/library"
	"onair/testmedia"
)

// fixtureDir holds the clips shared by the tests of one run.
var fixtureDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "onair-source-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var execLookPath = exec.LookPath

// needTool returns the path of a tool, skipping the test when it is missing (failing it when
// ONAIR_REQUIRE_TOOLS=1).
func needTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("ONAIR_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found on PATH (ONAIR_REQUIRE_TOOLS=1)", name)
	}
	t.Skipf("SKIP: %s not found", name)
	return ""
}

// clip is a test media file with what is known about it.
type clip struct {
	path      string
	container string
	kf        library.KeyframeIndex
	// frames and audioFrames are the expected counts (from the generator or ffprobe).
	frames, audioFrames int
	bframes             bool
	h265                bool
	// audioCodec is the expected Info.AudioCodec; empty means AAC.
	audioCodec string
}

var (
	clipsMu sync.Mutex
	clips   = map[string]*clip{}
)

// cachedClip makes a clip once per test run.
func cachedClip(t testing.TB, name string, make func(path string) (*clip, error)) *clip {
	t.Helper()
	clipsMu.Lock()
	defer clipsMu.Unlock()
	if c, ok := clips[name]; ok {
		if c == nil {
			t.Fatalf("clip %s failed before", name)
		}
		return c
	}
	clips[name] = nil
	c, err := make(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("clip %s: %v", name, err)
	}
	clips[name] = c
	return c
}

// genClip returns a testmedia clip; name ends in .ts, .m2ts or .mp4.
func genClip(t testing.TB, name string, o testmedia.Options) *clip {
	return cachedClip(t, name, func(path string) (*clip, error) {
		container := containerTS
		switch filepath.Ext(name) {
		case ".mp4":
			container = containerMP4
			o.Container = testmedia.ContainerMP4
		default:
			o.Container = testmedia.ContainerTS
		}
		var buf bytes.Buffer
		if err := testmedia.Generate(&buf, o); err != nil {
			return nil, err
		}
		data := buf.Bytes()
		if filepath.Ext(name) == ".m2ts" {
			data = toM2TS(data)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		num, den := o.FrameRateNum, o.FrameRateDen
		if num == 0 {
			num, den = 25, 1
		}
		frames := testmedia.FrameCount(o.Duration, num, den)
		c := &clip{path: path, container: container, frames: frames}
		if !o.NoAudio {
			c.audioFrames = testmedia.AudioFrameCount(frames, num, den)
		}
		var err error
		c.kf, err = testIndex(path, container)
		return c, err
	})
}

// toM2TS prefixes every 188-byte packet with a 4-byte arrival timestamp.
func toM2TS(ts []byte) []byte {
	out := make([]byte, 0, len(ts)/188*192)
	for i := 0; i+188 <= len(ts); i += 188 {
		n := uint32(i / 188 * 300)
		out = append(out, byte(n>>24)&0x3f, byte(n>>16), byte(n>>8), byte(n))
		out = append(out, ts[i:i+188]...)
	}
	return out
}

// ffClip returns a clip made by ffmpeg from lavfi sources (320x180 at 25 fps, a keyframe
// every 50 frames, AAC audio) with the given video encoder arguments; name ends in .ts,
// .m2ts or .mp4.
func ffClip(t testing.TB, name string, seconds int, videoArgs ...string) *clip {
	return ffClipSized(t, name, "320x180", seconds, videoArgs...)
}

// ffClipSized is ffClip with another picture size.
func ffClipSized(t testing.TB, name, size string, seconds int, videoArgs ...string) *clip {
	ffmpeg := needTool(t, "ffmpeg")
	ffprobe := needTool(t, "ffprobe")
	return cachedClip(t, name, func(path string) (*clip, error) {
		args := []string{
			"-v", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=s=" + size + ":r=25",
			"-f", "lavfi", "-i", "sine=f=440:r=48000",
			"-t", strconv.Itoa(seconds),
		}
		args = append(args, videoArgs...)
		audioCodec := codecAAC
		if i := slices.Index(videoArgs, "-c:a"); i >= 0 {
			audioCodec = map[string]string{"libopus": codecOpus, "ac3": codecAC3}[videoArgs[i+1]]
		} else {
			args = append(args, "-c:a", "aac", "-b:a", "96k")
		}
		container := containerMP4
		switch filepath.Ext(name) {
		case ".ts":
			container = containerTS
			args = append(args, "-f", "mpegts")
		case ".m2ts":
			container = containerTS
			args = append(args, "-f", "mpegts", "-mpegts_m2ts_mode", "1")
		}
		args = append(args, path)
		if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %w: %s", err, out)
		}
		// Video: decoded frames. Audio: packets, since ffmpeg does not decode the AAC
		// priming frame an MP4 edit list skips, which is still a frame of the file.
		out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-count_packets",
			"-show_entries", "stream=codec_type,nb_read_frames,nb_read_packets", "-of", "csv=p=0", path).Output()
		if err != nil {
			return nil, fmt.Errorf("ffprobe: %w", err)
		}
		c := &clip{path: path, container: container, h265: slices.Contains(videoArgs, "libx265"), audioCodec: audioCodec}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Split(strings.TrimSpace(line), ",")
			if len(fields) < 3 {
				continue
			}
			frames, err1 := strconv.Atoi(fields[1])
			packets, err2 := strconv.Atoi(fields[2])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("ffprobe output %q", out)
			}
			switch fields[0] {
			case "video":
				c.frames = frames
			case "audio":
				c.audioFrames = packets
			}
		}
		c.bframes = !slices.Contains(videoArgs, "-bf") || videoArgs[slices.Index(videoArgs, "-bf")+1] != "0"
		c.kf, err = testIndex(path, container)
		return c, err
	})
}

// testIndex builds a keyframe index the way the library's probe defines it, independently of
// the code under test.
func testIndex(path, container string) (library.KeyframeIndex, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return library.KeyframeIndex{}, err
	}
	if container == containerMP4 {
		return mp4TestIndex(data)
	}
	return tsTestIndex(data)
}

// tsTestIndex scans every packet: keyframes are the video PES whose first slice is an IDR
// (H.264) or IRAP (H.265) picture, at the offset of the packet that starts the PES.
func tsTestIndex(data []byte) (library.KeyframeIndex, error) {
	stride, so := 188, 0
	if len(data) > 4 && data[0] != 0x47 && data[4] == 0x47 {
		stride, so = 192, 4
	}
	pkt := func(i int) []byte { return data[i+so : i+so+188] }
	payload := func(p []byte) []byte {
		start := 4
		if p[3]&0x20 != 0 {
			start = 5 + int(p[4])
		}
		if p[3]&0x10 == 0 || start >= 188 {
			return nil
		}
		return p[start:]
	}
	pmtPID, vpid, h265 := -1, -1, false
	for i := 0; i+stride <= len(data) && vpid < 0; i += stride {
		p := pkt(i)
		pid := int(p[1]&0x1f)<<8 | int(p[2])
		if p[1]&0x40 == 0 || (pid != 0 && pid != pmtPID) {
			continue
		}
		pl := payload(p)
		sec := pl[1+int(pl[0]):]
		if pid == 0 {
			pmtPID = int(sec[10]&0x1f)<<8 | int(sec[11])
			continue
		}
		l := 3 + (int(sec[1]&0x0f)<<8 | int(sec[2]))
		for j := 12 + (int(sec[10]&0x0f)<<8 | int(sec[11])); j+5 <= l-4; {
			st, epid := sec[j], int(sec[j+1]&0x1f)<<8|int(sec[j+2])
			if st == 0x1b || st == 0x24 {
				vpid, h265 = epid, st == 0x24
				break
			}
			j += 5 + (int(sec[j+3]&0x0f)<<8 | int(sec[j+4]))
		}
	}
	if vpid < 0 {
		return library.KeyframeIndex{}, fmt.Errorf("no video PID")
	}
	type pes struct {
		off  int64
		pts  int64
		data []byte
	}
	var all []pes
	for i := 0; i+stride <= len(data); i += stride {
		p := pkt(i)
		if int(p[1]&0x1f)<<8|int(p[2]) != vpid {
			continue
		}
		pl := payload(p)
		if p[1]&0x40 != 0 {
			raw := int64(pl[9]>>1&7)<<30 | int64(pl[10])<<22 | int64(pl[11]>>1)<<15 | int64(pl[12])<<7 | int64(pl[13]>>1)
			all = append(all, pes{off: int64(i), pts: raw, data: slices.Clone(pl[9+int(pl[8]):])})
		} else if len(all) > 0 {
			all[len(all)-1].data = append(all[len(all)-1].data, pl...)
		}
	}
	var idx library.KeyframeIndex
	prevRaw, cur := all[0].pts, all[0].pts
	idx.StartPTS = cur
	for _, p := range all {
		d := (p.pts - prevRaw) & (1<<33 - 1)
		if d >= 1<<32 {
			d -= 1 << 33
		}
		prevRaw, cur = p.pts, cur+d
		idx.StartPTS = min(idx.StartPTS, cur)
		// The first slice NAL unit after a start code.
		b := p.data
		for {
			j := bytes.Index(b, []byte{0, 0, 1})
			if j < 0 || j+3 >= len(b) {
				break
			}
			b = b[j+3:]
			if h265 {
				if t := int(b[0]>>1) & 0x3f; t < 32 {
					if t >= 16 && t <= 21 {
						idx.Keyframes = append(idx.Keyframes, library.Keyframe{PTS: cur, Offset: p.off})
					}
					break
				}
			} else if t := int(b[0] & 0x1f); t >= 1 && t <= 5 {
				if t == 5 {
					idx.Keyframes = append(idx.Keyframes, library.Keyframe{PTS: cur, Offset: p.off})
				}
				break
			}
		}
	}
	slices.SortFunc(idx.Keyframes, func(a, b library.Keyframe) int { return int(a.PTS - b.PTS) })
	return idx, nil
}

// mp4TestIndex lists the sync samples of the first video track with mp4ff's own table
// helpers: PTS = composition time minus the edit's media time, plus leading empty edits,
// at 90 kHz rounded to nearest.
func mp4TestIndex(data []byte) (library.KeyframeIndex, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		return library.KeyframeIndex{}, err
	}
	to90k := func(v int64, ts uint32) int64 {
		r := new(big.Rat).SetFrac(big.NewInt(v*90000), big.NewInt(int64(ts)))
		neg := r.Sign() < 0
		r.Abs(r).Add(r, big.NewRat(1, 2))
		q := new(big.Int).Quo(r.Num(), r.Denom()).Int64()
		if neg {
			return -q
		}
		return q
	}
	for _, trak := range f.Moov.Traks {
		if trak.Mdia.Hdlr.HandlerType != "vide" {
			continue
		}
		ts := trak.Mdia.Mdhd.Timescale
		stbl := trak.Mdia.Minf.Stbl
		var mediaTime, delay int64
		if trak.Edts != nil && len(trak.Edts.Elst) > 0 {
			for _, e := range trak.Edts.Elst[0].Entries {
				if e.MediaTime == -1 {
					delay += to90k(int64(e.SegmentDuration), f.Moov.Mvhd.Timescale)
					continue
				}
				mediaTime = e.MediaTime
				break
			}
		}
		var idx library.KeyframeIndex
		idx.StartPTS = 1 << 62
		n := stbl.Stsz.GetNrSamples()
		for nr := uint32(1); nr <= n; nr++ {
			dec, _ := stbl.Stts.GetDecodeTime(nr)
			var cto int64
			if stbl.Ctts != nil {
				cto = int64(stbl.Ctts.GetCompositionTimeOffset(nr))
			}
			pts := to90k(int64(dec)+cto-mediaTime, ts) + delay
			idx.StartPTS = min(idx.StartPTS, pts)
			if stbl.Stss != nil && !slices.Contains(stbl.Stss.SampleNumber, nr) {
				continue
			}
			chunk, first, err := stbl.Stsc.ChunkNrFromSampleNr(int(nr))
			if err != nil {
				return idx, err
			}
			var off uint64
			if stbl.Co64 != nil {
				off, err = stbl.Co64.GetOffset(chunk)
			} else {
				off, err = stbl.Stco.GetOffset(chunk)
			}
			if err != nil {
				return idx, err
			}
			for s := first; s < int(nr); s++ {
				off += uint64(stbl.Stsz.GetSampleSize(s))
			}
			idx.Keyframes = append(idx.Keyframes, library.Keyframe{PTS: pts, Offset: int64(off)})
		}
		slices.SortFunc(idx.Keyframes, func(a, b library.Keyframe) int { return int(a.PTS - b.PTS) })
		return idx, nil
	}
	return library.KeyframeIndex{}, fmt.Errorf("no video track")
}

// countingFile counts the bytes read through it and remembers the lowest offset read.
type countingFile struct {
	file
	mu     sync.Mutex
	read   int64
	minOff int64
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.read += int64(len(p))
	c.minOff = min(c.minOff, off)
	c.mu.Unlock()
	return c.file.ReadAt(p, off)
}

func (c *countingFile) reset() {
	c.mu.Lock()
	c.read, c.minOff = 0, 1<<62
	c.mu.Unlock()
}

// memFile is a file in memory, for fuzzing.
type memFile struct {
	*bytes.Reader
	name string
}

func (m memFile) Name() string { return m.name }
func (m memFile) Close() error { return nil }

// openWith opens a reader over f, bypassing os.Open.
func openWith(t testing.TB, f file, container string, kf library.KeyframeIndex) Reader {
	t.Helper()
	h, err := parseHeader(f, container)
	if err != nil {
		t.Fatalf("parse header: %v", err)
	}
	return h.newReader(f, kf)
}

// openOS opens the file at path as the package does.
func openOS(t testing.TB, path string) osFile {
	t.Helper()
	f, _, err := openFile(path, containerTS)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// touchLater moves a file's modification time forward, so a rewrite is seen as a change even
// on file systems with coarse timestamps.
func touchLater(t testing.TB, path string, d time.Duration) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime().Add(d), fi.ModTime().Add(d)); err != nil {
		t.Fatal(err)
	}
}
