package rtsp

import (
	"log/slog"
	"time"
)

// Config configures an Output.
type Config struct {
	// Address is the RTSP (TCP) listen address, e.g. ":8554".
	Address string
	// UDPRTPAddress and UDPRTCPAddress are the UDP listen addresses of RTP
	// and RTCP for clients that ask for UDP transport: an even port and the
	// next one (e.g. ":8000" and ":8001"). Both empty: TCP only.
	UDPRTPAddress, UDPRTCPAddress string
	// Grace is how long a channel's RTSP stream stays after its last reader
	// (and after a DESCRIBE that no PLAY followed). Defaults to 10s.
	Grace time.Duration
	// WriteQueue is each reader's queue of RTP packets (a power of two);
	// when it is full the reader's packets are dropped, the others carry on.
	// Defaults to 2048.
	WriteQueue int
	// Logger receives errors. Defaults to discarding.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Grace <= 0 {
		c.Grace = 10 * time.Second
	}
	if c.WriteQueue <= 0 {
		c.WriteQueue = 2048
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
