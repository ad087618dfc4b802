package webrtc

import (
	"log/slog"
	"time"
)

// Config configures an Output.
type Config struct {
	// UDPAddress is the one UDP address every peer's ICE traffic uses
	// (host:port, e.g. ":8189"). Defaults to ":8189".
	UDPAddress string
	// PublicIPs, when set, are announced as the host candidates' addresses
	// instead of the machine's interface addresses (a server behind 1:1 NAT).
	PublicIPs []string
	// ConnectTimeout is how long a peer may take to connect after its offer
	// was answered before it is dropped. Defaults to 20s.
	ConnectTimeout time.Duration
	// MaxBody bounds the size of an SDP offer. Defaults to 64 KiB.
	MaxBody int64
	// StreamCodecs, when set, tells the codecs of the stream on air on a
	// channel ("h264", "aac", "opus", ...), for Audio before anyone watched.
	StreamCodecs func(id string) (video, audio string, err error)
	// Logger receives errors. Defaults to discarding.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.UDPAddress == "" {
		c.UDPAddress = ":8189"
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 20 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
