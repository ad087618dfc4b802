package muxer

import "fmt"

// Codec is the coding of a track's units.
type Codec int

// Codecs the writer can carry.
const (
	// CodecH264 is H.264/AVC. Units carry NAL units without start codes.
	CodecH264 Codec = iota + 1
	// CodecH265 is H.265/HEVC. Units carry NAL units without start codes.
	CodecH265
	// CodecAAC is MPEG-4 AAC, ADTS-framed on the wire. Units carry raw AAC
	// frames; the writer adds an ADTS header to each.
	CodecAAC
	// CodecOpus is Opus. Units carry Opus packets; the writer adds an
	// opus_control_header to each.
	CodecOpus
	// CodecAC3 is Dolby AC-3. Units carry complete AC-3 sync frames.
	CodecAC3
)

// String returns the codec's name.
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "H264"
	case CodecH265:
		return "H265"
	case CodecAAC:
		return "AAC"
	case CodecOpus:
		return "Opus"
	case CodecAC3:
		return "AC3"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// IsVideo reports whether the codec is a video codec.
func (c Codec) IsVideo() bool {
	return c == CodecH264 || c == CodecH265
}

// Stream types written in the PMT.
// Specification: ISO/IEC 13818-1, Table 2-34; ATSC A/52 Annex A for AC-3.
const (
	streamTypeAAC     = 0x0F
	streamTypeH264    = 0x1B
	streamTypeH265    = 0x24
	streamTypePrivate = 0x06
	streamTypeAC3     = 0x81
)

// PES stream_id values. Specification: ISO/IEC 13818-1, Table 2-22.
const (
	streamIDPrivate1 = 0xBD
	streamIDAudio    = 0xC0
	streamIDVideo    = 0xE0
)

// Track is one elementary stream of the program.
type Track struct {
	// PID of the elementary stream, 0x0010 to 0x1FFE.
	PID uint16
	// Codec of the units.
	Codec Codec
	// StreamID is the PES stream_id. Defaults to 0xE0+n for the n-th video
	// track, 0xC0+n for the n-th AAC track and 0xBD (private_stream_1) for
	// Opus and AC-3.
	StreamID uint8
	// Language is an optional ISO 639-2 code written in an
	// ISO_639_language_descriptor.
	Language string

	// AudioSpecificConfig is the AAC decoder configuration
	// (ISO/IEC 14496-3, 1.6.2.1). When set, it overrides ObjectType,
	// SampleRate and ChannelCount.
	AudioSpecificConfig []byte
	// ObjectType is the AAC audio object type, 1 to 4. Defaults to 2 (AAC LC).
	ObjectType int
	// SampleRate in Hz (AAC: one of the ADTS sampling frequencies).
	SampleRate int
	// ChannelCount (AAC: 1 to 6 or 8; Opus: 1 to 8).
	ChannelCount int
}
