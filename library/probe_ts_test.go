package library

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"onair/internal/tsframe"
	"onair/testmedia"
)

// tsWant is what a TS probe must find.
type tsWant struct {
	problem   string // substring; empty for a playable file
	video     string
	profile   string
	width     int
	height    int
	fps       Rational
	bFrames   bool
	audio     string
	channels  int
	duration  time.Duration
	keyframes int
	gop       int64 // expected PTS distance between keyframes, 0 to skip
}

func checkProbe(t *testing.T, res probeResult, want tsWant) {
	t.Helper()
	if want.problem != "" {
		if !strings.Contains(res.problem, want.problem) {
			t.Fatalf("problem = %q, want it to contain %q", res.problem, want.problem)
		}
		if want.video != "" && (res.video == nil || res.video.Codec != want.video) {
			t.Fatalf("video = %+v, want codec %s", res.video, want.video)
		}
		if want.audio != "" && (res.audio == nil || res.audio.Codec != want.audio) {
			t.Fatalf("audio = %+v, want codec %s", res.audio, want.audio)
		}
		return
	}
	if res.problem != "" {
		t.Fatalf("problem = %q, want none", res.problem)
	}
	v := res.video
	if v.Codec != want.video || v.Width != want.width || v.Height != want.height || v.FrameRate != want.fps ||
		v.BFrames != want.bFrames {
		t.Fatalf("video = %+v, want %s %dx%d %v b-frames=%v", *v, want.video, want.width, want.height, want.fps, want.bFrames)
	}
	if want.profile != "" && v.Profile != want.profile {
		t.Fatalf("profile = %q, want %q", v.Profile, want.profile)
	}
	if want.audio == "" {
		if res.audio != nil {
			t.Fatalf("audio = %+v, want none", res.audio)
		}
	} else if res.audio == nil || res.audio.Codec != want.audio || res.audio.SampleRate != 48000 ||
		(want.channels != 0 && res.audio.Channels != want.channels) {
		t.Fatalf("audio = %+v, want %s 48000 Hz %d channels", res.audio, want.audio, want.channels)
	}
	frame := int64(90000 / want.fps.Float())
	if d := res.duration - durationToTicks(want.duration); d < -frame || d > frame {
		t.Fatalf("duration = %v, want %v within a frame", ticksToDuration(res.duration), want.duration)
	}
	if res.index.Len() != want.keyframes {
		t.Fatalf("keyframes = %d, want %d: %+v", res.index.Len(), want.keyframes, res.index.Keyframes)
	}
	for i, kf := range res.index.Keyframes {
		if want.gop != 0 && kf.PTS-res.index.StartPTS != int64(i)*want.gop {
			t.Fatalf("keyframe %d at PTS %d (start %d), want every %d ticks", i, kf.PTS, res.index.StartPTS, want.gop)
		}
		if i > 0 && kf.Offset <= res.index.Keyframes[i-1].Offset {
			t.Fatalf("keyframe offsets not increasing: %+v", res.index.Keyframes)
		}
	}
}

// checkTSOffsets reads the packet at every keyframe offset: it must start the PES of a video
// stream with the keyframe's PTS, and that PES must hold a keyframe picture.
func checkTSOffsets(t *testing.T, data []byte, idx KeyframeIndex, layout tsLayout, isH265 bool) {
	t.Helper()
	for i, kf := range idx.Keyframes {
		at := int(kf.Offset) + layout.SyncOff
		if at+188 > len(data) {
			t.Fatalf("keyframe %d offset %d beyond the data", i, kf.Offset)
		}
		pkt := data[at : at+188]
		if pkt[0] != 0x47 || pkt[1]&0x40 == 0 {
			t.Fatalf("keyframe %d: packet at %d is not a PES start (% x)", i, kf.Offset, pkt[:4])
		}
		pid := uint16(pkt[1]&0x1f)<<8 | uint16(pkt[2])
		var pes []byte
		for j := at; j+188 <= len(data) && len(pes) < 1<<16; j += layout.Stride {
			p := data[j : j+188]
			if uint16(p[1]&0x1f)<<8|uint16(p[2]) != pid {
				continue
			}
			if j != at && p[1]&0x40 != 0 {
				break
			}
			start := 4
			if p[3]&0x20 != 0 {
				start = 5 + int(p[4])
			}
			if start < 188 {
				pes = append(pes, p[start:]...)
			}
		}
		if len(pes) < 14 || !bytes.Equal(pes[:3], []byte{0, 0, 1}) || pes[3]&0xf0 != 0xe0 || pes[7]&0x80 == 0 {
			t.Fatalf("keyframe %d: no video PES header with PTS at %d", i, kf.Offset)
		}
		if got := readTimestamp(pes[9:14]); got != kf.PTS&(1<<33-1) {
			t.Fatalf("keyframe %d: PES PTS %d, index says %d", i, got, kf.PTS)
		}
		es := pes[9+int(pes[8]):]
		var n nalScanner
		if typ := n.feed(es, isH265); !isKeyNALU(typ, isH265) {
			t.Fatalf("keyframe %d: first slice NAL type %d is not a keyframe", i, typ)
		}
	}
}

