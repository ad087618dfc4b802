package muxer

import (
	"errors"
	"fmt"
)

// adtsSampleRates are the sampling frequencies indexed by
// sampling_frequency_index. Specification: ISO/IEC 14496-3, Table 1.18.
var adtsSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// maxADTSPayload is the largest raw frame an ADTS header without CRC can
// describe: frame_length is 13 bits and includes the 7-byte header.
const maxADTSPayload = 1<<13 - 1 - 7

// aacConfig is what an ADTS header needs from the decoder configuration.
type aacConfig struct {
	objectType    int // 1..4
	freqIndex     int // 0..12
	channelConfig int // 0..7
}

// bitReader reads big-endian bit fields.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) read(n int) (int, error) {
	if r.pos+n > len(r.b)*8 {
		return 0, errors.New("audio specific config is too short")
	}
	v := 0
	for range n {
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v, nil
}

func (r *bitReader) objectType() (int, error) {
	t, err := r.read(5)
	if err != nil || t != 31 {
		return t, err
	}
	e, err := r.read(6)
	return 32 + e, err
}

func (r *bitReader) freqIndex() (int, error) {
	i, err := r.read(4)
	if err != nil || i != 15 {
		return i, err
	}
	rate, err := r.read(24)
	if err != nil {
		return 0, err
	}
	for j, v := range adtsSampleRates {
		if v == rate {
			return j, nil
		}
	}
	return 0, fmt.Errorf("sample rate %d cannot be signalled in ADTS", rate)
}

// parseAudioSpecificConfig reads the fields an ADTS header needs. For HE-AAC
// with explicit signalling (object type 5 or 29) it returns the core AAC
// configuration, which is what ADTS carries (implicit signalling).
// Specification: ISO/IEC 14496-3, 1.6.2.1.
func parseAudioSpecificConfig(b []byte) (aacConfig, error) {
	r := bitReader{b: b}
	ot, err := r.objectType()
	if err != nil {
		return aacConfig{}, err
	}
	fi, err := r.freqIndex()
	if err != nil {
		return aacConfig{}, err
	}
	cc, err := r.read(4)
	if err != nil {
		return aacConfig{}, err
	}
	if ot == 5 || ot == 29 {
		if _, err = r.freqIndex(); err != nil { // extension sampling frequency
			return aacConfig{}, err
		}
		if ot, err = r.objectType(); err != nil {
			return aacConfig{}, err
		}
	}
	c := aacConfig{objectType: ot, freqIndex: fi, channelConfig: cc}
	return c, c.validate()
}

func (c aacConfig) validate() error {
	if c.objectType < 1 || c.objectType > 4 {
		return fmt.Errorf("audio object type %d cannot be signalled in ADTS", c.objectType)
	}
	if c.freqIndex < 0 || c.freqIndex >= len(adtsSampleRates) {
		return fmt.Errorf("invalid sampling frequency index %d", c.freqIndex)
	}
	if c.channelConfig < 0 || c.channelConfig > 7 {
		return fmt.Errorf("channel configuration %d cannot be signalled in ADTS", c.channelConfig)
	}
	return nil
}

// aacConfigFromTrack derives the ADTS fields from a track's description.
func aacConfigFromTrack(t *Track) (aacConfig, error) {
	if len(t.AudioSpecificConfig) > 0 {
		return parseAudioSpecificConfig(t.AudioSpecificConfig)
	}
	c := aacConfig{objectType: t.ObjectType, freqIndex: -1}
	if c.objectType == 0 {
		c.objectType = 2
	}
	for i, v := range adtsSampleRates {
		if v == t.SampleRate {
			c.freqIndex = i
		}
	}
	if c.freqIndex < 0 {
		return c, fmt.Errorf("sample rate %d cannot be signalled in ADTS", t.SampleRate)
	}
	switch {
	case t.ChannelCount >= 1 && t.ChannelCount <= 6:
		c.channelConfig = t.ChannelCount
	case t.ChannelCount == 8:
		c.channelConfig = 7
	default:
		return c, fmt.Errorf("channel count %d cannot be signalled in ADTS", t.ChannelCount)
	}
	return c, c.validate()
}

// putADTSHeader writes the 7-byte ADTS header (MPEG-4, no CRC) of a raw frame
// of n bytes. Specification: ISO/IEC 14496-3, Table 1.A.5 to 1.A.7.
func putADTSHeader(b []byte, c aacConfig, n int) {
	l := n + 7
	b[0] = 0xFF
	b[1] = 0xF1 // syncword low bits, ID 0 (MPEG-4), layer 0, protection_absent 1
	b[2] = byte(c.objectType-1)<<6 | byte(c.freqIndex)<<2 | byte(c.channelConfig>>2)
	b[3] = byte(c.channelConfig&3)<<6 | byte(l>>11)&3
	b[4] = byte(l >> 3)
	b[5] = byte(l&7)<<5 | 0x1F // buffer fullness 0x7FF (VBR)
	b[6] = 0xFC                // buffer fullness, number_of_raw_data_blocks_in_frame 0
}
