package source

import (
	"context"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"onair/library"
	"onair/testmedia"
)

// endOfFile is a range end after any clip's last frame.
const endOfFile = int64(1) << 60

// rangeResult is the output of one Range call.
type rangeResult struct {
	from, to     int64
	video, audio []Frame
}

// readConsecutive reads the ranges [k_i, k_i+1) of the clip's keyframe index, the last one to
// the end of the file.
func readConsecutive(t *testing.T, r Reader, kf library.KeyframeIndex) []rangeResult {
	t.Helper()
	var out []rangeResult
	for i, k := range kf.Keyframes {
		to := endOfFile
		if i+1 < len(kf.Keyframes) {
			to = kf.Keyframes[i+1].PTS
		}
		v, a, err := r.Range(context.Background(), k.PTS, to)
		if err != nil {
			t.Fatalf("range %d [%d, %d): %v", i, k.PTS, to, err)
		}
		out = append(out, rangeResult{from: k.PTS, to: to, video: v, audio: a})
	}
	return out
}

// checkClip checks the partition rules of the package documentation on a clip.
func checkClip(t *testing.T, c *clip, r Reader) {
	t.Helper()
	info := r.Info()
	kind := nalKind{h265: c.h265}
	if want := map[bool]string{false: codecH264, true: codecH265}[c.h265]; info.VideoCodec != want {
		t.Errorf("video codec %q, want %q", info.VideoCodec, want)
	}
	if info.Width == 0 || info.Height == 0 || info.FrameDuration == 0 || len(info.SPS) == 0 || len(info.PPS) == 0 {
		t.Errorf("incomplete info %+v", info)
	}
	switch {
	case c.audioFrames == 0:
		if info.AudioCodec != "" {
			t.Errorf("audio codec %q in a clip without audio", info.AudioCodec)
		}
	case c.audioCodec == "" || c.audioCodec == codecAAC:
		if info.AudioCodec != codecAAC || len(info.AudioConfig) < 2 || info.SampleRate != 48000 ||
			info.Channels == 0 || info.AudioFrameSamples != 1024 {
			t.Errorf("audio info %+v", info)
		}
	default:
		want := map[string]int{codecOpus: 960, codecAC3: 1536}[c.audioCodec]
		if info.AudioCodec != c.audioCodec || info.SampleRate != 48000 || info.Channels == 0 || info.AudioFrameSamples != want {
			t.Errorf("audio info %+v, want %s with %d samples per frame", info, c.audioCodec, want)
		}
	}
	afd := info.audioFrameTicks()

	ranges := readConsecutive(t, r, c.kf)
	var all []Frame
	audioPTS := map[int64][]byte{}
	for i, rr := range ranges {
		if len(rr.video) == 0 {
			t.Fatalf("range %d [%d, %d): no video", i, rr.from, rr.to)
		}
		if v := rr.video[0]; !v.Key || v.PTS != rr.from {
			t.Errorf("range %d: first frame key=%v pts=%d, want a keyframe at %d", i, v.Key, v.PTS, rr.from)
		}
		for j, f := range rr.video {
			if !f.Video || len(f.Data) == 0 {
				t.Fatalf("range %d frame %d: %+v", i, j, f)
			}
			if f.PTS < f.DTS {
				t.Errorf("range %d frame %d: PTS %d < DTS %d", i, j, f.PTS, f.DTS)
			}
			if f.PTS >= rr.to {
				t.Errorf("range %d frame %d: PTS %d at or after the end %d", i, j, f.PTS, rr.to)
			}
			for _, nal := range f.Data {
				if len(nal) == 0 || kind.isAUD(kind.typ(nal)) {
					t.Fatalf("range %d frame %d: empty or AUD NAL unit", i, j)
				}
			}
			if f.Key {
				checkParamSets(t, kind, f.Data)
			}
		}
		for _, a := range rr.audio {
			if a.Video || len(a.Data) != 1 || len(a.Data[0]) == 0 {
				t.Fatalf("range %d: bad audio frame %+v", i, a)
			}
			if a.PTS < rr.from-2*afd || a.PTS >= addTicks(rr.to, 2*afd) {
				t.Errorf("range %d [%d, %d): audio PTS %d outside the margins", i, rr.from, rr.to, a.PTS)
			}
			if prev, ok := audioPTS[a.PTS]; ok && !slices.Equal(prev, a.Data[0]) {
				t.Errorf("audio frame at %d differs between ranges", a.PTS)
			}
			audioPTS[a.PTS] = a.Data[0]
		}
		for j := 1; j < len(rr.audio); j++ {
			if d := rr.audio[j].PTS - rr.audio[j-1].PTS; d < afd-1 || d > afd+1 {
				t.Errorf("range %d: audio PTS step %d, want %d", i, d, afd)
			}
		}
		all = append(all, rr.video...)
	}

	if len(all) != c.frames {
		t.Errorf("%d video frames in all ranges, want %d", len(all), c.frames)
	}
	reordered := false
	for j := 1; j < len(all); j++ {
		reordered = reordered || all[j].PTS < all[j-1].PTS
	}
	if reordered != c.bframes {
		t.Errorf("reordered frames: %v, want %v", reordered, c.bframes)
	}
	seen := map[int64]bool{}
	for j, f := range all {
		if seen[f.PTS] {
			t.Errorf("PTS %d twice", f.PTS)
		}
		seen[f.PTS] = true
		if j > 0 && f.DTS <= all[j-1].DTS {
			t.Errorf("frame %d: DTS %d not after %d (decode order)", j, f.DTS, all[j-1].DTS)
		}
		if j > 0 && !c.bframes && f.PTS <= all[j-1].PTS {
			t.Errorf("frame %d: PTS %d not after %d without B-frames", j, f.PTS, all[j-1].PTS)
		}
	}

	// Audio: the ranges together hold every audio frame from 2 frames before the first
	// keyframe on.
	if c.audioFrames > 0 {
		_, whole, err := r.Range(context.Background(), -endOfFile, endOfFile)
		if err != nil {
			t.Fatal(err)
		}
		if len(whole) != c.audioFrames {
			t.Errorf("%d audio frames in the file, want %d", len(whole), c.audioFrames)
		}
		want := 0
		for _, a := range whole {
			if a.PTS >= c.kf.Keyframes[0].PTS-2*afd {
				want++
				if _, ok := audioPTS[a.PTS]; !ok {
					t.Errorf("audio frame at %d in no range", a.PTS)
				}
			}
		}
		if len(audioPTS) != want {
			t.Errorf("%d distinct audio frames in the ranges, want %d", len(audioPTS), want)
		}
	}
}

