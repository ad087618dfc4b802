package testmedia

// AAC-LC without a psychoacoustic model: every frame is either digital silence
// or one spectral line per channel. The line, repeated over consecutive long
// frames with the right sign, makes the decoder's overlap-add produce a pure
// sinusoid, with a sine-window fade at each end of the burst. That is enough
// for an audible marker tone that lines up with every keyframe, in a handful
// of bytes per frame.

const (
	// aacSampleRate is the audio sampling rate of every clip.
	aacSampleRate = 48000
	// aacFrameSamples is the number of PCM samples per channel in one raw AAC-LC frame.
	aacFrameSamples = 1024
	// aacChannels is the number of audio channels (channel configuration 2).
	aacChannels = 2

	// aacToneGain is global_gain (and the one scale factor) of tone frames. A
	// quantized value of 1 dequantizes to 2^((187-100)/4), which the 2/N of the
	// IMDCT turns into a peak of about 3400 on the 16-bit scale (-19.6 dBFS).
	// Specification: ISO/IEC 14496-3, 4.6.2.3.3 and 4.6.11.
	aacToneGain = 187
	// aacSilenceGain is global_gain of frames without spectral data; the decoder ignores it.
	aacSilenceGain = 100

	// aacToneFrames is how many consecutive frames carry the marker tone after
	// each keyframe. The decoder fades the line in over the first frame and out
	// over the one after the last, so the tone lasts about (4+1)*1024 samples, 107 ms.
	aacToneFrames = 4

	// aacToneBinMin and aacToneBins give the MDCT bins the seed chooses the
	// tone from: bin k sounds at (k+1)*48000/2048 Hz, 867 Hz to 1219 Hz.
	aacToneBinMin = 36
	aacToneBins   = 16
)

// Syntactic element ids of raw_data_block().
// Specification: ISO/IEC 14496-3, 4.5.2.1, Table 4.85.
const (
	aacIDCPE = 1
	aacIDEND = 7
)

// aacSWBOffsetLong48k holds the first scale factor bands of a long window at
// 48 kHz (swb_offset_long_window for 44.1 and 48 kHz). Only the bands that can
// hold a marker tone are needed.
// Specification: ISO/IEC 14496-3, 4.5.4, Table 4.129.
var aacSWBOffsetLong48k = []int{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 72, 80, 88, 96}

// aacQuadCode is a codeword of spectrum Huffman codebook 1 (signed 4-tuples of
// -1, 0, 1; no sign bits).
type aacQuadCode struct {
	code, length uint32
}

// aacCB1Zero codes the 4-tuple (0,0,0,0) in codebook 1.
// Specification: ISO/IEC 14496-3, Annex 4.A, Table 4.A.2 (index 40).
var aacCB1Zero = aacQuadCode{code: 0x0, length: 1}

// aacCB1Single codes the 4-tuples of codebook 1 that hold one +1 or -1:
// [position in the tuple][0 for +1, 1 for -1]. All are five bits long.
// Specification: ISO/IEC 14496-3, Annex 4.A, Table 4.A.2.
var aacCB1Single = [4][2]aacQuadCode{
	{{0x10, 5}, {0x11, 5}},
	{{0x13, 5}, {0x17, 5}},
	{{0x16, 5}, {0x15, 5}},
	{{0x14, 5}, {0x12, 5}},
}

// aacAudioSpecificConfig returns the AudioSpecificConfig of every clip:
// AAC-LC (object type 2), 48 kHz (index 3), channel configuration 2, and a
// GASpecificConfig of 1024-sample frames, no core coder, no extension.
// Specification: ISO/IEC 14496-3, 1.6.2.1 and 4.4.1.
func aacAudioSpecificConfig() []byte {
	var w bitWriter
	w.writeBits(2, 5) // audioObjectType: AAC LC
	w.writeBits(3, 4) // samplingFrequencyIndex: 48000
	w.writeBits(aacChannels, 4)
	w.writeBits(0, 1) // frameLengthFlag: 1024
	w.writeBits(0, 1) // dependsOnCoreCoder
	w.writeBits(0, 1) // extensionFlag
	return w.bytes()
}

// aacEncoder makes the raw AAC-LC frames of one clip. Frames depend only on
// their index, so the encoder keeps the three distinct frames it can emit.
type aacEncoder struct {
	silence []byte
	tonePos []byte // the tone line positive
	toneNeg []byte // the tone line negative
	toneOn  func(frame int) bool
	evenBin bool
}

// newAACEncoder returns an encoder whose tone sits in MDCT bin toneBin
// (0 < toneBin < 96) and sounds in the frames for which toneOn is true. A nil
// toneOn makes every frame silent.
func newAACEncoder(toneBin int, toneOn func(frame int) bool) *aacEncoder {
	return &aacEncoder{
		silence: aacRawFrame(-1, 0),
		tonePos: aacRawFrame(toneBin, 1),
		toneNeg: aacRawFrame(toneBin, -1),
		toneOn:  toneOn,
		evenBin: toneBin%2 == 0,
	}
}

