package h264gen

import (
	"bytes"
	"math"
	"testing"
)

// bitReader reads what BitWriter writes; the tests use it to parse parameter
// sets and slice headers back.
type bitReader struct {
	buf []byte
	pos int // in bits
	err bool
}

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= 8*len(r.buf) {
			r.err = true
			return 0
		}
		v = v<<1 | uint32(r.buf[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.bits(1) == 1 }

func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bits(1) == 0 {
		if r.err || zeros > 32 {
			r.err = true
			return 0
		}
		zeros++
	}
	if zeros == 32 {
		return uint32(uint64(1)<<32 - 1 + uint64(r.bits(32)))
	}
	return 1<<zeros - 1 + r.bits(zeros)
}

func (r *bitReader) se() int32 {
	k := r.ue()
	if k%2 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

// trailing reports whether exactly rbsp_trailing_bits() remain.
func (r *bitReader) trailing() bool {
	if r.bits(1) != 1 {
		return false
	}
	for r.pos%8 != 0 {
		if r.bits(1) != 0 {
			return false
		}
	}
	return !r.err && r.pos == 8*len(r.buf)
}

func TestBitWriter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *BitWriter)
		want  []byte
	}{
		{"ue 0 to 3", func(w *BitWriter) {
			// 1 010 011 00100, then trailing bits 1 000
			for v := range uint32(4) {
				w.WriteUE(v)
			}
			w.WriteTrailingBits()
		}, []byte{0b1010_0110, 0b0100_1000}},
		{"ue 7", func(w *BitWriter) { w.WriteUE(7); w.AlignZero() }, []byte{0b0001_0000}},
		{"se 1 -1 2 -2", func(w *BitWriter) {
			// 010 011 00100 00101
			for _, v := range []int32{1, -1, 2, -2} {
				w.WriteSE(v)
			}
			w.AlignZero()
		}, []byte{0b0100_1100, 0b1000_0101}},
		{"se 0", func(w *BitWriter) { w.WriteSE(0); w.AlignZero() }, []byte{0b1000_0000}},
		{"bits across bytes", func(w *BitWriter) {
			w.WriteBits(0b101, 3)
			w.WriteBits(0xABCD, 16)
			w.WriteBits(0, 0)
			w.WriteTrailingBits()
		}, []byte{0b1011_0101, 0b0111_1001, 0b1011_0000}},
		{"32 bits", func(w *BitWriter) { w.WriteBits(0xDEADBEEF, 32) }, []byte{0xDE, 0xAD, 0xBE, 0xEF}},
		{"bytes unaligned", func(w *BitWriter) {
			w.WriteFlag(true)
			w.WriteBytes([]byte{0xFF, 0x00})
			w.AlignZero()
		}, []byte{0xFF, 0x80, 0x00}},
		{"bytes aligned", func(w *BitWriter) {
			w.WriteFlag(false)
			w.AlignZero()
			w.WriteBytes([]byte{1, 2})
		}, []byte{0, 1, 2}},
		{
			"ue max", func(w *BitWriter) { w.WriteUE(math.MaxUint32); w.AlignZero() },
			// 32 zeros, a one, 32 zeros, 7 bits of alignment
			[]byte{0, 0, 0, 0, 0x80, 0, 0, 0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w BitWriter
			tc.write(&w)
			if !w.ByteAligned() {
				t.Fatal("not byte aligned")
			}
			if got := w.Bytes(); !bytes.Equal(got, tc.want) {
				t.Fatalf("got %08b, want %08b", got, tc.want)
			}
			if w.BitLen() != 8*len(tc.want) {
				t.Fatalf("BitLen %d, want %d", w.BitLen(), 8*len(tc.want))
			}
		})
	}
}

func TestBitWriterRoundTrip(t *testing.T) {
	var w BitWriter
	ues := []uint32{0, 1, 2, 3, 254, 255, 256, 65535, 1<<31 - 1, math.MaxUint32 - 1, math.MaxUint32}
	ses := []int32{0, 1, -1, 2, -2, 1000, -1000, math.MaxInt32, -math.MaxInt32}
	for _, v := range ues {
		w.WriteUE(v)
	}
	for _, v := range ses {
		w.WriteSE(v)
	}
	w.WriteBits(0x5A5A5, 20)
	w.WriteTrailingBits()

	r := bitReader{buf: w.Bytes()}
	for _, v := range ues {
		if got := r.ue(); got != v {
			t.Errorf("ue: got %d, want %d", got, v)
		}
	}
	for _, v := range ses {
		if got := r.se(); got != v {
			t.Errorf("se: got %d, want %d", got, v)
		}
	}
	if got := r.bits(20); got != 0x5A5A5 {
		t.Errorf("bits: got %#x", got)
	}
	if !r.trailing() {
		t.Error("trailing bits missing")
	}
}
