package muxer

import (
	"fmt"

	"onair/internal/mpegcrc"
)

// Descriptor tags. Specification: ISO/IEC 13818-1, Table 2-45.
const (
	descRegistration = 0x05
	descLanguage     = 0x0A
	descExtension    = 0x7F // DVB extension_descriptor (ETSI EN 300 468)
	extOpusAudio     = 0x80 // opus_audio_descriptor (ETSI TS Opus 0.1.3-draft)
)

// appendSection finishes a PSI section: it patches section_length (bytes
// 1-2) and appends the CRC-32. sec starts at table_id.
func appendSection(sec []byte) []byte {
	n := len(sec) - 3 + 4
	sec[1] = 0xB0 | byte(n>>8)&0x0F // section_syntax_indicator 1, '0', reserved '11'
	sec[2] = byte(n)
	c := mpegcrc.Checksum(sec)
	return append(sec, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
}

// patSection builds the program association section.
// Specification: ISO/IEC 13818-1, 2.4.4.3.
func patSection(c *Config) []byte {
	sec := []byte{
		0x00, 0, 0, // table_id, section_length
		byte(c.TransportStreamID >> 8), byte(c.TransportStreamID),
		0xC1, // reserved, version_number 0, current_next_indicator 1
		0x00, // section_number
		0x00, // last_section_number
		byte(c.ProgramNumber >> 8), byte(c.ProgramNumber),
		0xE0 | byte(c.PMTPID>>8), byte(c.PMTPID),
	}
	return appendSection(sec)
}

// pmtSection builds the TS program map section.
// Specification: ISO/IEC 13818-1, 2.4.4.8.
func pmtSection(c *Config, tracks []trackState) []byte {
	sec := []byte{
		0x02, 0, 0,
		byte(c.ProgramNumber >> 8), byte(c.ProgramNumber),
		0xC1, 0x00, 0x00,
		0xE0 | byte(c.PCRPID>>8), byte(c.PCRPID),
		0xF0, 0x00, // program_info_length 0
	}
	for i := range tracks {
		t := &tracks[i]
		sec = append(sec, t.streamType, 0xE0|byte(t.PID>>8), byte(t.PID), 0, 0)
		lenAt := len(sec) - 2
		switch t.Codec {
		case CodecOpus:
			sec = append(sec, descRegistration, 4, 'O', 'p', 'u', 's')
			sec = append(sec, descExtension, 2, extOpusAudio, byte(t.ChannelCount))
		case CodecAC3:
			sec = append(sec, descRegistration, 4, 'A', 'C', '-', '3')
		}
		if t.Language != "" {
			sec = append(sec, descLanguage, 4, t.Language[0], t.Language[1], t.Language[2], 0)
		}
		n := len(sec) - lenAt - 2
		sec[lenAt] = 0xF0 | byte(n>>8)
		sec[lenAt+1] = byte(n)
	}
	return appendSection(sec)
}

// psiPacket wraps a section that fits in one packet: PUSI set, pointer_field
// 0, stuffed with 0xFF. The continuity counter is patched on every write.
func psiPacket(pid uint16, sec []byte) ([packetSize]byte, error) {
	var p [packetSize]byte
	if len(sec) > packetSize-5 {
		return p, fmt.Errorf("%w: section of pid 0x%04x is %d bytes, more than one packet holds", ErrInvalidConfig, pid, len(sec))
	}
	p[0] = syncByte
	p[1] = 0x40 | byte(pid>>8)
	p[2] = byte(pid)
	p[3] = 0x10
	p[4] = 0 // pointer_field
	n := copy(p[5:], sec)
	copy(p[5+n:], stuffing[:])
	return p, nil
}
