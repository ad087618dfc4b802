package h264gen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// testConfig returns a valid Config of the given size and rate.
func testConfig(w, h, num, den int) Config {
	return Config{
		Width: w, Height: h,
		FrameRateNum: num, FrameRateDen: den,
		Background: [3]byte{60, 110, 150},
		Foreground: [3]byte{235, 128, 128},
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		err  string // substring; empty for no error
	}{
		{"valid", func(*Config) {}, ""},
		{"smallest", func(c *Config) { c.Width, c.Height = 16, 16 }, ""},
		{"largest", func(c *Config) { c.Width, c.Height = 4096, 4096 }, ""},
		{"odd width", func(c *Config) { c.Width = 641 }, "width 641: must be even, from 16 to 4096"},
		{"odd height", func(c *Config) { c.Height = 361 }, "height 361: must be even"},
		{"too small", func(c *Config) { c.Width = 14 }, "width 14"},
		{"too large", func(c *Config) { c.Height = 4098 }, "height 4098"},
		{"zero size", func(c *Config) { c.Width, c.Height = 0, 0 }, "width 0"},
		{"zero rate", func(c *Config) { c.FrameRateNum = 0 }, "frame rate 0/1: must be positive"},
		{"negative den", func(c *Config) { c.FrameRateDen = -1 }, "frame rate 25/-1"},
		{"huge rate", func(c *Config) { c.FrameRateNum = 1 << 31 }, "too large"},
		{"negative scale", func(c *Config) { c.Scale = -1 }, "scale -1"},
		{"huge scale", func(c *Config) { c.Scale = 65 }, "scale 65"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(640, 360, 25, 1)
			tc.edit(&cfg)
			e, err := New(cfg)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("no error, want %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("error %q, want %q", err, tc.err)
			case err != nil && !strings.HasPrefix(err.Error(), "h264gen: "):
				t.Fatalf("error %q lacks the package prefix", err)
			case err == nil && e == nil:
				t.Fatal("nil encoder")
			}
		})
	}
}

func TestSPS(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		fps       float64
		level     uint8
		cropRight uint32
		cropBot   uint32
	}{
		{"640x360 25", testConfig(640, 360, 25, 1), 25, 30, 0, 4},
		{"1280x720 29.97", testConfig(1280, 720, 30000, 1001), 30000.0 / 1001, 31, 0, 0},
		{"1920x1080 50", testConfig(1920, 1080, 50, 1), 50, 42, 0, 4},
		{"176x144 25", testConfig(176, 144, 25, 1), 25, 11, 0, 0},
		{"176x144 15", testConfig(176, 144, 15, 1), 15, 10, 0, 0},
		{"odd size", testConfig(350, 202, 24000, 1001), 24000.0 / 1001, 13, 1, 3},
		{"16x16", testConfig(16, 16, 1, 1), 1, 10, 0, 0},
		{"4096x16", testConfig(4096, 16, 25, 1), 25, 40, 0, 0},
		{"4096x4096", testConfig(4096, 4096, 60, 1), 60, 60, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			raw := e.SPS()
			if raw[0] != 0x67 {
				t.Fatalf("NAL header %#x, want 0x67", raw[0])
			}
			var s h264.SPS
			if err = s.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if s.Width() != tc.cfg.Width || s.Height() != tc.cfg.Height {
				t.Errorf("size %dx%d, want %dx%d", s.Width(), s.Height(), tc.cfg.Width, tc.cfg.Height)
			}
			if s.FPS() != tc.fps {
				t.Errorf("fps %v, want %v", s.FPS(), tc.fps)
			}
			if s.ProfileIdc != 66 || !s.ConstraintSet1Flag {
				t.Errorf("profile %d set1 %v, want Constrained Baseline", s.ProfileIdc, s.ConstraintSet1Flag)
			}
			if s.LevelIdc != tc.level {
				t.Errorf("level %d, want %d", s.LevelIdc, tc.level)
			}
			if s.PicOrderCntType != 2 || s.MaxNumRefFrames != 1 || !s.FrameMbsOnlyFlag {
				t.Errorf("poc type %d, ref frames %d, frame_mbs_only %v", s.PicOrderCntType, s.MaxNumRefFrames, s.FrameMbsOnlyFlag)
			}
			if s.Log2MaxFrameNumMinus4 != log2MaxFrameNum-4 {
				t.Errorf("log2_max_frame_num_minus4 %d", s.Log2MaxFrameNumMinus4)
			}
			if tc.cropRight+tc.cropBot == 0 {
				if s.FrameCropping != nil {
					t.Errorf("unexpected cropping %+v", s.FrameCropping)
				}
			} else if s.FrameCropping == nil || s.FrameCropping.RightOffset != tc.cropRight || s.FrameCropping.BottomOffset != tc.cropBot {
				t.Errorf("cropping %+v, want right %d bottom %d", s.FrameCropping, tc.cropRight, tc.cropBot)
			}
			v := s.VUI
			if v == nil || v.TimingInfo == nil || v.BitstreamRestriction == nil {
				t.Fatalf("VUI incomplete: %+v", v)
			}
			if !v.TimingInfo.FixedFrameRateFlag ||
				v.TimingInfo.TimeScale != uint32(2*tc.cfg.FrameRateNum) ||
				v.TimingInfo.NumUnitsInTick != uint32(tc.cfg.FrameRateDen) {
				t.Errorf("timing %+v", v.TimingInfo)
			}
			if !v.VideoSignalTypePresentFlag || v.VideoFullRangeFlag || v.MatrixCoefficients != 6 {
				t.Errorf("video signal type: full range %v, matrix %d", v.VideoFullRangeFlag, v.MatrixCoefficients)
			}
			if br := v.BitstreamRestriction; br.MaxNumReorderFrames != 0 || br.MaxDecFrameBuffering != 1 {
				t.Errorf("bitstream restriction %+v", br)
			}
		})
	}
}

