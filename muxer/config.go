package muxer

import (
	"errors"
	"fmt"
	"maps"
)

// Limits and defaults, in 90 kHz ticks.
const (
	// DefaultPSIInterval is the default PAT/PMT repetition interval (100 ms).
	DefaultPSIInterval = 9000
	// MaxPSIInterval is the largest PSI interval accepted (500 ms, ETSI TR 101 290 1.3 and 1.5).
	MaxPSIInterval = 45000
	// DefaultPCRInterval is the default PCR repetition interval (40 ms).
	DefaultPCRInterval = 3600
	// MaxPCRInterval is the largest PCR interval accepted (100 ms, ETSI TR 101 290 2.3).
	MaxPCRInterval = 9000
	// DefaultMuxDelay is the default PCR lead before DTS (100 ms).
	DefaultMuxDelay = 9000
	// DefaultPMTPID is the default PID of the PMT.
	DefaultPMTPID = 0x1000
	// MaxDTSGap is the largest DTS step between consecutive units (30 s).
	// The writer fills DTS gaps with PCR and PSI packets; a larger step is
	// treated as a caller error rather than filled.
	MaxDTSGap = 30 * 90000
)

// ErrInvalidConfig is wrapped by every error NewSegmentWriter returns for a
// bad Config.
var ErrInvalidConfig = errors.New("invalid muxer config")

// Config describes the program a SegmentWriter writes. Consecutive segments
// of a channel (between discontinuities) use the same Config, but for EndDTS
// and StartCC, which are per segment.
type Config struct {
	// Tracks are the elementary streams, in PMT order. Unit.Track indexes it.
	Tracks []Track
	// PMTPID is the PID of the PMT. Defaults to 0x1000.
	PMTPID uint16
	// PCRPID is the PID that carries the PCR. Defaults to the first video
	// track's PID, or the first track's PID when there is no video. It may be
	// a PID of its own, which then carries only PCR packets.
	PCRPID uint16
	// ProgramNumber of the single program. Defaults to 1.
	ProgramNumber uint16
	// TransportStreamID written in the PAT. Defaults to 1.
	TransportStreamID uint16
	// PSIInterval is the largest distance between two PAT/PMT pairs, measured
	// on the PCR timeline, in 90 kHz ticks. Defaults to 9000 (100 ms); at most
	// 45000 (500 ms).
	PSIInterval int64
	// PCRInterval is the largest distance between two PCRs, in 90 kHz ticks.
	// Defaults to 3600 (40 ms); at most 9000 (100 ms).
	PCRInterval int64
	// MuxDelay is how far the PCR runs behind DTS: PCR = DTS - MuxDelay, in
	// 90 kHz ticks. Defaults to 9000 (100 ms).
	MuxDelay int64
	// EndDTS is the DTS at which the next segment starts, or 0 when unknown.
	// When known, Close continues the PCR and PSI schedule up to it, so that
	// the PCR and PSI intervals also hold across the boundary with the next
	// segment, as long as that one's first unit has DTS EndDTS (otherwise the
	// gap there grows by the DTS step between the segments' adjacent units).
	// Units must have a DTS before it.
	EndDTS int64
	// StartCC, when not nil, gives the continuity counter each PID starts
	// with (PIDs absent from it start at 0) and turns off the padding of each
	// PID's packet count to a multiple of 16; NextCC then tells the counters
	// the next segment must start with. When nil (the default), every PID
	// starts at 0 and Close pads, so independently written consecutive
	// segments concatenate without continuity errors.
	StartCC map[uint16]uint8
}

// normalize applies defaults and validates c. It returns a copy.
func (c Config) normalize() (Config, error) {
	if c.PMTPID == 0 {
		c.PMTPID = DefaultPMTPID
	}
	if c.ProgramNumber == 0 {
		c.ProgramNumber = 1
	}
	if c.TransportStreamID == 0 {
		c.TransportStreamID = 1
	}
	if c.PSIInterval == 0 {
		c.PSIInterval = DefaultPSIInterval
	}
	if c.PCRInterval == 0 {
		c.PCRInterval = DefaultPCRInterval
	}
	if c.MuxDelay == 0 {
		c.MuxDelay = DefaultMuxDelay
	}
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	if len(c.Tracks) == 0 {
		return bad("no tracks")
	}
	if c.PSIInterval < 0 || c.PSIInterval > MaxPSIInterval {
		return bad("psi interval %d: must be between 1 and %d", c.PSIInterval, MaxPSIInterval)
	}
	if c.PCRInterval < 0 || c.PCRInterval > MaxPCRInterval {
		return bad("pcr interval %d: must be between 1 and %d", c.PCRInterval, MaxPCRInterval)
	}
	if c.MuxDelay < 0 || c.MuxDelay > 90000 {
		return bad("mux delay %d: must be between 1 and 90000", c.MuxDelay)
	}
	if !validPID(c.PMTPID) {
		return bad("pmt pid 0x%04x: must be between 0x0010 and 0x1ffe", c.PMTPID)
	}
	c.Tracks = append([]Track(nil), c.Tracks...)
	seen := map[uint16]bool{c.PMTPID: true}
	for i := range c.Tracks {
		t := &c.Tracks[i]
		if !validPID(t.PID) {
			return bad("track %d: pid 0x%04x: must be between 0x0010 and 0x1ffe", i, t.PID)
		}
		if seen[t.PID] {
			return bad("track %d: pid 0x%04x: used twice", i, t.PID)
		}
		seen[t.PID] = true
		if t.Codec < CodecH264 || t.Codec > CodecAC3 {
			return bad("track %d: unknown codec %d", i, int(t.Codec))
		}
		if t.Language != "" && len(t.Language) != 3 {
			return bad("track %d: language %q: must be an ISO 639-2 code", i, t.Language)
		}
		switch t.Codec {
		case CodecAAC:
			if _, err := aacConfigFromTrack(t); err != nil {
				return bad("track %d: %v", i, err)
			}
		case CodecOpus:
			if t.ChannelCount < 1 || t.ChannelCount > 8 {
				return bad("track %d: opus channel count %d: must be between 1 and 8", i, t.ChannelCount)
			}
		}
	}
	if c.PCRPID == 0 {
		c.PCRPID = c.Tracks[0].PID
		for _, t := range c.Tracks {
			if t.Codec.IsVideo() {
				c.PCRPID = t.PID
				break
			}
		}
	} else if !validPID(c.PCRPID) || c.PCRPID == c.PMTPID {
		return bad("pcr pid 0x%04x: must be a track's pid or an unused pid", c.PCRPID)
	}
	if c.StartCC != nil {
		c.StartCC = maps.Clone(c.StartCC)
		for pid, cc := range c.StartCC {
			if cc > 15 {
				return bad("start cc of pid 0x%04x: %d is not 0 to 15", pid, cc)
			}
		}
	}
	return c, nil
}

func validPID(pid uint16) bool {
	return pid >= 0x0010 && pid <= 0x1FFE
}
