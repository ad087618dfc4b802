package h264gen

import "math/bits"

// BitWriter writes an RBSP (raw byte sequence payload) most significant bit
// first, with the descriptors of ITU-T H.264 7.2: u(n), ue(v) and se(v).
// Specification: ITU-T H.264 (08/2021), 7.2 and 9.1.
//
// The zero value is ready to use.
type BitWriter struct {
	buf   []byte
	cache uint64 // pending bits, right aligned
	n     uint   // number of pending bits, always below 8 between calls
}

// WriteBits writes the n low bits of v, for n from 0 to 32: the u(n) descriptor.
func (w *BitWriter) WriteBits(v uint32, n int) {
	if n <= 0 {
		return
	}
	if n > 32 {
		panic("h264gen: WriteBits: more than 32 bits")
	}
	w.cache = w.cache<<uint(n) | uint64(v)&(1<<uint(n)-1)
	w.n += uint(n)
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.cache>>w.n))
	}
	w.cache &= 1<<w.n - 1
}

// WriteFlag writes one bit, 1 for true: u(1).
func (w *BitWriter) WriteFlag(b bool) {
	if b {
		w.WriteBits(1, 1)
	} else {
		w.WriteBits(0, 1)
	}
}

// WriteUE writes v as an unsigned Exp-Golomb code: ue(v).
// Specification: ITU-T H.264, 9.1.
func (w *BitWriter) WriteUE(v uint32) {
	x := uint64(v) + 1
	size := bits.Len64(x) // codeNum+1 takes size bits, preceded by size-1 zeros
	w.WriteBits(0, size-1)
	if size > 32 {
		w.WriteBits(1, 1) // only for v = 2^32-1, whose codeNum+1 is 1 followed by 32 zeros
		w.WriteBits(0, 32)
		return
	}
	w.WriteBits(uint32(x), size)
}

// WriteSE writes v as a signed Exp-Golomb code: se(v), where k > 0 maps to
// codeNum 2k-1 and k <= 0 to codeNum -2k, for |v| below 2^31.
// Specification: ITU-T H.264, 9.1.1, Table 9-3.
func (w *BitWriter) WriteSE(v int32) {
	if v > 0 {
		w.WriteUE(uint32(v)*2 - 1)
	} else {
		w.WriteUE(uint32(-int64(v)) * 2)
	}
}

// WriteBytes writes whole bytes. It is fastest when the writer is byte aligned.
func (w *BitWriter) WriteBytes(p []byte) {
	if w.n == 0 {
		w.buf = append(w.buf, p...)
		return
	}
	for _, b := range p {
		w.WriteBits(uint32(b), 8)
	}
}

// ByteAligned reports whether the next bit starts a byte: byte_aligned().
// Specification: ITU-T H.264, 7.2.
func (w *BitWriter) ByteAligned() bool {
	return w.n == 0
}

// AlignZero writes zero bits up to the next byte boundary, as
// pcm_alignment_zero_bit does.
// Specification: ITU-T H.264, 7.3.5.
func (w *BitWriter) AlignZero() {
	if w.n != 0 {
		w.WriteBits(0, int(8-w.n))
	}
}

// WriteTrailingBits writes rbsp_trailing_bits(): a one bit, then zero bits up
// to the byte boundary.
// Specification: ITU-T H.264, 7.3.2.11.
func (w *BitWriter) WriteTrailingBits() {
	w.WriteBits(1, 1)
	w.AlignZero()
}

// BitLen returns the number of bits written so far.
func (w *BitWriter) BitLen() int {
	return len(w.buf)*8 + int(w.n)
}

// Bytes returns the bytes written so far. A partial last byte is left out, so
// call it after WriteTrailingBits or AlignZero. The slice aliases the
// writer's buffer until the next write.
func (w *BitWriter) Bytes() []byte {
	return w.buf
}