func probeTSBytes(t *testing.T, data []byte) probeResult {
	t.Helper()
	h := sha256.New()
	res, n, err := probeTS(bytes.NewReader(data), h)
	if err != nil {
		t.Fatalf("probeTS: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("read %d bytes of %d", n, len(data))
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash of what probeTS read differs from the file's")
	}
	return res
}

func TestProbeTS(t *testing.T) {
	ts := smallClip(t, "ts")
	gen := tsWant{
		video: codecH264, width: 320, height: 180, fps: Rational{25, 1}, audio: codecAAC, channels: 2,
		duration: 6 * time.Second, keyframes: 3, gop: 50 * 3600,
	}
	silent := genClip(t, testmedia.Options{
		Width: 64, Height: 48, FrameRateNum: 30000, FrameRateDen: 1001,
		GOPFrames: 15, Duration: 2 * time.Second, Container: "ts", NoAudio: true,
	})
	cut := len(ts)/2 + 100

	tests := []struct {
		name   string
		data   []byte
		layout tsLayout
		want   tsWant
	}{
		{"generated", ts, tsframe.TS, gen},
		{"generated m2ts", toM2TS(ts), tsframe.M2TS, gen},
		{"generated no audio 29.97", silent, tsframe.TS, tsWant{
			video: codecH264, width: 64, height: 48,
			fps: Rational{30000, 1001}, duration: 2 * time.Second, keyframes: 4, gop: 15 * 3003,
		}},
		{"program after 4 MB of null packets", append(nullPackets(tsHeadSize/188+100), ts...), tsframe.TS, gen},
		{"no program in 32 MB", nullPackets(tsHeadMaxSize/188 + 1), tsframe.TS, tsWant{problem: "no MPEG-TS program"}},
		{"truncated mid-packet", ts[:cut], tsframe.TS, tsWant{problem: "truncated"}},
		{"corrupt sync", corruptAt(ts, len(ts)/2), tsframe.TS, tsWant{problem: "lost packet sync"}},
		{"only the first packets", ts[:188*2], tsframe.TS, tsWant{problem: "no MPEG-TS program"}},
	}
	for name, b := range badInputs() {
		want := tsWant{problem: "not an MPEG-TS stream"}
		switch name {
		case "zero-length":
			want.problem = "empty file"
		case "sync-only":
			want.problem = "MPEG-TS program"
		}
		tests = append(tests, struct {
			name   string
			data   []byte
			layout tsLayout
			want   tsWant
		}{"bad " + name, b, tsframe.TS, want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := probeTSBytes(t, tc.data)
			checkProbe(t, res, tc.want)
			if tc.want.problem == "" {
				checkTSOffsets(t, tc.data, res.index, tc.layout, false)
			}
		})
	}
}

// nullPackets returns n null packets (PID 0x1fff).
func nullPackets(n int) []byte {
	pkt := make([]byte, 188)
	pkt[0], pkt[1], pkt[2], pkt[3] = 0x47, 0x1f, 0xff, 0x10
	for i := 4; i < 188; i++ {
		pkt[i] = 0xff
	}
	return bytes.Repeat(pkt, n)
}

// corruptAt returns a copy of b with garbage over 1000 bytes from off.
func corruptAt(b []byte, off int) []byte {
	c := bytes.Clone(b)
	for i := off; i < off+1000 && i < len(c); i++ {
		c[i] = byte(i*7 + 3)
	}
	return c
}

// TestProbeTSFFmpeg covers what the generator does not make: B-frames, H.265, other audio
// codecs and unsupported codecs.
func TestProbeTSFFmpeg(t *testing.T) {
	requireTool(t, "ffmpeg")
	h264 := []string{"-c:v", "libx264", "-g", "50", "-bf", "0"}
	tests := []struct {
		name   string
		file   string
		args   []string
		h265   bool
		layout tsLayout
		want   tsWant
	}{
		{"h264 aac", "h264.ts", append(h264, "-c:a", "aac"), false, tsframe.TS, tsWant{
			video: codecH264, profile: "High",
			width: 320, height: 180, fps: Rational{25, 1}, audio: codecAAC, channels: 1, duration: 6 * time.Second, keyframes: 3, gop: 180000,
		}},
		{
			"h264 b-frames", "h264b.ts",
			[]string{"-c:v", "libx264", "-g", "50", "-bf", "2", "-c:a", "aac"},
			false, tsframe.TS,
			tsWant{
				video: codecH264, width: 320, height: 180, fps: Rational{25, 1}, bFrames: true, audio: codecAAC,
				duration: 6 * time.Second, keyframes: 3, gop: 180000,
			},
		},
		{
			"h265", "hevc.ts",
			[]string{"-c:v", "libx265", "-x265-params", "log-level=none", "-g", "50", "-c:a", "aac"},
			true, tsframe.TS,
			tsWant{
				video: codecH265, profile: "Main", width: 320, height: 180, fps: Rational{25, 1}, bFrames: true,
				audio: codecAAC, duration: 6 * time.Second, keyframes: 3, gop: 180000,
			},
		},
		{"opus", "opus.ts", append(h264, "-c:a", "libopus"), false, tsframe.TS, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, audio: codecOpus, duration: 6 * time.Second, keyframes: 3,
		}},
		{"ac3", "ac3.ts", append(h264, "-c:a", "ac3"), false, tsframe.TS, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, audio: codecAC3, duration: 6 * time.Second, keyframes: 3,
		}},
		{"m2ts", "h264.m2ts", append(h264, "-an"), false, tsframe.M2TS, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, duration: 6 * time.Second, keyframes: 3,
		}},
		{
			"mpeg2 video", "mpeg2.ts",
			[]string{"-c:v", "mpeg2video", "-c:a", "mp2"},
			false, tsframe.TS,
			tsWant{problem: "unsupported video codec mpeg2", video: "mpeg2"},
		},
		{
			"mp3 audio", "mp3.ts", append(h264, "-c:a", "libmp3lame"), false, tsframe.TS,
			tsWant{problem: "unsupported audio codec mp3", audio: "mp3"},
		},
		{
			"mp2 audio", "mp2.ts", append(h264, "-c:a", "mp2"), false, tsframe.TS,
			tsWant{problem: "unsupported audio codec mp2", audio: "mp2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(ffmpegClip(t, tc.file, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			res := probeTSBytes(t, data)
			checkProbe(t, res, tc.want)
			if tc.want.problem == "" {
				checkTSOffsets(t, data, res.index, tc.layout, tc.h265)
			}
		})
	}
}

