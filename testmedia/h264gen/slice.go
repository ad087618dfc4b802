package h264gen

// Slice types; values 5 to 9 also say that every slice of the picture has
// that type.
// Specification: ITU-T H.264, 7.4.3, Table 7-6.
const (
	sliceTypeP = 5
	sliceTypeI = 7
)

// Macroblock types in an I slice.
// Specification: ITU-T H.264, 7.4.5, Table 7-11.
const (
	mbTypeI16x16DC = 3  // I_16x16_2_0_0: Intra_16x16 DC prediction, no coded luma AC or chroma
	mbTypeIPCM     = 25 // I_PCM
)

// maxFrameNum is the modulus of frame_num.
const maxFrameNum = 1 << log2MaxFrameNum

// IDR returns the slice NAL unit (nal_unit_type 5, without start code) of an
// IDR picture showing lines top-left, in character cells of 6x10 font pixels
// (Config.Scale samples square). Lines longer than the picture are cut
// to the characters that fit whole, lines below the picture are left out,
// and characters outside printable ASCII are drawn as a box. Consecutive IDR
// pictures need different idrPicID values; a counter will do, taken modulo
// 65536.
func (e *Encoder) IDR(idrPicID int, lines []string) []byte {
	p := e.render(lines)
	pcm := e.pcmMacroblocks(p)

	var w BitWriter
	w.buf = make([]byte, 0, 64+e.mbW*e.mbH*2+countTrue(pcm)*(384+2))
	e.writeSliceHeader(&w, sliceTypeI, 0, idrPicID)

	// slice_data(): with CAVLC an I slice is just its macroblocks.
	for mby := range e.mbH {
		for mbx := range e.mbW {
			if pcm[mby*e.mbW+mbx] {
				writePCM(&w, p, mbx, mby)
				continue
			}
			// macroblock_layer() of I_16x16_2_0_0. Its prediction is the
			// background (see pcmMacroblocks) and it has no residual.
			w.WriteUE(mbTypeI16x16DC)
			w.WriteUE(0) // intra_chroma_pred_mode: DC
			w.WriteSE(0) // mb_qp_delta
			// residual(): Intra16x16DCLevel with no coefficient. cbp is 0,
			// so there is no luma AC and no chroma block.
			writeCoeffTokenZero(&w, e.dcNC(pcm, mbx, mby))
		}
	}
	w.WriteTrailingBits()
	return nalUnit(refIdcHighest, nalTypeIDR, w.Bytes())
}

// P returns the slice NAL unit (nal_unit_type 1, without start code) of a
// reference P picture whose macroblocks are all P_Skip: it repeats the
// picture before it. frameNum is the number of pictures since the last IDR
// (1, 2, ...), taken modulo MaxFrameNum.
// Specification: ITU-T H.264, 7.3.4 (mb_skip_run).
func (e *Encoder) P(frameNum int) []byte {
	var w BitWriter
	e.writeSliceHeader(&w, sliceTypeP, mod(frameNum, maxFrameNum), 0)
	w.WriteUE(uint32(e.mbW * e.mbH)) // mb_skip_run: the whole picture
	w.WriteTrailingBits()            // more_rbsp_data() is false: the slice ends
	return nalUnit(refIdcP, nalTypeNonIDR, w.Bytes())
}

// writeSliceHeader writes slice_header() for the PPS and SPS of this
// package: an I slice is an IDR picture, a P slice a reference picture with
// the default reference list. Deblocking is disabled so that the edges of
// I_PCM macroblocks stay exact.
// Specification: ITU-T H.264, 7.3.3, 7.3.3.1 and 7.3.3.3.
func (e *Encoder) writeSliceHeader(w *BitWriter, sliceType uint32, frameNum, idrPicID int) {
	idr := sliceType == sliceTypeI
	w.WriteUE(0) // first_mb_in_slice
	w.WriteUE(sliceType)
	w.WriteUE(0) // pic_parameter_set_id
	w.WriteBits(uint32(frameNum), log2MaxFrameNum)
	if idr {
		w.WriteUE(uint32(mod(idrPicID, 65536))) // idr_pic_id
	}
	// pic_order_cnt_type 2 sends no picture order count.
	if !idr {
		w.WriteFlag(false) // num_ref_idx_active_override_flag
		w.WriteFlag(false) // ref_pic_list_modification_flag_l0
	}
	// dec_ref_pic_marking(), as nal_ref_idc is not 0.
	if idr {
		w.WriteFlag(false) // no_output_of_prior_pics_flag
		w.WriteFlag(false) // long_term_reference_flag
	} else {
		w.WriteFlag(false) // adaptive_ref_pic_marking_mode_flag: sliding window
	}
	w.WriteSE(0) // slice_qp_delta
	w.WriteUE(1) // disable_deblocking_filter_idc: off
}