// checkParamSets checks that a keyframe starts with (VPS,) SPS and PPS.
func checkParamSets(t *testing.T, kind nalKind, data [][]byte) {
	t.Helper()
	want := []int{1, 2}
	if kind.h265 {
		want = []int{0, 1, 2}
	}
	if len(data) < len(want)+1 {
		t.Fatalf("keyframe with %d NAL units", len(data))
	}
	for i, slot := range want {
		if got := kind.paramSlot(kind.typ(data[i])); got != slot {
			t.Fatalf("keyframe NAL unit %d has type %d, want parameter set %d", i, kind.typ(data[i]), slot)
		}
	}
}

// generatorClips are the tool-free clips.
func generatorClips(t *testing.T) map[string]*clip {
	return map[string]*clip{
		"ts 25fps":  genClip(t, "gen25.ts", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "TS"}),
		"mp4 25fps": genClip(t, "gen25.mp4", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "MP4"}),
		"ts 29.97fps": genClip(t, "gen2997.ts", testmedia.Options{
			Width: 320, Height: 180, FrameRateNum: 30000,
			FrameRateDen: 1001, Duration: 7 * time.Second, Seed: 2, Label: "NTSC",
		}),
		"mp4 29.97fps": genClip(t, "gen2997.mp4", testmedia.Options{
			Width: 320, Height: 180, FrameRateNum: 30000,
			FrameRateDen: 1001, Duration: 7 * time.Second, Seed: 2, Label: "NTSC",
		}),
		"m2ts":        genClip(t, "gen.m2ts", testmedia.Options{Width: 320, Height: 180, Duration: 5 * time.Second, Seed: 3, GOPFrames: 25}),
		"ts no audio": genClip(t, "genmute.ts", testmedia.Options{Duration: 4 * time.Second, NoAudio: true, GOPFrames: 30}),
		"ts all keyframes": genClip(t, "genslate.ts", testmedia.Options{
			Width: 64, Height: 64, Duration: 2 * time.Second,
			GOPFrames: 1, Label: "SLATE",
		}),
	}
}