func TestPPS(t *testing.T) {
	e, err := New(testConfig(640, 360, 25, 1))
	if err != nil {
		t.Fatal(err)
	}
	raw := e.PPS()
	if raw[0] != 0x68 {
		t.Fatalf("NAL header %#x, want 0x68", raw[0])
	}
	r := bitReader{buf: h264.EmulationPreventionRemove(raw[1:])}
	fields := []struct {
		name string
		got  int64
		want int64
	}{
		{"pic_parameter_set_id", int64(r.ue()), 0},
		{"seq_parameter_set_id", int64(r.ue()), 0},
		{"entropy_coding_mode_flag", int64(r.bits(1)), 0},
		{"bottom_field_pic_order_in_frame_present_flag", int64(r.bits(1)), 0},
		{"num_slice_groups_minus1", int64(r.ue()), 0},
		{"num_ref_idx_l0_default_active_minus1", int64(r.ue()), 0},
		{"num_ref_idx_l1_default_active_minus1", int64(r.ue()), 0},
		{"weighted_pred_flag", int64(r.bits(1)), 0},
		{"weighted_bipred_idc", int64(r.bits(2)), 0},
		{"pic_init_qp_minus26", int64(r.se()), 0},
		{"pic_init_qs_minus26", int64(r.se()), 0},
		{"chroma_qp_index_offset", int64(r.se()), 0},
		{"deblocking_filter_control_present_flag", int64(r.bits(1)), 1},
		{"constrained_intra_pred_flag", int64(r.bits(1)), 0},
		{"redundant_pic_cnt_present_flag", int64(r.bits(1)), 0},
	}
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	if !r.trailing() {
		t.Error("PPS does not end with rbsp_trailing_bits")
	}
}

func TestParameterSetsAreCopies(t *testing.T) {
	e, err := New(testConfig(640, 360, 25, 1))
	if err != nil {
		t.Fatal(err)
	}
	sps := e.SPS()
	sps[1] = 0
	if bytes.Equal(e.SPS(), sps) {
		t.Fatal("SPS returns the encoder's own buffer")
	}
}

func TestChooseLevel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mbW, mbH int
		num, den int
		want     byte
	}{
		{"QCIF 15", 11, 9, 15, 1, 10},
		{"QCIF 30", 11, 9, 30, 1, 11},
		{"CIF 30", 22, 18, 30, 1, 13},
		{"360p 25", 40, 23, 25, 1, 30},
		{"360p 60", 40, 23, 60, 1, 31},
		{"720p 29.97", 80, 45, 30000, 1001, 31},
		{"720p 30", 80, 45, 30, 1, 31},
		{"720p 60", 80, 45, 60, 1, 32},
		{"1080p 30", 120, 68, 30, 1, 40},
		{"1080p 60", 120, 68, 60, 1, 42},
		{"wide strip", 256, 1, 25, 1, 40},
		{"beyond the table", 256, 256, 1000, 1, 62},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseLevel(tc.mbW, tc.mbH, tc.num, tc.den); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}