// pcmMacroblocks returns which macroblocks of p, in raster order, are coded
// as I_PCM: the top-left one, whose DC prediction would have no neighbour;
// every macroblock with a sample that is not the background; and every
// macroblock right of or below one of those whose right column or bottom
// row is not all background.
//
// The other macroblocks use Intra_16x16 and chroma DC prediction, which
// average only the column to the left and the row above (ITU-T H.264,
// 8.3.3.3 and 8.3.4.1 to 8.3.4.3). By induction in decoding order those are
// background, so the prediction, and with no residual the macroblock, is
// exactly the background.
func (e *Encoder) pcmMacroblocks(p *picture) []bool {
	inked := make([]bool, e.mbW*e.mbH)
	rows := p.h / 16 // below these, every macroblock is background
	for mby := range rows {
		for mbx := range e.mbW {
			inked[mby*e.mbW+mbx] = p.inkIn(16*mbx, 16*mby, 16, 16)
		}
	}
	pcm := append([]bool(nil), inked...)
	pcm[0] = true
	for mby := range rows {
		for mbx := range e.mbW {
			if !pcm[mby*e.mbW+mbx] {
				continue
			}
			x, y := 16*mbx, 16*mby
			if mbx+1 < e.mbW && p.inkIn(x+15, y, 1, 16) {
				pcm[mby*e.mbW+mbx+1] = true
			}
			if mby+1 < e.mbH && p.inkIn(x, y+15, 16, 1) {
				pcm[(mby+1)*e.mbW+mbx] = true
			}
		}
	}
	return pcm
}

// inkIn reports whether the w x h luma samples at x, y (even), or the chroma
// samples covering them, hold anything but the background.
func (p *picture) inkIn(x, y, w, h int) bool {
	if y >= p.h {
		return false
	}
	for j := y; j < y+h; j++ {
		for _, v := range p.y[j*p.w+x : j*p.w+x+w] {
			if v != p.bg[0] {
				return true
			}
		}
	}
	cw := p.w / 2
	for j := y / 2; j < (y+h+1)/2; j++ {
		row := j * cw
		for i := row + x/2; i < row+(x+w+1)/2; i++ {
			if p.cb[i] != p.bg[1] || p.cr[i] != p.bg[2] {
				return true
			}
		}
	}
	return false
}

// writePCM writes the macroblock_layer() of an I_PCM macroblock: mb_type,
// pcm_alignment_zero_bit up to the byte boundary, 256 luma samples, then
// 64 Cb and 64 Cr samples, each in raster order.
// Specification: ITU-T H.264, 7.3.5.
func writePCM(w *BitWriter, p *picture, mbx, mby int) {
	w.WriteUE(mbTypeIPCM)
	w.AlignZero()
	var s [384]byte
	k := 0
	for y := 16 * mby; y < 16*mby+16; y++ {
		for x := 16 * mbx; x < 16*mbx+16; x++ {
			s[k] = p.luma(x, y)
			k++
		}
	}
	for c := 1; c <= 2; c++ {
		for y := 8 * mby; y < 8*mby+8; y++ {
			for x := 8 * mbx; x < 8*mbx+8; x++ {
				s[k] = p.chroma(c, x, y)
				k++
			}
		}
	}
	w.WriteBytes(s[:])
}

// dcNC returns nC, the context of the coeff_token of the Intra16x16DCLevel
// block of the macroblock at mbx, mby: the block is parsed as luma4x4BlkIdx
// 0, whose left and upper neighbours lie in the macroblocks to the left and
// above. A neighbouring I_PCM macroblock counts 16 coefficients; an
// Intra_16x16 one without AC coefficients counts 0, as its DC block does not
// count toward its 4x4 blocks.
// Specification: ITU-T H.264, 9.2.1.
func (e *Encoder) dcNC(pcm []bool, mbx, mby int) int {
	count := func(i int) int {
		if pcm[i] {
			return 16
		}
		return 0
	}
	availA, availB := mbx > 0, mby > 0
	switch {
	case availA && availB:
		return (count(mby*e.mbW+mbx-1) + count((mby-1)*e.mbW+mbx) + 1) >> 1
	case availA:
		return count(mby*e.mbW + mbx - 1)
	case availB:
		return count((mby-1)*e.mbW + mbx)
	default:
		return 0
	}
}

// writeCoeffTokenZero writes the coeff_token of a block with TotalCoeff 0
// and TrailingOnes 0 in context nC (0 or more).
// Specification: ITU-T H.264, 9.2.1, Table 9-5.
func writeCoeffTokenZero(w *BitWriter, nC int) {
	switch {
	case nC < 2:
		w.WriteBits(0b1, 1)
	case nC < 4:
		w.WriteBits(0b11, 2)
	case nC < 8:
		w.WriteBits(0b1111, 4)
	default:
		w.WriteBits(0b000011, 6)
	}
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// mod returns a modulo m in 0..m-1, also for negative a.
func mod(a, m int) int {
	return (a%m + m) % m
}