func TestRangePartitionGenerated(t *testing.T) {
	for name, c := range generatorClips(t) {
		t.Run(name, func(t *testing.T) {
			r, err := Open(c.path, c.container, c.kf)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			checkClip(t, c, r)
		})
	}
}

func TestRangePartitionFFmpeg(t *testing.T) {
	x264 := []string{"-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"}
	x265 := []string{"-c:v", "libx265", "-preset", "veryfast", "-x265-params", "keyint=50:min-keyint=50:scenecut=0:log-level=error"}
	tests := []struct {
		name string
		file string
		args []string
	}{
		{"h264 ts", "h264.ts", append(slices.Clone(x264), "-bf", "0")},
		{"h264 mp4", "h264.mp4", append(slices.Clone(x264), "-bf", "0")},
		{"h264 m2ts", "h264.m2ts", append(slices.Clone(x264), "-bf", "0")},
		{"h264 bframes ts", "h264bf.ts", append(slices.Clone(x264), "-bf", "2")},
		{"h264 bframes mp4", "h264bf.mp4", append(slices.Clone(x264), "-bf", "2")},
		{"h265 ts", "h265.ts", x265},
		{"h265 mp4", "h265.mp4", x265},
		{"opus ts", "opus.ts", append(slices.Clone(x264), "-bf", "0", "-c:a", "libopus", "-b:a", "64k")},
		{"opus mp4", "opus.mp4", append(slices.Clone(x264), "-bf", "0", "-c:a", "libopus", "-b:a", "64k")},
		{"ac3 ts", "ac3.ts", append(slices.Clone(x264), "-bf", "0", "-c:a", "ac3", "-b:a", "192k")},
		{"ac3 mp4", "ac3.mp4", append(slices.Clone(x264), "-bf", "0", "-c:a", "ac3", "-b:a", "192k")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ffClip(t, tt.file, 6, tt.args...)
			r, err := Open(c.path, c.container, c.kf)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			checkClip(t, c, r)
		})
	}
}

func TestRangeDeterministic(t *testing.T) {
	for name, c := range generatorClips(t) {
		t.Run(name, func(t *testing.T) {
			cache := NewCache(4)
			ks := c.kf.Keyframes
			i := len(ks) / 2
			to := endOfFile
			if i+1 < len(ks) {
				to = ks[i+1].PTS
			}
			var first [2][]Frame
			for n := range 3 {
				// Through Open, and twice through the cache (miss, then hit).
				var r Reader
				var err error
				if n == 0 {
					r, err = Open(c.path, c.container, c.kf)
				} else {
					r, err = cache.Open(c.path, c.container, c.kf)
				}
				if err != nil {
					t.Fatal(err)
				}
				v, a, err := r.Range(context.Background(), ks[i].PTS, to)
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					first = [2][]Frame{v, a}
				} else if !reflect.DeepEqual(first, [2][]Frame{v, a}) {
					t.Fatalf("read %d differs from the first", n)
				}
			}
		})
	}
}

