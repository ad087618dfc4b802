package library

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"onair/testmedia"
)

func probeMP4Bytes(t *testing.T, data []byte) probeResult {
	t.Helper()
	res, err := probeMP4(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("probeMP4: %v", err)
	}
	return res
}

// checkMP4Offsets checks that every keyframe offset is the first byte of a sample whose
// first slice NAL unit (4-byte length prefixes) is a keyframe picture.
func checkMP4Offsets(t *testing.T, data []byte, idx KeyframeIndex, isH265 bool) {
	t.Helper()
	for i, kf := range idx.Keyframes {
		pos := int(kf.Offset)
		found := -1
		for n := 0; n < 16 && pos+5 <= len(data); n++ {
			l := int(binary.BigEndian.Uint32(data[pos:]))
			var typ int
			var vcl bool
			if isH265 {
				typ = int(data[pos+4]>>1) & 0x3f
				vcl = typ < 32
			} else {
				typ = int(data[pos+4] & 0x1f)
				vcl = typ >= 1 && typ <= 5
			}
			if vcl {
				found = typ
				break
			}
			pos += 4 + l
		}
		if !isKeyNALU(found, isH265) {
			t.Fatalf("keyframe %d at %d: first slice NAL type %d is not a keyframe", i, kf.Offset, found)
		}
	}
}

// mp4Moov returns the offset and size of the top-level moov box.
func mp4Moov(t *testing.T, data []byte) (int, int) {
	t.Helper()
	for pos := 0; pos+8 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[pos:]))
		if string(data[pos+4:pos+8]) == "moov" {
			return pos, size
		}
		if size < 8 {
			break
		}
		pos += size
	}
	t.Fatal("no moov box")
	return 0, 0
}

func TestProbeMP4(t *testing.T) {
	mp4 := smallClip(t, "mp4")
	moovAt, moovSize := mp4Moov(t, mp4)
	gen := tsWant{
		video: codecH264, width: 320, height: 180, fps: Rational{25, 1}, audio: codecAAC, channels: 2,
		duration: 6 * time.Second, keyframes: 3, gop: 50 * 3600,
	}
	silent := genClip(t, testmedia.Options{
		Width: 64, Height: 48, FrameRateNum: 30000, FrameRateDen: 1001,
		GOPFrames: 15, Duration: 2 * time.Second, Container: "mp4", NoAudio: true,
	})

	// A moov whose stsz claims more samples than it lists.
	badStsz := bytes.Clone(mp4)
	if i := bytes.Index(badStsz[moovAt:moovAt+moovSize], []byte("stsz")); i >= 0 {
		binary.BigEndian.PutUint32(badStsz[moovAt+i+12:], 1<<30)
	}
	// A moov whose size runs past the end of the file.
	badMoov := bytes.Clone(mp4)
	binary.BigEndian.PutUint32(badMoov[moovAt:], uint32(len(mp4)*2))

	tests := []struct {
		name string
		data []byte
		want tsWant
	}{
		{"generated", mp4, gen},
		{"generated no audio 29.97", silent, tsWant{
			video: codecH264, width: 64, height: 48,
			fps: Rational{30000, 1001}, duration: 2 * time.Second, keyframes: 4, gop: 15 * 3003,
		}},
		{"truncated", mp4[:len(mp4)*2/3], tsWant{problem: "truncated"}},
		{"moov only", mp4[:moovAt+moovSize], tsWant{problem: "beyond the end of the file"}},
		{"corrupt stsz", badStsz, tsWant{problem: "invalid MP4"}},
		{"corrupt moov size", badMoov, tsWant{problem: "truncated"}},
		{"corrupt moov body", corruptAt(mp4, moovAt+200), tsWant{problem: ""}},
	}
	for name, b := range badInputs() {
		want := tsWant{problem: "not an MP4 file"}
		switch name {
		case "zero-length":
			want.problem = "empty file"
		case "one-byte":
			want.problem = "truncated"
		case "box-header":
			want.problem = "no moov box"
		}
		tests = append(tests, struct {
			name string
			data []byte
			want tsWant
		}{"bad " + name, b, want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := probeMP4Bytes(t, tc.data)
			if tc.name == "corrupt moov body" {
				// Garbage in the middle of the sample tables may or may not be detectable;
				// the probe must just not accept an inconsistent result.
				if res.problem == "" {
					checkMP4Offsets(t, tc.data, res.index, false)
				}
				return
			}
			checkProbe(t, res, tc.want)
			if tc.want.problem == "" {
				checkMP4Offsets(t, tc.data, res.index, false)
			}
		})
	}
}

