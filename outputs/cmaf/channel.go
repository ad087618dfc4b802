package cmaf

import (
	"context"
	"errors"
	"time"

	"onair/muxer/fmp4"
	"onair/outputs/hls"
)

// Channel is what the CMAF output needs of one channel: the HLS output's
// Channel (for the segment list and times) and the CMAF forms of its
// segments. Its methods are called from many goroutines at once.
type Channel interface {
	hls.Channel
	// Fragment returns segment seq as CMAF: its video fragment then its
	// audio fragment (fmp4.Writer.AppendSegment), the same bytes on every
	// call. Errors as hls.Channel.Segment (ErrGone, ErrNotYet).
	Fragment(ctx context.Context, seq int64) ([]byte, error)
	// RunStart returns the first segment of the discontinuity run (the
	// segments of one stream profile) that holds segment seq: the segment
	// whose parameters make the run's init segment, and which names it.
	RunStart(ctx context.Context, seq int64) (int64, error)
	// Init returns the init segments of the run starting with segment seq.
	// ErrNotRunStart when seq does not start a run.
	Init(ctx context.Context, seq int64) (*fmp4.Init, error)
	// Epoch is the wall time of media time 0 of the channel's clock (the
	// time base of every fragment's tfdt).
	Epoch() time.Time
}

// ErrNotRunStart is returned by Channel.Init for a segment that does not
// start a discontinuity run; the Output answers 404.
var ErrNotRunStart = errors.New("segment does not start a discontinuity run")

// Registry finds channels by id.
type Registry interface {
	Channel(id string) (Channel, bool)
}

// RegistryFunc adapts a function to a Registry.
type RegistryFunc func(id string) (Channel, bool)

// Channel calls f(id).
func (f RegistryFunc) Channel(id string) (Channel, bool) { return f(id) }