// TestRangeSeeks checks that a range in the middle reads only around its keyframes.
func TestRangeSeeks(t *testing.T) {
	long := map[string]*clip{
		"ts":  genClip(t, "long.ts", testmedia.Options{Width: 320, Height: 180, Duration: 30 * time.Second, Seed: 4}),
		"mp4": genClip(t, "long.mp4", testmedia.Options{Width: 320, Height: 180, Duration: 30 * time.Second, Seed: 4}),
	}
	for name, c := range long {
		t.Run(name, func(t *testing.T) {
			cf := &countingFile{file: openOS(t, c.path)}
			r := openWith(t, cf, c.container, c.kf)
			defer r.Close()
			ks := c.kf.Keyframes
			i := len(ks) / 2
			cf.reset()
			if _, _, err := r.Range(context.Background(), ks[i].PTS, ks[i+1].PTS); err != nil {
				t.Fatal(err)
			}
			// At most one keyframe interval before the range, and not much more than the range.
			if cf.minOff < ks[i-1].Offset {
				t.Errorf("read from byte %d, before the previous keyframe at %d", cf.minOff, ks[i-1].Offset)
			}
			if limit := 3 * (ks[i+1].Offset - ks[i-1].Offset); cf.read > limit {
				t.Errorf("read %d bytes for a range of %d", cf.read, ks[i+1].Offset-ks[i].Offset)
			}
		})
	}
}

func TestRangeNotAligned(t *testing.T) {
	c := genClip(t, "gen25.ts", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1, Label: "TS"})
	r, err := Open(c.path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ks := c.kf.Keyframes
	fd := r.Info().FrameDuration
	// From in the middle of a GOP starts at its keyframe; to in the middle cuts before it.
	v, _, err := r.Range(context.Background(), ks[1].PTS+10*fd, ks[1].PTS+20*fd)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 20 || v[0].PTS != ks[1].PTS || !v[0].Key {
		t.Errorf("got %d frames from %d, want 20 from the keyframe %d", len(v), v[0].PTS, ks[1].PTS)
	}
	// Before the first keyframe: from the first keyframe.
	v, _, err = r.Range(context.Background(), ks[0].PTS-90000, ks[0].PTS+fd)
	if err != nil || len(v) != 1 || v[0].PTS != ks[0].PTS {
		t.Errorf("range before the start: %d frames, %v", len(v), err)
	}
	// Empty and reversed ranges.
	if v, _, err := r.Range(context.Background(), ks[1].PTS, ks[1].PTS); err != nil || len(v) != 0 {
		t.Errorf("empty range: %d frames, %v", len(v), err)
	}
	if _, _, err := r.Range(context.Background(), ks[2].PTS, ks[1].PTS); err == nil {
		t.Error("reversed range: no error")
	}
	// A canceled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Range(ctx, ks[1].PTS, ks[2].PTS); err == nil {
		t.Error("canceled context: no error")
	}
}