func FuzzProbeTS(f *testing.F) {
	ts := tinyClip(f, "ts")
	f.Add(ts)
	f.Add(toM2TS(ts[:188*40]))
	f.Add(ts[:len(ts)/3+50])
	f.Add(corruptAt(ts, 3000))
	for _, b := range badInputs() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, n, err := probeTS(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("probeTS on bytes: %v", err)
		}
		if n != int64(len(data)) {
			t.Fatalf("read %d of %d bytes", n, len(data))
		}
		if res.problem == "" && (res.video == nil || res.index.Len() == 0) {
			t.Fatalf("playable without video or keyframes: %+v", res)
		}
		for _, kf := range res.index.Keyframes {
			if kf.Offset < 0 || kf.Offset >= int64(len(data)) {
				t.Fatalf("keyframe offset %d outside the data", kf.Offset)
			}
		}
	})
}

// BenchmarkProbeTS measures the probe as the scan runs it (with SHA-256) and without
// hashing, on a 5-minute 1280x720 generated clip and, when ffmpeg is there, on a 1-minute
// 1280x720 5 Mbit/s x264 encode (a realistic packet mix).
func BenchmarkProbeTS(b *testing.B) {
	run := func(b *testing.B, data []byte, hash bool) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.New()
			var res probeResult
			var err error
			if hash {
				res, _, err = probeTS(bytes.NewReader(data), h)
			} else {
				res, _, err = probeTS(bytes.NewReader(data), nil)
			}
			if err != nil || res.problem != "" {
				b.Fatalf("probe: %v %q", err, res.problem)
			}
		}
	}
	gen := genClip(b, testmedia.Options{Width: 1280, Height: 720, Duration: 5 * time.Minute, Container: "ts", Label: "bench"})
	b.Run("generated", func(b *testing.B) { run(b, gen, false) })
	b.Run("generated+sha256", func(b *testing.B) { run(b, gen, true) })
	for _, hash := range []bool{false, true} {
		name := "x264-5mbit"
		if hash {
			name += "+sha256"
		}
		b.Run(name, func(b *testing.B) {
			p := ffmpegFile(b, "bench-720p.ts", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25", "-f", "lavfi",
				"-i", "sine=r=48000", "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "5M",
				"-g", "50", "-c:a", "aac")
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			run(b, data, hash)
		})
	}
}
