package hls

import (
	"log/slog"
	"time"
)

// Config configures an Output. The zero value is usable: every field has a
// default.
type Config struct {
	// WindowSegments is the least number of segments in a media playlist's
	// sliding window (fewer only while a channel has less history).
	// Defaults to 6.
	WindowSegments int
	// MinWindowDurations is the least content of the window, in target
	// durations; RFC 8216, 6.2.2 asks for at least 3. Defaults to 3.
	MinWindowDurations int
	// RetainWindows is for how many windows a segment stays servable: slow
	// clients may still fetch a segment that has left the playlist. A segment
	// older than that is answered 404. Defaults to 2.
	RetainWindows int
	// CacheBytes is the byte budget of the in-memory segment cache. Defaults
	// to 256 MiB; a negative value disables the cache (concurrent requests
	// for one segment still share its generation).
	CacheBytes int64
	// Prefetch is how many segments after the newest one requested (by a
	// playlist or a segment request) are generated in the background as soon
	// as each becomes available. Defaults to 2; a negative value disables
	// prefetch.
	Prefetch int
	// PrefetchWorkers bounds how many prefetch generations run at once.
	// Defaults to 2.
	PrefetchWorkers int
	// NewTimer makes timers on the same clock as the Output's Clock, so that
	// prefetch can wait for a segment's end: hls.TimerFunc(clock.NewTimer).
	// When nil, prefetch only generates segments that are already available
	// when a request asks for them.
	NewTimer func(d time.Duration) Timer
	// ExtraVariants, when set, lists more variants after index.m3u8 in a
	// channel's master.m3u8 (the hook for a CMAF variant, cmaf.m3u8).
	ExtraVariants func(ch Channel) []StreamInf
	// Logger receives errors of generation. Defaults to discarding.
	Logger *slog.Logger
	// Observer, when set, is told of every segment request (cache hit or
	// not) and every generation, for metrics. It is called synchronously
	// from request and generation goroutines: it must be quick and safe for
	// concurrent use.
	Observer Observer
}

// Observer watches an Output's segments, per channel (metrics).
type Observer interface {
	// SegmentRequested is called for each segment request the cache
	// answered (hit) or did not (a miss, which waits on a generation).
	SegmentRequested(channel string, hit bool)
	// SegmentGenerated is called after each generation of segment seq of
	// channel with how long it took, and its bytes (which must not be
	// modified) or its error.
	SegmentGenerated(channel string, seq int64, data []byte, took time.Duration, err error)
}

// Defaults of Config.
const (
	DefaultWindowSegments     = 6
	DefaultMinWindowDurations = 3
	DefaultRetainWindows      = 2
	DefaultCacheBytes         = 256 << 20
	DefaultPrefetch           = 2
	DefaultPrefetchWorkers    = 2
)

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.WindowSegments <= 0 {
		cfg.WindowSegments = DefaultWindowSegments
	}
	if cfg.MinWindowDurations <= 0 {
		cfg.MinWindowDurations = DefaultMinWindowDurations
	}
	if cfg.RetainWindows <= 0 {
		cfg.RetainWindows = DefaultRetainWindows
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	if cfg.PrefetchWorkers <= 0 {
		cfg.PrefetchWorkers = DefaultPrefetchWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