// TestMP4MatchesTS reads the same generated clip from both containers: the video frames are
// the same NAL units with the same timestamps (MPEG-TS ones offset by the generator's start).
func TestMP4MatchesTS(t *testing.T) {
	o := testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 1}
	ts := genClip(t, "same.ts", o)
	m4 := genClip(t, "same.mp4", o)
	rt, err := Open(ts.path, ts.container, ts.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	rm, err := Open(m4.path, m4.container, m4.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	it, im := rt.Info(), rm.Info()
	if !reflect.DeepEqual(it, im) {
		t.Errorf("info differs:\nts  %+v\nmp4 %+v", it, im)
	}
	off := int64(testmedia.TSStartPTS)
	for i := range ts.kf.Keyframes {
		if ts.kf.Keyframes[i].PTS-off != m4.kf.Keyframes[i].PTS {
			t.Fatalf("keyframe %d: ts %d, mp4 %d", i, ts.kf.Keyframes[i].PTS, m4.kf.Keyframes[i].PTS)
		}
	}
	vt, at, err := rt.Range(context.Background(), ts.kf.Keyframes[1].PTS, ts.kf.Keyframes[3].PTS)
	if err != nil {
		t.Fatal(err)
	}
	vm, am, err := rm.Range(context.Background(), m4.kf.Keyframes[1].PTS, m4.kf.Keyframes[3].PTS)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vt {
		vt[i].PTS -= off
		vt[i].DTS -= off
	}
	for i := range at {
		at[i].PTS -= off
		at[i].DTS -= off
	}
	if !reflect.DeepEqual(vt, vm) {
		t.Errorf("video differs: %d ts frames, %d mp4 frames", len(vt), len(vm))
	}
	if !reflect.DeepEqual(at, am) {
		t.Errorf("audio differs: %d ts frames, %d mp4 frames", len(at), len(am))
	}
}

// TestOpenGOP documents what a range holds for an open GOP (x265's CRA keyframes): the leading
// pictures decoded after the keyframe but presented before it belong to the keyframe's range.
func TestOpenGOP(t *testing.T) {
	x265 := []string{"-c:v", "libx265", "-preset", "veryfast", "-x265-params", "keyint=50:min-keyint=50:scenecut=0:log-level=error"}
	for _, name := range []string{"h265.ts", "h265.mp4"} {
		t.Run(name, func(t *testing.T) {
			c := ffClip(t, name, 6, x265...)
			r, err := Open(c.path, c.container, c.kf)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ranges := readConsecutive(t, r, c.kf)
			leading := 0
			for i, rr := range ranges {
				for j, f := range rr.video {
					if f.PTS >= rr.from {
						continue
					}
					leading++
					if i == 0 || j == 0 || f.PTS < ranges[i-1].from {
						t.Errorf("range %d frame %d: PTS %d before the range start %d", i, j, f.PTS, rr.from)
					}
				}
			}
			if leading == 0 {
				t.Error("no leading pictures: the clip has closed GOPs")
			}
			t.Logf("%d leading pictures in %d ranges", leading, len(ranges))
		})
	}
}

// shiftTS adds delta (modulo 2^33) to every PES timestamp of a 188-byte-packet stream.
func shiftTS(data []byte, delta int64) []byte {
	data = slices.Clone(data)
	put := func(b []byte, v int64) {
		v &= tsWrap - 1
		b[0] = b[0]&0xf0 | byte(v>>29)&0x0e | 1
		b[1] = byte(v >> 22)
		b[2] = byte(v>>14)&0xfe | 1
		b[3] = byte(v >> 7)
		b[4] = byte(v<<1) | 1
	}
	for i := 0; i+188 <= len(data); i += 188 {
		p := data[i : i+188]
		if p[1]&0x40 == 0 || p[3]&0x10 == 0 {
			continue
		}
		start := 4
		if p[3]&0x20 != 0 {
			start = 5 + int(p[4])
		}
		b := p[start:]
		if len(b) < 19 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
			continue
		}
		flags := b[7] >> 6
		if flags&2 != 0 {
			v, _ := readTimestamp(b[9:14])
			put(b[9:14], v+delta)
		}
		if flags == 3 {
			v, _ := readTimestamp(b[14:19])
			put(b[14:19], v+delta)
		}
	}
	return data
}

// TestPTSWrap reads a clip whose timestamps cross the 33-bit wrap 4 s in: the frames keep the
// keyframe index's unwrapped time line.
func TestPTSWrap(t *testing.T) {
	base := genClip(t, "prewrap.ts", testmedia.Options{Width: 320, Height: 180, Duration: 9 * time.Second, Seed: 11})
	c := cachedClip(t, "wrap.ts", func(path string) (*clip, error) {
		data, err := os.ReadFile(base.path)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, shiftTS(data, tsWrap-4*90000-testmedia.TSStartPTS), 0o644); err != nil {
			return nil, err
		}
		c := *base
		c.path = path
		c.kf, err = testIndex(path, containerTS)
		return &c, err
	})
	last := c.kf.Keyframes[len(c.kf.Keyframes)-1].PTS
	if first := c.kf.Keyframes[0].PTS; first >= tsWrap || last < tsWrap {
		t.Fatalf("keyframes from %d to %d do not cross the wrap", first, last)
	}
	r, err := Open(c.path, c.container, c.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkClip(t, c, r)
}
