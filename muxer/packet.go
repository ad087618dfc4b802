package muxer

// Transport packet layout. Specification: ISO/IEC 13818-1, 2.4.3.2.
const (
	packetSize  = 188
	syncByte    = 0x47
	payloadSize = packetSize - 4

	// adaptation field flags (ISO/IEC 13818-1, 2.4.3.4)
	afRandomAccess = 0x40
	afPCR          = 0x10

	// minTail is the smallest PES tail held back for padding: enough for one
	// payload byte in each of 16 packets.
	minTail = 16

	mask33 = 1<<33 - 1
)

// stuffing is a run of stuffing bytes to copy from.
var stuffing = func() (b [packetSize]byte) {
	for i := range b {
		b[i] = 0xFF
	}
	return b
}()

// putTimestamp writes a 33-bit PTS or DTS with its 4-bit prefix and marker
// bits. ts is taken modulo 2^33. Specification: ISO/IEC 13818-1, 2.4.3.7.
func putTimestamp(b []byte, prefix byte, ts int64) {
	v := uint64(ts) & mask33
	b[0] = prefix<<4 | byte(v>>29)&0x0E | 1
	b[1] = byte(v >> 22)
	b[2] = byte(v>>14)&0xFE | 1
	b[3] = byte(v >> 7)
	b[4] = byte(v<<1) | 1
}

// putPCR writes program_clock_reference from a 90 kHz value: base is ts
// modulo 2^33, extension 0. Specification: ISO/IEC 13818-1, 2.4.3.5.
func putPCR(b []byte, ts int64) {
	v := uint64(ts) & mask33
	b[0] = byte(v >> 25)
	b[1] = byte(v >> 17)
	b[2] = byte(v >> 9)
	b[3] = byte(v >> 1)
	b[4] = byte(v<<7) | 0x7E // reserved bits, extension high bit 0
	b[5] = 0
}

// gather reads a byte sequence scattered over several slices.
type gather struct {
	parts [][]byte
	i     int
	off   int
}

// read fills dst from the sequence. The caller never asks for more than
// remains.
func (g *gather) read(dst []byte) {
	for len(dst) > 0 {
		n := copy(dst, g.parts[g.i][g.off:])
		dst = dst[n:]
		g.off += n
		if g.off == len(g.parts[g.i]) {
			g.i++
			g.off = 0
		}
	}
}
