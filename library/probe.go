package library

import (
	"errors"
	"fmt"
	"time"
)

// probeResult is what probing one media file yields.
type probeResult struct {
	container string
	// duration is the video presentation duration at 90 kHz.
	duration int64
	video    *VideoInfo
	audio    *AudioInfo
	index    KeyframeIndex
	// chapters are MP4 chapter start times from the start of the asset.
	chapters []time.Duration
	// problem says why the file is unplayable; empty when it is playable. The media info found
	// before the problem is kept.
	problem string
}

// problemError marks a content problem (the file is unplayable as it is, and will stay so
// until it changes), as opposed to an I/O error that is worth retrying on the next scan.
type problemError struct{ msg string }

func (e *problemError) Error() string { return e.msg }

// problemf returns a *problemError.
func problemf(format string, args ...any) error {
	return &problemError{msg: fmt.Sprintf(format, args...)}
}

// setProblem records err in r when it is a content problem and returns nil, or returns err.
func (r *probeResult) setProblem(err error) error {
	var pe *problemError
	if errors.As(err, &pe) {
		if r.problem == "" {
			r.problem = pe.msg
		}
		return nil
	}
	return err
}

// finish checks the result of a probe that found no problem on the way.
func (r *probeResult) finish() {
	if r.problem != "" {
		return
	}
	switch {
	case r.video == nil:
		r.problem = "no video track"
	case r.video.Codec != codecH264 && r.video.Codec != codecH265:
		r.problem = "unsupported video codec " + r.video.Codec
	case r.audio != nil && r.audio.Codec != codecAAC && r.audio.Codec != codecOpus && r.audio.Codec != codecAC3:
		r.problem = "unsupported audio codec " + r.audio.Codec
	case r.index.Len() == 0:
		r.problem = "no keyframe found"
	case r.duration <= 0:
		r.problem = "no video duration"
	}
}