func TestProbeMP4FFmpeg(t *testing.T) {
	requireTool(t, "ffmpeg")
	h264 := []string{"-c:v", "libx264", "-g", "50", "-bf", "0"}
	tests := []struct {
		name string
		file string
		args []string
		h265 bool
		want tsWant
	}{
		{"h264 aac", "h264.mp4", append(h264, "-c:a", "aac"), false, tsWant{
			video: codecH264, profile: "High",
			width: 320, height: 180, fps: Rational{25, 1}, audio: codecAAC, channels: 1, duration: 6 * time.Second,
			keyframes: 3, gop: 180000,
		}},
		{
			"h264 b-frames", "h264b.mp4",
			[]string{"-c:v", "libx264", "-g", "50", "-bf", "2", "-c:a", "aac"},
			false,
			tsWant{
				video: codecH264, width: 320, height: 180, fps: Rational{25, 1}, bFrames: true, audio: codecAAC,
				duration: 6 * time.Second, keyframes: 3, gop: 180000,
			},
		},
		{"h265", "hevc.mp4", []string{
			"-c:v", "libx265", "-x265-params", "log-level=none", "-g", "50", "-tag:v", "hvc1",
			"-c:a", "aac",
		}, true, tsWant{
			video: codecH265, profile: "Main", width: 320, height: 180, fps: Rational{25, 1},
			bFrames: true, audio: codecAAC, duration: 6 * time.Second, keyframes: 3, gop: 180000,
		}},
		{"opus", "opus.mp4", append(h264, "-c:a", "libopus"), false, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, audio: codecOpus, duration: 6 * time.Second, keyframes: 3,
		}},
		{"ac3", "ac3.mp4", append(h264, "-c:a", "ac3"), false, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, audio: codecAC3, duration: 6 * time.Second, keyframes: 3,
		}},
		{"mov", "h264.mov", append(h264, "-c:a", "aac"), false, tsWant{
			video: codecH264, width: 320, height: 180,
			fps: Rational{25, 1}, audio: codecAAC, duration: 6 * time.Second, keyframes: 3,
		}},
		{
			"faststart", "faststart.mp4", append(h264, "-c:a", "aac", "-movflags", "+faststart"), false,
			tsWant{
				video: codecH264, width: 320, height: 180, fps: Rational{25, 1}, audio: codecAAC,
				duration: 6 * time.Second, keyframes: 3,
			},
		},
		{
			"mpeg2 video", "mpeg2.mp4",
			[]string{"-c:v", "mpeg2video", "-c:a", "aac"},
			false,
			tsWant{problem: "unsupported video codec mpeg2", video: "mpeg2"},
		},
		{
			"mp3 audio", "mp3.mp4", append(h264, "-c:a", "libmp3lame"), false,
			tsWant{problem: "unsupported audio codec mp3", audio: "mp3"},
		},
		{
			"fragmented", "frag.mp4", append(h264, "-c:a", "aac", "-movflags", "+frag_keyframe+empty_moov"), false,
			tsWant{problem: "fragmented MP4 is not supported"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(ffmpegClip(t, tc.file, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			res := probeMP4Bytes(t, data)
			checkProbe(t, res, tc.want)
			if tc.want.problem == "" {
				checkMP4Offsets(t, data, res.index, tc.h265)
			}
		})
	}
}

func TestProbeMP4Chapters(t *testing.T) {
	meta := ";FFMETADATA1\n" +
		"[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=One\n" +
		"[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=4500\ntitle=Two\n" +
		"[CHAPTER]\nTIMEBASE=1/1000\nSTART=4500\nEND=6000\ntitle=Three\n"
	requireTool(t, "ffmpeg")
	metaPath := clipDir + "/chapters.txt"
	if err := os.WriteFile(metaPath, []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	p := ffmpegClip(t, "chapters.mp4", "-i", metaPath, "-map", "0", "-map", "1", "-map_chapters", "2",
		"-c:v", "libx264", "-g", "50", "-bf", "0", "-c:a", "aac")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	res := probeMP4Bytes(t, data)
	if res.problem != "" {
		t.Fatal(res.problem)
	}
	want := []time.Duration{2 * time.Second, 4500 * time.Millisecond}
	if len(res.chapters) != len(want) || res.chapters[0] != want[0] || res.chapters[1] != want[1] {
		t.Fatalf("chapters = %v, want %v (the start at 0 is not a cue)", res.chapters, want)
	}
}

func FuzzProbeMP4(f *testing.F) {
	mp4 := tinyClip(f, "mp4")
	f.Add(mp4)
	f.Add(mp4[:len(mp4)/2])
	f.Add(corruptAt(mp4, 400))
	for _, b := range badInputs() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := probeMP4(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("probeMP4 on bytes: %v", err)
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
