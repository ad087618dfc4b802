// Package mpegcrc computes the CRC-32 used by MPEG-2 program specific
// information sections.
//
// Specification: ISO/IEC 13818-1, Annex A (polynomial 0x04C11DB7, initial
// value 0xFFFFFFFF, no bit reflection, no final XOR).
package mpegcrc

var table = func() [256]uint32 {
	var t [256]uint32
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// Checksum returns the MPEG-2 CRC-32 of b. A section followed by its own CRC
// has a checksum of zero.
func Checksum(b []byte) uint32 {
	c := uint32(0xFFFFFFFF)
	for _, v := range b {
		c = c<<8 ^ table[byte(c>>24)^v]
	}
	return c
}