// frame returns raw frame number n (the one whose first sample is n*1024).
// The returned slice is shared; callers must not modify it.
//
// For the decoded line to join up into one sinusoid, the overlap of frames n
// and n+1 must cancel the time-domain aliasing: with the sine window that
// holds when consecutive coefficients are equal for odd bins and alternate in
// sign for even bins, because the basis function of bin k advances by
// (k+1/2)*pi from one frame to the next.
func (e *aacEncoder) frame(n int) []byte {
	if e.toneOn == nil || !e.toneOn(n) {
		return e.silence
	}
	if e.evenBin && n%2 != 0 {
		return e.toneNeg
	}
	return e.tonePos
}

// aacToneHz returns the frequency the decoder plays for a line in bin k.
func aacToneHz(k int) float64 {
	return float64(k+1) * aacSampleRate / (2 * aacFrameSamples)
}

// aacRawFrame builds one raw_data_block of a channel_pair_element without a
// common window. With bin < 0 both channels are silent (max_sfb 0); otherwise
// each channel holds the single quantized value sign (+1 or -1) in that bin.
// Specification: ISO/IEC 14496-3, 4.4.2.1 (raw_data_block, Table 4.3),
// 4.6.2 (channel_pair_element, Table 4.5) and individual_channel_stream (Table 4.50).
func aacRawFrame(bin, sign int) []byte {
	var w bitWriter
	w.writeBits(aacIDCPE, 3)
	w.writeBits(0, 4) // element_instance_tag
	w.writeBits(0, 1) // common_window
	for range aacChannels {
		aacWriteICS(&w, bin, sign)
	}
	w.writeBits(aacIDEND, 3)
	return w.bytes() // byte_alignment()
}

// aacWriteICS writes one individual_channel_stream(common_window=0, scale_flag=0).
func aacWriteICS(w *bitWriter, bin, sign int) {
	band := -1
	if bin >= 0 {
		band = aacBandOf(bin)
	}

	if band < 0 {
		w.writeBits(aacSilenceGain, 8) // global_gain
	} else {
		w.writeBits(aacToneGain, 8)
	}

	// ics_info(), Table 4.6.
	w.writeBits(0, 1) // ics_reserved_bit
	w.writeBits(0, 2) // window_sequence: ONLY_LONG_SEQUENCE
	w.writeBits(0, 1) // window_shape: sine
	w.writeBits(uint64(band+1), 6)
	w.writeBits(0, 1) // predictor_data_present

	if band >= 0 {
		// section_data(), Table 4.52: ZERO_HCB up to the tone band, then codebook 1 for it.
		if band > 0 {
			w.writeBits(0, 4)
			aacWriteSectLen(w, band)
		}
		w.writeBits(1, 4)
		aacWriteSectLen(w, 1)

		// scale_factor_data(), Table 4.53: the one scale factor equals
		// global_gain, a difference of 0, which is index 60 of the scale
		// factor codebook: the one-bit codeword 0 (Table 4.A.1).
		w.writeBits(0, 1)
	}

	w.writeBits(0, 1) // pulse_data_present
	w.writeBits(0, 1) // tns_data_present
	w.writeBits(0, 1) // gain_control_data_present

	if band >= 0 {
		// spectral_data(), Table 4.56: one codeword per 4-tuple of the band.
		for k := aacSWBOffsetLong48k[band]; k < aacSWBOffsetLong48k[band+1]; k += 4 {
			c := aacCB1Zero
			if bin >= k && bin < k+4 {
				s := 0
				if sign < 0 {
					s = 1
				}
				c = aacCB1Single[bin-k][s]
			}
			w.writeBits(uint64(c.code), int(c.length))
		}
	}
}

// aacWriteSectLen writes sect_len of a long window: 5-bit increments, 31 meaning "more follows".
func aacWriteSectLen(w *bitWriter, n int) {
	for n >= 31 {
		w.writeBits(31, 5)
		n -= 31
	}
	w.writeBits(uint64(n), 5)
}

// aacBandOf returns the scale factor band of MDCT bin k.
func aacBandOf(k int) int {
	for b := 0; b+1 < len(aacSWBOffsetLong48k); b++ {
		if k < aacSWBOffsetLong48k[b+1] {
			return b
		}
	}
	panic("testmedia: AAC tone bin out of range")
}

// bitWriter writes big-endian bit fields, as every MPEG syntax does.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc int
}

// writeBits appends the low n bits of v (n <= 32).
func (w *bitWriter) writeBits(v uint64, n int) {
	w.acc = w.acc<<uint(n) | v&(1<<uint(n)-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>uint(w.nacc)))
	}
}

// bytes pads the stream with zero bits to a byte boundary and returns it.
func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.writeBits(0, 8-w.nacc)
	}
	return w.buf
}

// SilentAAC returns the AudioSpecificConfig of the clips' audio (AAC-LC, 48 kHz,
// stereo) and one raw frame of digital silence in it: what a slate plays.
func SilentAAC() (asc, frame []byte) {
	return aacAudioSpecificConfig(), aacRawFrame(-1, 0)
}
