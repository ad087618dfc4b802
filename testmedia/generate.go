// Package testmedia generates H.264 + AAC-LC test clips in MPEG-TS and MP4
// without ffmpeg, and the sample library the sample channels play.
//
// A clip is a flat background with two lines of text (the label, and the time
// and frame number at each keyframe) drawn by the tiny encoder in h264gen:
// IDR pictures every GOP and all-skip P pictures between them. Its audio is
// AAC-LC at 48 kHz, stereo: silence with a short marker tone after every
// keyframe, so a viewer hears where the keyframes are. Everything is
// computed with integers from Options alone, so the same Options always give
// the same bytes.
package testmedia

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"onair/testmedia/h264gen"
)

// clip is a validated Options and everything derived from it.
type clip struct {
	o           Options
	frames      int // video frames
	audioFrames int // AAC frames; 0 without audio
	bg, fg      [3]byte
	video       *h264gen.Encoder
	sps, pps    []byte
	audio       *aacEncoder
	longTC      bool // timecode with hours
}

func newClip(o Options) (*clip, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	c := &clip{
		o:      o,
		frames: FrameCount(o.Duration, o.FrameRateNum, o.FrameRateDen),
	}
	if o.Background != nil {
		c.bg = *o.Background
	} else {
		c.bg = SeedColor(o.Seed)
	}
	c.fg = foregroundFor(c.bg)
	c.longTC = FramePTS(c.frames, o.FrameRateNum, o.FrameRateDen) >= 3600*90000

	c.video, err = h264gen.New(h264gen.Config{
		Width:        o.Width,
		Height:       o.Height,
		FrameRateNum: o.FrameRateNum,
		FrameRateDen: o.FrameRateDen,
		Background:   c.bg,
		Foreground:   c.fg,
	})
	if err != nil {
		return nil, fmt.Errorf("h264 encoder: %w", err)
	}
	c.sps = c.video.SPS()
	c.pps = c.video.PPS()

	if !o.NoAudio {
		c.audioFrames = AudioFrameCount(c.frames, o.FrameRateNum, o.FrameRateDen)
		var toneOn func(int) bool
		if !o.Silent {
			toneOn = c.toneSchedule()
		}
		c.audio = newAACEncoder(ToneBin(o.Seed), toneOn)
	}
	return c, nil
}

// ToneBin returns the MDCT bin of the marker tone that seed picks; the tone
// sounds at (bin+1)*48000/2048 Hz (see ToneHz).
func ToneBin(seed int64) int {
	return aacToneBinMin + int(splitmix64(uint64(seed)^0x746f6e65)%aacToneBins)
}

// ToneHz returns the frequency of the marker tone that seed picks.
func ToneHz(seed int64) float64 {
	return aacToneHz(ToneBin(seed))
}

// toneSchedule returns which AAC frames carry the marker tone: the
// aacToneFrames frames starting at the first frame boundary at or after each
// keyframe's time.
func (c *clip) toneSchedule() func(int) bool {
	on := make([]bool, c.audioFrames)
	num, den := int64(c.o.FrameRateNum), int64(c.o.FrameRateDen)
	for f := 0; f < c.frames; f += c.o.GOPFrames {
		sample := int64(f) * aacSampleRate * den / num
		first := int((sample + aacFrameSamples - 1) / aacFrameSamples)
		for n := first; n < first+aacToneFrames && n < len(on); n++ {
			on[n] = true
		}
	}
	return func(n int) bool { return n >= 0 && n < len(on) && on[n] }
}

// isIDR reports whether video frame i starts a GOP.
func (c *clip) isIDR(i int) bool {
	return i%c.o.GOPFrames == 0
}

// videoPTS returns the 90 kHz timestamp of video frame i from the clip's start.
func (c *clip) videoPTS(i int) int64 {
	return FramePTS(i, c.o.FrameRateNum, c.o.FrameRateDen)
}

// audioPTS returns the 90 kHz timestamp of AAC frame n from the clip's start
// (exact: 1024 samples at 48 kHz are 1920 ticks).
func (c *clip) audioPTS(n int) int64 {
	return int64(n) * aacFrameSamples * 90000 / aacSampleRate
}

// videoNALUs returns the NAL units of frame i. With params, an IDR access
// unit starts with SPS and PPS (Annex B streams need them in-band).
func (c *clip) videoNALUs(i int, params bool) [][]byte {
	gi := i % c.o.GOPFrames
	if gi != 0 {
		return [][]byte{c.video.P(gi)}
	}
	idr := c.video.IDR((i/c.o.GOPFrames)%2, c.labelLines(i))
	if params {
		return [][]byte{c.sps, c.pps, idr}
	}
	return [][]byte{idr}
}

// labelLines returns the text of frame i: the label, then the time since the
// start and the frame number.
func (c *clip) labelLines(i int) []string {
	return []string{c.o.Label, Timecode(i, c.o.FrameRateNum, c.o.FrameRateDen, c.longTC) + fmt.Sprintf(" F%d", i)}
}

// Timecode formats the time of frame i at num/den fps as MM:SS.ff, or
// HH:MM:SS.ff when hours is true, where ff counts frames within the second.
// It is the elapsed time, not a drop-frame SMPTE code.
func Timecode(i, num, den int, hours bool) string {
	n, d := int64(num), int64(den)
	sec := int64(i) * d / n
	firstOfSecond := (sec*n + d - 1) / d
	ff := int64(i) - firstOfSecond
	h, m, s := sec/3600, sec/60%60, sec%60
	if hours {
		return fmt.Sprintf("%02d:%02d:%02d.%02d", h, m, s, ff)
	}
	return fmt.Sprintf("%02d:%02d.%02d", sec/60, s, ff)
}

// Generate writes the clip o describes to w, in o.Container. The same Options
// always produce the same bytes.
func Generate(w io.Writer, o Options) error {
	c, err := newClip(o)
	if err != nil {
		return err
	}
	switch c.o.Container {
	case ContainerMP4:
		return writeMP4(w, c)
	default:
		return writeTS(w, c)
	}
}

// WriteFile generates the clip o describes into the file path. When
// o.Container is empty it follows the extension (.ts or .mp4). The file is
// written to a temporary name in the same directory and renamed into place,
// so a reader never sees half a clip.
func WriteFile(path string, o Options) error {
	if o.Container == "" {
		o.Container = containerFromPath(path)
		if o.Container == "" {
			return fmt.Errorf("%w: %s: cannot tell the container from the extension; want .ts or .mp4", ErrOptions, path)
		}
	}
	return writeAtomic(path, func(w io.Writer) error { return Generate(w, o) })
}

// writeAtomic writes a file through fill, via a temporary file and a rename.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = fill(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
