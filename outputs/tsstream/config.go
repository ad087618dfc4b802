package tsstream

import (
	"log/slog"
	"time"
)

// Config configures an Output. The zero value is usable.
type Config struct {
	// WriteTimeout bounds each write to a viewer: a viewer that takes longer
	// to accept a batch (it stopped reading) is disconnected. It needs
	// Deadline. Defaults to 10s.
	WriteTimeout time.Duration
	// Deadline returns the wall time d from now, for write deadlines on the
	// connection (the network's clock, not the channel's). When nil, writes
	// have no deadline and a stuck viewer only skips ahead.
	Deadline func(d time.Duration) time.Time
	// Logger receives errors. Defaults to discarding.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
