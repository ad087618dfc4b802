// Package h264gen is a tiny, deterministic H.264 encoder for synthetic test
// video: a flat background with lines of text drawn in a built-in bitmap
// font.
//
// The streams are Constrained Baseline (profile_idc 66 with
// constraint_set1_flag) with CAVLC. An IDR picture codes the top-left
// macroblock and every macroblock that holds text as I_PCM, and every other
// macroblock as Intra_16x16 DC prediction without residual, which reproduces
// the background exactly; a P picture is one mb_skip_run, so it repeats the
// picture before it. Decoded pictures are therefore exact: every sample is
// the one the encoder drew. Deblocking is disabled in every slice.
//
// A flat macroblock costs one or two bytes, a macroblock with text about
// 386 (I_PCM): at 640x360 an IDR picture without text is 1.3 KB, and each
// character at the automatic scale (3 there) adds about 0.9 KB.
//
// Specification: ITU-T H.264 (08/2021).
package h264gen

import (
	"errors"
	"fmt"
)

// Config describes the coded picture.
type Config struct {
	// Width and Height are the display size in luma samples: even, from 16
	// to 4096. The coded size rounds up to whole macroblocks and the SPS
	// crops it back.
	Width, Height int

	// FrameRateNum/FrameRateDen is the frame rate, such as 25/1 or
	// 30000/1001, written to the VUI timing info with fixed_frame_rate_flag.
	FrameRateNum, FrameRateDen int

	// Background is the colour of the picture as Y, Cb, Cr in ITU-R BT.601
	// limited range, as the VUI says: luma is clamped to 16..235 and chroma
	// to 16..240.
	Background [3]byte

	// Foreground is the colour of the text as Y, Cb, Cr, clamped like
	// Background.
	Foreground [3]byte

	// Scale is the size of a font pixel in luma samples, at most 64. Defaults
	// (when 0) to the largest scale at which 6 lines of 32 characters fit,
	// and at least 2.
	Scale int
}

// Limits of Config.
const (
	minSize  = 16
	maxSize  = 4096
	maxScale = 64
)

// log2MaxFrameNum is log2(MaxFrameNum): frame_num is 8 bits and wraps at 256.
const log2MaxFrameNum = 8

// Encoder codes pictures for one Config. It holds no state between pictures,
// so it is safe for concurrent use.
type Encoder struct {
	width, height int
	mbW, mbH      int // picture size in macroblocks
	bg, fg        [3]byte
	layout        layout
	sps, pps      []byte
}

// New validates cfg and returns an Encoder for it.
func New(cfg Config) (*Encoder, error) {
	if err := validate(cfg); err != nil {
		return nil, fmt.Errorf("h264gen: %w", err)
	}
	e := &Encoder{
		width:  cfg.Width,
		height: cfg.Height,
		mbW:    (cfg.Width + 15) / 16,
		mbH:    (cfg.Height + 15) / 16,
		bg:     clampColor(cfg.Background),
		fg:     clampColor(cfg.Foreground),
	}
	scale := cfg.Scale
	if scale == 0 {
		scale = autoScale(cfg.Width, cfg.Height)
	}
	e.layout = newLayout(cfg.Width, cfg.Height, scale)
	e.sps = e.makeSPS(cfg.FrameRateNum, cfg.FrameRateDen)
	e.pps = makePPS()
	return e, nil
}

func validate(cfg Config) error {
	var errs []error
	for _, d := range []struct {
		name string
		v    int
	}{{"width", cfg.Width}, {"height", cfg.Height}} {
		if d.v < minSize || d.v > maxSize || d.v%2 != 0 {
			errs = append(errs, fmt.Errorf("%s %d: must be even, from %d to %d", d.name, d.v, minSize, maxSize))
		}
	}
	if cfg.FrameRateNum <= 0 || cfg.FrameRateDen <= 0 {
		errs = append(errs, fmt.Errorf("frame rate %d/%d: must be positive", cfg.FrameRateNum, cfg.FrameRateDen))
	} else if uint64(cfg.FrameRateNum) > 1<<31-1 || uint64(cfg.FrameRateDen) > 1<<32-1 {
		// time_scale = 2*num and num_units_in_tick = den are 32-bit fields.
		errs = append(errs, fmt.Errorf("frame rate %d/%d: too large for the VUI timing info", cfg.FrameRateNum, cfg.FrameRateDen))
	}
	if cfg.Scale < 0 || cfg.Scale > maxScale {
		errs = append(errs, fmt.Errorf("scale %d: must be from 0 (automatic) to %d", cfg.Scale, maxScale))
	}
	return errors.Join(errs...)
}

func clampColor(c [3]byte) [3]byte {
	return [3]byte{
		min(max(c[0], 16), 235),
		min(max(c[1], 16), 240),
		min(max(c[2], 16), 240),
	}
}

// SPS returns the sequence parameter set NAL unit, without start code.
func (e *Encoder) SPS() []byte {
	return append([]byte(nil), e.sps...)
}

// PPS returns the picture parameter set NAL unit, without start code.
func (e *Encoder) PPS() []byte {
	return append([]byte(nil), e.pps...)
}

