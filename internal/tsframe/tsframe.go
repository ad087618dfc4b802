// Package tsframe holds the MPEG-TS framing that the library's probe and the
// playout readers share: packet layouts (188-byte TS, 192-byte M2TS) and the
// PES timestamp field.
//
// Specification: ISO/IEC 13818-1, 2.4.3.2 (transport packet), 2.4.3.7 (PES header).
package tsframe

const (
	// PacketSize is the size of a transport packet.
	PacketSize = 188
	// SyncByte starts every transport packet.
	SyncByte = 0x47
)

// Layout is the packet framing of a file: 188-byte packets, or 192-byte M2TS
// packets with a 4-byte timestamp prefix before the sync byte.
type Layout struct {
	Stride  int
	SyncOff int
}

// The two layouts.
var (
	TS   = Layout{Stride: 188, SyncOff: 0}
	M2TS = Layout{Stride: 192, SyncOff: 4}
)

// Detect returns the layout whose sync bytes line up over the first whole
// packets of b (up to eight; at least one).
func Detect(b []byte) (Layout, bool) {
	for _, l := range []Layout{TS, M2TS} {
		n := 0
		for i := l.SyncOff; i+PacketSize <= len(b) && n < 8; i += l.Stride {
			if b[i] != SyncByte {
				n = -1
				break
			}
			n++
		}
		if n > 0 {
			return l, true
		}
	}
	return Layout{}, false
}

// Timestamp decodes a 33-bit PTS or DTS field of a PES header; ok is false
// when its marker bits are wrong.
func Timestamp(b []byte) (v int64, ok bool) {
	ok = b[0]&1 == 1 && b[2]&1 == 1 && b[4]&1 == 1
	return int64(b[0]>>1&0x07)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1), ok
}
