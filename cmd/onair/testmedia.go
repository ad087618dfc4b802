package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"onair/testmedia"
)

type testmediaOpts struct {
	out      string
	clip     string
	duration time.Duration
	size     string
	fps      string
	gop      time.Duration
	seed     int64
	label    string
	noAudio  bool
}

func testmediaCommand() *command {
	return &command{
		name:    "testmedia",
		usage:   "onair testmedia [--out DIR]\n  onair testmedia --clip FILE.ts|FILE.mp4 [--duration D] [--size WxH] [--fps R] [--gop D] [--seed N] [--label TEXT]",
		summary: "generate the sample library (or one clip) without ffmpeg",
		help: `Without --clip, writes the sample library the sample channels use: 3 shows of
4 episodes with cue points, 6 ads, 3 bumpers, 2 promos, a slate and a movie,
640x360 25 fps H.264 with AAC-LC audio. The same command always writes the
same bytes.

With --clip, writes one clip; the container follows the file's extension.`,
		flags: func(e env) (*flag.FlagSet, any) {
			o := &testmediaOpts{}
			fs := flag.NewFlagSet("testmedia", flag.ContinueOnError)
			fs.StringVar(&o.out, "out", "testmedia/library", "directory for the sample library")
			fs.StringVar(&o.clip, "clip", "", "write one clip to this `FILE` (.ts or .mp4) instead of the library")
			fs.DurationVar(&o.duration, "duration", 10*time.Second, "clip duration")
			fs.StringVar(&o.size, "size", "640x360", "clip resolution `WxH`")
			fs.StringVar(&o.fps, "fps", "25", "clip frame `rate`: 25, 29.97, 30000/1001")
			fs.DurationVar(&o.gop, "gop", 2*time.Second, "clip keyframe interval")
			fs.Int64Var(&o.seed, "seed", 1, "clip seed (background colour)")
			fs.StringVar(&o.label, "label", "", "clip label (default: the file name)")
			fs.BoolVar(&o.noAudio, "no-audio", false, "clip without an audio track")
			return fs, o
		},
		run: runTestmedia,
	}
}

func runTestmedia(_ context.Context, e env, fs *flag.FlagSet, opts any) error {
	o := opts.(*testmediaOpts)
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	start := e.now()
	if o.clip != "" {
		return writeClip(e, o, start)
	}
	sum, err := testmedia.WriteSampleLibrary(o.out, func(done, total int, path string) {
		rel, _ := filepath.Rel(o.out, path)
		if e.tty {
			fmt.Fprintf(e.stderr, "\r\033[K[%d/%d] %s", done, total, rel)
		} else {
			fmt.Fprintf(e.stderr, "[%d/%d] %s\n", done, total, rel)
		}
	})
	if e.tty {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	el := e.now().Sub(start)
	fmt.Fprintf(e.stdout, "wrote %d files, %.1f MB to %s in %s\n", sum.Files, float64(sum.Bytes)/1e6, o.out, el.Round(time.Millisecond))
	return nil
}

func writeClip(e env, o *testmediaOpts, start time.Time) error {
	w, h, err := parseSize(o.size)
	if err != nil {
		return usageError("--size: %v", err)
	}
	num, den, err := parseRate(o.fps)
	if err != nil {
		return usageError("--fps: %v", err)
	}
	if o.duration <= 0 {
		return usageError("--duration must be positive")
	}
	ext := strings.ToLower(filepath.Ext(o.clip))
	if ext != ".ts" && ext != ".mp4" {
		return usageError("--clip: file name must end in .ts or .mp4, not %q", ext)
	}
	gop := int(o.gop.Seconds()*float64(num)/float64(den) + 0.5)
	if gop < 1 {
		gop = 1
	}
	label := o.label
	if label == "" {
		label = strings.TrimSuffix(filepath.Base(o.clip), ext)
	}
	err = testmedia.WriteFile(o.clip, testmedia.Options{
		Width: w, Height: h, FrameRateNum: num, FrameRateDen: den, GOPFrames: gop,
		Duration: o.duration, Seed: o.seed, Label: label, NoAudio: o.noAudio,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s in %s\n", o.clip, e.now().Sub(start).Round(time.Millisecond))
	return nil
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("want WIDTHxHEIGHT, got %q", s)
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("want WIDTHxHEIGHT, got %q", s)
	}
	return w, h, nil
}

// parseRate reads "25", "29.97" (as 30000/1001) or "30000/1001".
func parseRate(s string) (int, int, error) {
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.Atoi(n)
		den, err2 := strconv.Atoi(d)
		if err1 != nil || err2 != nil || num <= 0 || den <= 0 {
			return 0, 0, fmt.Errorf("want a rate like 25 or 30000/1001, got %q", s)
		}
		return num, den, nil
	}
	switch s {
	case "23.976", "23.98":
		return 24000, 1001, nil
	case "29.97":
		return 30000, 1001, nil
	case "59.94":
		return 60000, 1001, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 240 {
		return 0, 0, fmt.Errorf("want a rate like 25 or 30000/1001, got %q", s)
	}
	return n, 1, nil
}