// makeSPS writes seq_parameter_set_rbsp() for a Constrained Baseline stream:
// frame_num of log2MaxFrameNum bits, pic_order_cnt_type 2 (output order is
// decoding order), one reference frame, frame cropping to the display size,
// and a VUI with square samples, BT.601 limited range, the timing info and
// no reordering.
// Specification: ITU-T H.264, 7.3.2.1.1, E.1.1 and A.2.1.1.
func (e *Encoder) makeSPS(num, den int) []byte {
	var w BitWriter
	w.WriteBits(66, 8)     // profile_idc: Baseline
	w.WriteBits(0b1100, 4) // constraint_set0_flag, constraint_set1_flag (Constrained Baseline), set2, set3
	w.WriteBits(0, 4)      // constraint_set4_flag, constraint_set5_flag, reserved_zero_2bits
	w.WriteBits(uint32(chooseLevel(e.mbW, e.mbH, num, den)), 8)
	w.WriteUE(0)                          // seq_parameter_set_id
	w.WriteUE(log2MaxFrameNum - 4)        // log2_max_frame_num_minus4
	w.WriteUE(2)                          // pic_order_cnt_type
	w.WriteUE(1)                          // max_num_ref_frames
	w.WriteFlag(false)                    // gaps_in_frame_num_value_allowed_flag
	w.WriteUE(uint32(e.mbW - 1))          // pic_width_in_mbs_minus1
	w.WriteUE(uint32(e.mbH - 1))          // pic_height_in_map_units_minus1
	w.WriteFlag(true)                     // frame_mbs_only_flag
	w.WriteFlag(true)                     // direct_8x8_inference_flag
	cropRight := (16*e.mbW - e.width) / 2 // in units of CropUnitX = 2 for 4:2:0
	cropBottom := (16*e.mbH - e.height) / 2
	if cropRight != 0 || cropBottom != 0 {
		w.WriteFlag(true)             // frame_cropping_flag
		w.WriteUE(0)                  // frame_crop_left_offset
		w.WriteUE(uint32(cropRight))  // frame_crop_right_offset
		w.WriteUE(0)                  // frame_crop_top_offset
		w.WriteUE(uint32(cropBottom)) // frame_crop_bottom_offset
	} else {
		w.WriteFlag(false)
	}
	w.WriteFlag(true) // vui_parameters_present_flag

	// vui_parameters()
	w.WriteFlag(true)              // aspect_ratio_info_present_flag
	w.WriteBits(1, 8)              // aspect_ratio_idc: 1:1
	w.WriteFlag(false)             // overscan_info_present_flag
	w.WriteFlag(true)              // video_signal_type_present_flag
	w.WriteBits(5, 3)              // video_format: unspecified
	w.WriteFlag(false)             // video_full_range_flag
	w.WriteFlag(true)              // colour_description_present_flag
	w.WriteBits(6, 8)              // colour_primaries: SMPTE 170M (BT.601 525)
	w.WriteBits(6, 8)              // transfer_characteristics: SMPTE 170M
	w.WriteBits(6, 8)              // matrix_coefficients: SMPTE 170M (BT.601)
	w.WriteFlag(false)             // chroma_loc_info_present_flag
	w.WriteFlag(true)              // timing_info_present_flag
	w.WriteBits(uint32(den), 32)   // num_units_in_tick
	w.WriteBits(uint32(2*num), 32) // time_scale: two ticks per frame
	w.WriteFlag(true)              // fixed_frame_rate_flag
	w.WriteFlag(false)             // nal_hrd_parameters_present_flag
	w.WriteFlag(false)             // vcl_hrd_parameters_present_flag
	w.WriteFlag(false)             // pic_struct_present_flag
	w.WriteFlag(true)              // bitstream_restriction_flag
	w.WriteFlag(true)              // motion_vectors_over_pic_boundaries_flag
	w.WriteUE(0)                   // max_bytes_per_pic_denom: no limit
	w.WriteUE(0)                   // max_bits_per_mb_denom: no limit
	w.WriteUE(16)                  // log2_max_mv_length_horizontal
	w.WriteUE(16)                  // log2_max_mv_length_vertical
	w.WriteUE(0)                   // max_num_reorder_frames
	w.WriteUE(1)                   // max_dec_frame_buffering

	w.WriteTrailingBits()
	return nalUnit(refIdcHighest, nalTypeSPS, w.Bytes())
}

// makePPS writes pic_parameter_set_rbsp(): CAVLC, one slice group, one
// reference index, QP 26, and deblocking_filter_control_present_flag so that
// slices can disable the deblocking filter.
// Specification: ITU-T H.264, 7.3.2.2.
func makePPS() []byte {
	var w BitWriter
	w.WriteUE(0)       // pic_parameter_set_id
	w.WriteUE(0)       // seq_parameter_set_id
	w.WriteFlag(false) // entropy_coding_mode_flag: CAVLC
	w.WriteFlag(false) // bottom_field_pic_order_in_frame_present_flag
	w.WriteUE(0)       // num_slice_groups_minus1
	w.WriteUE(0)       // num_ref_idx_l0_default_active_minus1
	w.WriteUE(0)       // num_ref_idx_l1_default_active_minus1
	w.WriteFlag(false) // weighted_pred_flag
	w.WriteBits(0, 2)  // weighted_bipred_idc
	w.WriteSE(0)       // pic_init_qp_minus26
	w.WriteSE(0)       // pic_init_qs_minus26
	w.WriteSE(0)       // chroma_qp_index_offset
	w.WriteFlag(true)  // deblocking_filter_control_present_flag
	w.WriteFlag(false) // constrained_intra_pred_flag
	w.WriteFlag(false) // redundant_pic_cnt_present_flag
	w.WriteTrailingBits()
	return nalUnit(refIdcHighest, nalTypePPS, w.Bytes())
}
