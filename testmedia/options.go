package testmedia

import (
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"time"
)

// Containers Generate can write.
const (
	ContainerTS  = "ts"
	ContainerMP4 = "mp4"
)

// Limits of Options, to keep a typo from asking for a clip that fills the disk.
const (
	minDimension = 16
	maxDimension = 4096
	maxDuration  = 24 * time.Hour
	maxFrameRate = 240
)

// Options describe one clip. The zero value of every field but Duration and
// Container (or a file name for WriteFile) picks a default.
type Options struct {
	// Width and Height of the picture in pixels, even, from 16 to 4096.
	// Default to 640x360.
	Width, Height int

	// FrameRateNum/FrameRateDen is the frame rate, such as 25/1 or 30000/1001.
	// Defaults to 25/1.
	FrameRateNum, FrameRateDen int

	// GOPFrames is the keyframe interval in frames. Defaults to 2 s worth of
	// frames, rounded (50 at 25 fps, 60 at 30000/1001).
	GOPFrames int

	// Duration of the clip, required. The clip holds round(Duration*fps) frames
	// (at least one).
	Duration time.Duration

	// Container is "ts" (MPEG-TS) or "mp4" (progressive MP4, moov first).
	// Required for Generate; WriteFile takes it from the file extension when empty.
	Container string

	// Seed picks the background colour when Background is nil and the pitch of
	// the audio marker tone.
	Seed int64

	// Label is the first line of text burned into the picture, usually the
	// asset's name. The second line, updated on every keyframe, is the time
	// since the start of the clip and the frame number.
	Label string

	// Background is the picture's colour as Y, Cb, Cr (BT.601, limited range).
	// Defaults to a colour picked by Seed.
	Background *[3]byte

	// NoAudio leaves out the audio track. By default a clip has AAC-LC,
	// 48 kHz stereo.
	NoAudio bool

	// Silent makes the audio track digital silence. By default it carries a
	// marker tone of about 100 ms after every keyframe.
	Silent bool
}

// ErrOptions is wrapped by every error about invalid Options.
var ErrOptions = errors.New("invalid testmedia options")

// normalize returns o with defaults filled in, or an error naming the bad field.
func (o Options) normalize() (Options, error) {
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 640, 360
	}
	if o.Width < minDimension || o.Height < minDimension || o.Width > maxDimension || o.Height > maxDimension ||
		o.Width%2 != 0 || o.Height%2 != 0 {
		return o, fmt.Errorf("%w: size %dx%d: want even dimensions from %d to %d", ErrOptions, o.Width, o.Height, minDimension, maxDimension)
	}
	if o.FrameRateNum == 0 && o.FrameRateDen == 0 {
		o.FrameRateNum, o.FrameRateDen = 25, 1
	}
	if o.FrameRateDen == 0 {
		o.FrameRateDen = 1
	}
	if o.FrameRateNum <= 0 || o.FrameRateDen <= 0 ||
		o.FrameRateNum > maxFrameRate*o.FrameRateDen || o.FrameRateNum < o.FrameRateDen {
		return o, fmt.Errorf("%w: frame rate %d/%d: want 1 to %d fps", ErrOptions, o.FrameRateNum, o.FrameRateDen, maxFrameRate)
	}
	if o.GOPFrames == 0 {
		o.GOPFrames = max(1, (2*o.FrameRateNum+o.FrameRateDen/2)/o.FrameRateDen)
	}
	if o.GOPFrames < 0 || o.GOPFrames > 10*maxFrameRate {
		return o, fmt.Errorf("%w: gop %d frames: want 1 to %d", ErrOptions, o.GOPFrames, 10*maxFrameRate)
	}
	if o.Duration <= 0 || o.Duration > maxDuration {
		return o, fmt.Errorf("%w: duration %s: want more than 0 and at most %s", ErrOptions, o.Duration, maxDuration)
	}
	o.Container = strings.ToLower(strings.TrimPrefix(o.Container, "."))
	if o.Container != ContainerTS && o.Container != ContainerMP4 {
		return o, fmt.Errorf("%w: container %q: want %q or %q", ErrOptions, o.Container, ContainerTS, ContainerMP4)
	}
	return o, nil
}

// containerFromPath returns "ts" or "mp4" from a file name's extension, or "".
func containerFromPath(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ts":
		return ContainerTS
	case ".mp4":
		return ContainerMP4
	}
	return ""
}

// FrameCount returns how many video frames a clip of duration d at num/den
// fps holds: round(d*num/den), at least one. Exact integer arithmetic.
func FrameCount(d time.Duration, num, den int) int {
	n := new(big.Int).Mul(big.NewInt(int64(d)), big.NewInt(int64(num)))
	q := new(big.Int).Mul(big.NewInt(int64(den)), big.NewInt(int64(time.Second)))
	n.Mul(n, big.NewInt(2)).Add(n, q)
	n.Quo(n, q.Mul(q, big.NewInt(2)))
	return max(1, int(n.Int64()))
}

// FramePTS returns the 90 kHz timestamp of frame i, counted from zero:
// i*90000*den/num, rounded down. Every clip uses exactly these timestamps
// (offset by the container's start time).
func FramePTS(i, num, den int) int64 {
	return int64(i) * 90000 * int64(den) / int64(num)
}

// AudioFrameCount returns the number of AAC frames that cover the video of a
// clip of frames frames at num/den fps: the audio ends less than one AAC frame
// after the video.
func AudioFrameCount(frames, num, den int) int {
	samples := int64(frames) * aacSampleRate * int64(den) // divided by num
	per := int64(aacFrameSamples) * int64(num)
	return int((samples + per - 1) / per)
}
