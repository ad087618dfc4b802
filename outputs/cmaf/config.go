package cmaf

import (
	"log/slog"

	"onair/outputs/hls"
)

// Config configures an Output. The zero value is usable.
type Config struct {
	// HLS configures the window, the fragment cache and prefetch, as for the
	// MPEG-TS output (use the same window settings, so both playlists list
	// the same segments). Its ExtraVariants is not used.
	HLS hls.Config
	// InitCacheEntries bounds the init segments kept in memory. Defaults to 256.
	InitCacheEntries int
	// Logger receives errors of generation. Defaults to discarding.
	Logger *slog.Logger
}

// DefaultInitCacheEntries is the default of Config.InitCacheEntries.
const DefaultInitCacheEntries = 256

func (cfg Config) withDefaults() Config {
	if cfg.InitCacheEntries <= 0 {
		cfg.InitCacheEntries = DefaultInitCacheEntries
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HLS.Logger == nil {
		cfg.HLS.Logger = cfg.Logger
	}
	cfg.HLS.ExtraVariants = nil
	return cfg
}
