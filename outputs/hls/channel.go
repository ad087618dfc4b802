package hls

import (
	"context"
	"errors"
	"time"
)

// Channel is what the HLS output needs of one channel. The engine's channel
// satisfies it through a small adapter in the wiring (the engine does not
// import this package).
//
// Every method is called from many goroutines at once and must be safe for
// concurrent use.
type Channel interface {
	// ID is the channel's id, the {id} of its URLs and half of a cache key.
	ID() string
	// Variant describes the stream for master.m3u8.
	Variant() Variant
	// TargetDuration is the configured target segment duration (e.g. 4s).
	// EXT-X-TARGETDURATION is this rounded up to whole seconds, raised only
	// when a segment of the window is longer.
	TargetDuration() time.Duration
	// Segments returns the segments whose end is not after now, newest last,
	// at most n of them (the newest n). Consecutive segments have consecutive
	// Seq, and DiscSeq grows by one exactly at a segment with Discontinuity.
	Segments(now time.Time, n int) ([]SegmentInfo, error)
	// Segment returns segment seq's bytes, a complete MPEG-TS segment starting
	// with a keyframe. The same seq gives the same bytes on every call and
	// after every restart. The Output keeps the returned slice and never
	// modifies it; the channel must not modify it either.
	//
	// Errors: ErrGone when seq is before the log's retained start, ErrNotYet
	// when its end is still in the future (both may be wrapped; they are
	// matched with errors.Is).
	Segment(ctx context.Context, seq int64) ([]byte, error)
	// SegmentEnd returns the wall time at which segment seq ends, or false
	// when the log does not know seq (before its retained start, or beyond
	// what has been scheduled).
	SegmentEnd(seq int64) (time.Time, bool)
}

// Variant describes one channel's stream in EXT-X-STREAM-INF.
//
// Specification: RFC 8216, 4.3.4.2.
type Variant struct {
	// Codecs is the CODECS attribute, e.g. "avc1.42c01e,mp4a.40.2". Omitted
	// when empty.
	Codecs string
	// Width and Height make RESOLUTION; omitted when either is zero.
	Width, Height int
	// FrameRate is FRAME-RATE, written with three decimals; omitted when zero.
	FrameRate float64
	// Bandwidth is the peak bit rate in bits per second (BANDWIDTH).
	Bandwidth int
}

// StreamInf is one entry of a multivariant playlist: a variant and the URI of
// its media playlist, relative to master.m3u8.
type StreamInf struct {
	URI     string
	Variant Variant
}

// SegmentInfo is what a media playlist says about one segment.
type SegmentInfo struct {
	// Seq is the segment's media sequence number (EXT-X-MEDIA-SEQUENCE of a
	// playlist starting with it), from the log.
	Seq int64
	// DiscSeq is the discontinuity sequence number the segment belongs to.
	DiscSeq int64
	// Discontinuity says an EXT-X-DISCONTINUITY precedes the segment; then
	// DiscSeq is one more than the previous segment's.
	Discontinuity bool
	// Start is the wall time of the segment's first frame
	// (EXT-X-PROGRAM-DATE-TIME).
	Start time.Time
	// Duration is the segment's duration (EXTINF); it must be positive.
	Duration time.Duration
	// Title is EXTINF's optional title (e.g. the programme on air).
	Title string
}

// End is the wall time at which the segment ends.
func (s SegmentInfo) End() time.Time { return s.Start.Add(s.Duration) }

// Registry finds channels by id.
type Registry interface {
	Channel(id string) (Channel, bool)
}

// RegistryFunc adapts a function to a Registry.
type RegistryFunc func(id string) (Channel, bool)

// Channel calls f(id).
func (f RegistryFunc) Channel(id string) (Channel, bool) { return f(id) }

// Clock is the only source of wall time of the Output; engine.Clock satisfies
// it.
type Clock interface {
	Now() time.Time
}

// Timer is a one-shot timer on the Output's clock; engine.Timer satisfies it.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing.
	Stop() bool
}

// TimerFunc adapts a clock's NewTimer method whose timer type implements Timer
// (such as engine.Clock's) to Config.NewTimer:
//
//	cfg.NewTimer = hls.TimerFunc(clock.NewTimer)
func TimerFunc[T Timer](newTimer func(time.Duration) T) func(time.Duration) Timer {
	return func(d time.Duration) Timer { return newTimer(d) }
}

// Errors a Channel returns from Segment. The wiring maps the engine's own
// errors to these (wrapping is fine: they are matched with errors.Is).
var (
	// ErrGone means the segment is before the log's retained start; the
	// Output answers 404.
	ErrGone = errors.New("segment is before the retained playout log")
	// ErrNotYet means the segment ends in the future; the Output answers 503
	// with Retry-After.
	ErrNotYet = errors.New("segment is not available yet")
)

// errClosed is returned to requests waiting on a generation when the Output is
// closed.
var errClosed = errors.New("hls output is closed")
