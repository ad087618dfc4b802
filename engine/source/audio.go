package source

import (
	"errors"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/ac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
)

// Audio codec names, as in library.AudioInfo.Codec.
const (
	codecAAC  = "aac"
	codecOpus = "opus"
	codecAC3  = "ac3"
)

// Samples per frame of the fixed-size codecs.
const (
	aacFrameSamples = 1024
	ac3FrameSamples = 1536
	opusSampleRate  = 48000
)

var (
	errADTSSync      = errors.New("invalid ADTS header")
	errADTSBlocks    = errors.New("ADTS frame with several raw data blocks")
	errAC3Sync       = errors.New("invalid AC-3 sync frame")
	errOpusHeader    = errors.New("invalid Opus control header")
	errAudioConfig   = errors.New("invalid audio configuration")
	errUnknownCodec  = errors.New("unknown audio codec")
	errOpusNoPackets = errors.New("opus packet without duration")
)

// aacSampleRates are the sampling_frequency_index values (ISO/IEC 14496-3, Table 1.18).
var aacSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// audioFrame is one frame found in a unit: its bytes, and its offset in samples from the
// first frame that starts in the unit's PES.
type audioFrame struct {
	data    []byte
	samples int64
}

// splitAudio finds the frames of a MPEG-TS audio unit of codec, appending them to dst, and
// returns the samples they hold. An incomplete frame at the end is not an error: its bytes
// are counted in keep, for the next unit. frameSamples is the fixed frame size (AAC, AC-3).
func splitAudio(dst []audioFrame, codec string, b []byte, frameSamples int) (frames []audioFrame, keep int, total int64, err error) {
	switch codec {
	case codecAAC:
		return splitADTS(dst, b, frameSamples)
	case codecAC3:
		return splitAC3(dst, b)
	case codecOpus:
		return splitOpusTS(dst, b)
	}
	return dst, 0, 0, errUnknownCodec
}

// adtsHeader is the part of an ADTS header (ISO/IEC 14496-3, 1.A.3.2) this package uses.
type adtsHeader struct {
	objectType    int
	sampleRate    int
	channelConfig int
	headerLen     int
	frameLen      int
}

// parseADTS parses the ADTS header at the start of b, which holds at least 7 bytes.
func parseADTS(b []byte) (adtsHeader, error) {
	var h adtsHeader
	if b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return h, errADTSSync
	}
	h.headerLen = 7
	if b[1]&1 == 0 {
		h.headerLen = 9 // with CRC
	}
	h.objectType = int(b[2]>>6) + 1
	sri := int(b[2]>>2) & 0x0f
	if sri >= len(aacSampleRates) {
		return h, errADTSSync
	}
	h.sampleRate = aacSampleRates[sri]
	h.channelConfig = int(b[2]&1)<<2 | int(b[3]>>6)
	h.frameLen = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	if h.frameLen <= h.headerLen {
		return h, errADTSSync
	}
	if b[6]&3 != 0 {
		return h, errADTSBlocks
	}
	return h, nil
}

func splitADTS(dst []audioFrame, b []byte, frameSamples int) ([]audioFrame, int, int64, error) {
	var n int64
	for len(b) >= 7 {
		h, err := parseADTS(b)
		if err != nil {
			return dst, 0, 0, err
		}
		if h.frameLen > len(b) {
			break
		}
		dst = append(dst, audioFrame{data: b[h.headerLen:h.frameLen:h.frameLen], samples: n})
		n += int64(frameSamples)
		b = b[h.frameLen:]
	}
	return dst, len(b), n, nil
}

func splitAC3(dst []audioFrame, b []byte) ([]audioFrame, int, int64, error) {
	var n int64
	for len(b) >= 5 {
		var si ac3.SyncInfo
		if err := si.Unmarshal(b); err != nil {
			return dst, 0, 0, errAC3Sync
		}
		l := si.FrameSize()
		if l > len(b) {
			break
		}
		dst = append(dst, audioFrame{data: b[:l:l], samples: n})
		n += ac3FrameSamples
		b = b[l:]
	}
	return dst, len(b), n, nil
}

// splitOpusTS splits Opus access units, each behind an opus_control_header
// (ETSI TS 102 366 style, "Opus in MPEG-TS", 4.2; as written by ffmpeg and mediacommon).
func splitOpusTS(dst []audioFrame, b []byte) ([]audioFrame, int, int64, error) {
	var n int64
	for len(b) >= 2 {
		if b[0] != 0x7f || b[1]&0xe0 != 0xe0 {
			return dst, 0, 0, errOpusHeader
		}
		flags := b[1]
		p := 2
		size := 0
		for {
			if p >= len(b) {
				return dst, len(b), n, nil
			}
			c := int(b[p])
			p++
			size += c
			if c != 255 {
				break
			}
		}
		if flags&0x10 != 0 {
			p += 2
		}
		if flags&0x08 != 0 {
			p += 2
		}
		if flags&0x04 != 0 {
			if p >= len(b) {
				return dst, len(b), n, nil
			}
			p += 1 + int(b[p])
		}
		if size == 0 {
			return dst, 0, 0, errOpusHeader
		}
		if p+size > len(b) {
			break
		}
		pkt := b[p : p+size : p+size]
		d := opus.PacketDuration2(pkt)
		if d <= 0 {
			return dst, 0, 0, errOpusNoPackets
		}
		dst = append(dst, audioFrame{data: pkt, samples: n})
		n += d
		b = b[p+size:]
	}
	return dst, len(b), n, nil
}

// audioParams fills the audio fields of info from the first unit of a MPEG-TS audio stream.
func audioParams(info *Info, codec string, b []byte) error {
	info.AudioCodec = codec
	switch codec {
	case codecAAC:
		if len(b) < 7 {
			return errADTSSync
		}
		h, err := parseADTS(b)
		if err != nil {
			return err
		}
		asc := mpeg4audio.AudioSpecificConfig{
			Type:          mpeg4audio.ObjectType(h.objectType),
			SampleRate:    h.sampleRate,
			ChannelConfig: uint8(h.channelConfig),
			ChannelCount:  h.channelConfig,
		}
		cfg, err := asc.Marshal()
		if err != nil {
			return errAudioConfig
		}
		info.AudioConfig = cfg
		info.SampleRate = h.sampleRate
		info.Channels = aacChannels(h.channelConfig)
		info.AudioFrameSamples = aacFrameSamples
	case codecAC3:
		var si ac3.SyncInfo
		if err := si.Unmarshal(b); err != nil {
			return errAC3Sync
		}
		var bsi ac3.BSI
		if len(b) < 8 {
			return errAC3Sync
		}
		if err := bsi.Unmarshal(b[5:]); err != nil {
			return errAC3Sync
		}
		info.SampleRate = si.SampleRate()
		info.Channels = bsi.ChannelCount()
		info.AudioFrameSamples = ac3FrameSamples
	case codecOpus:
		frames, _, _, err := splitOpusTS(nil, b)
		if err != nil {
			return err
		}
		if len(frames) == 0 {
			return errOpusHeader
		}
		info.SampleRate = opusSampleRate
		info.AudioFrameSamples = int(opus.PacketDuration2(frames[0].data))
		if info.Channels == 0 {
			info.Channels = 2
		}
	default:
		return errUnknownCodec
	}
	return nil
}

// aacChannels returns the channel count of an AAC channel configuration (ISO/IEC 14496-3,
// Table 1.19); 0 when a program config element defines it.
func aacChannels(cfg int) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return cfg
	case cfg == 7:
		return 8
	}
	return 0
}
