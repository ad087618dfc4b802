package h264gen

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// sliceHeader holds the slice_header() fields this package writes.
type sliceHeader struct {
	refIdc, nalType byte
	firstMB         uint32
	sliceType       uint32
	ppsID           uint32
	frameNum        uint32
	idrPicID        uint32
	qpDelta         int32
	disableDeblock  uint32
}

// parseSliceHeader parses nal as written by writeSliceHeader and returns the
// reader positioned at slice_data().
func parseSliceHeader(t *testing.T, nal []byte) (sliceHeader, *bitReader) {
	t.Helper()
	h := sliceHeader{refIdc: nal[0] >> 5, nalType: nal[0] & 0x1F}
	r := &bitReader{buf: h264.EmulationPreventionRemove(nal[1:])}
	h.firstMB = r.ue()
	h.sliceType = r.ue()
	h.ppsID = r.ue()
	h.frameNum = r.bits(log2MaxFrameNum)
	idr := h.nalType == nalTypeIDR
	if idr {
		h.idrPicID = r.ue()
	}
	if h.sliceType%5 == 0 {
		if override, modification := r.flag(), r.flag(); override || modification {
			t.Fatal("num_ref_idx_active_override_flag or ref_pic_list_modification_flag_l0 set")
		}
	}
	if idr {
		if noOutput, longTerm := r.flag(), r.flag(); noOutput || longTerm {
			t.Fatal("no_output_of_prior_pics_flag or long_term_reference_flag set")
		}
	} else if r.flag() {
		t.Fatal("adaptive_ref_pic_marking_mode_flag set")
	}
	h.qpDelta = r.se()
	h.disableDeblock = r.ue()
	if r.err {
		t.Fatal("slice header truncated")
	}
	return h, r
}

// decodeIDR decodes an IDR slice of e with the subset of H.264 that IDR
// writes (I_PCM, and I_16x16_2_0_0 without residual, checking each
// coeff_token against the nC that 9.2.1 gives), and returns the coded
// picture's planes.
func decodeIDR(t *testing.T, e *Encoder, nal []byte) (y, cb, cr []byte) {
	t.Helper()
	h, r := parseSliceHeader(t, nal)
	if h.refIdc == 0 || h.nalType != nalTypeIDR || h.sliceType != sliceTypeI || h.firstMB != 0 ||
		h.frameNum != 0 || h.qpDelta != 0 || h.disableDeblock != 1 {
		t.Fatalf("IDR slice header %+v", h)
	}
	w, ht := 16*e.mbW, 16*e.mbH
	y = make([]byte, w*ht)
	cb = make([]byte, w*ht/4)
	cr = make([]byte, w*ht/4)
	isPCM := make([]bool, e.mbW*e.mbH)
	for mby := range e.mbH {
		for mbx := range e.mbW {
			mbType := r.ue()
			switch mbType {
			case mbTypeIPCM:
				isPCM[mby*e.mbW+mbx] = true
				for r.pos%8 != 0 {
					if r.bits(1) != 0 {
						t.Fatalf("mb %d,%d: pcm_alignment_zero_bit is 1", mbx, mby)
					}
				}
				for j := range 16 {
					for i := range 16 {
						y[(16*mby+j)*w+16*mbx+i] = byte(r.bits(8))
					}
				}
				for _, plane := range [][]byte{cb, cr} {
					for j := range 8 {
						for i := range 8 {
							plane[(8*mby+j)*w/2+8*mbx+i] = byte(r.bits(8))
						}
					}
				}
			case mbTypeI16x16DC:
				if r.ue() != 0 || r.se() != 0 {
					t.Fatalf("mb %d,%d: intra_chroma_pred_mode or mb_qp_delta not 0", mbx, mby)
				}
				nA, nB := -1, -1
				if mbx > 0 {
					nA = 0
					if isPCM[mby*e.mbW+mbx-1] {
						nA = 16
					}
				}
				if mby > 0 {
					nB = 0
					if isPCM[(mby-1)*e.mbW+mbx] {
						nB = 16
					}
				}
				nC := 0
				switch {
				case nA >= 0 && nB >= 0:
					nC = (nA + nB + 1) >> 1
				case nA >= 0:
					nC = nA
				case nB >= 0:
					nC = nB
				}
				// coeff_token of TotalCoeff 0, TrailingOnes 0 (Table 9-5).
				want := map[bool]string{true: "1", false: "000011"}[nC < 2]
				got := ""
				for range want {
					got += fmt.Sprint(r.bits(1))
				}
				if got != want {
					t.Fatalf("mb %d,%d: coeff_token %s, want %s for nC %d", mbx, mby, got, want, nC)
				}
				predictDC(y, w, 16, mbx, mby)
				predictDC(cb, w/2, 8, mbx, mby)
				predictDC(cr, w/2, 8, mbx, mby)
			default:
				t.Fatalf("mb %d,%d: mb_type %d", mbx, mby, mbType)
			}
			if r.err {
				t.Fatalf("mb %d,%d: slice data truncated", mbx, mby)
			}
		}
	}
	if !r.trailing() {
		t.Fatal("slice does not end with rbsp_slice_trailing_bits after the last macroblock")
	}
	return y, cb, cr
}

// predictDC fills the n x n block of macroblock mbx, mby in plane (stride
// samples a row) with DC prediction: Intra_16x16 for luma (n 16, ITU-T H.264
// 8.3.3.3), and per 4x4 block for chroma (n 8, 8.3.4.1 to 8.3.4.3).
func predictDC(plane []byte, stride, n, mbx, mby int) {
	x0, y0 := n*mbx, n*mby
	bs := n // prediction block size
	if n == 8 {
		bs = 4
	}
	for by := 0; by < n; by += bs {
		for bx := 0; bx < n; bx += bs {
			sumTop, sumLeft := 0, 0
			for i := range bs {
				if mby > 0 {
					sumTop += int(plane[(y0-1)*stride+x0+bx+i])
				}
				if mbx > 0 {
					sumLeft += int(plane[(y0+by+i)*stride+x0-1])
				}
			}
			top, left := mby > 0, mbx > 0
			useTop, useLeft := top, left
			if n == 8 {
				// Chroma: the top-right block prefers the row above, the
				// bottom-left one the column to the left.
				switch {
				case bx > 0 && by == 0 && top:
					useLeft = false
				case bx == 0 && by > 0 && left:
					useTop = false
				}
			}
			v := 128
			switch {
			case useTop && useLeft:
				v = (sumTop + sumLeft + bs) / (2 * bs)
			case useTop:
				v = (sumTop + bs/2) / bs
			case useLeft:
				v = (sumLeft + bs/2) / bs
			}
			for j := range bs {
				for i := range bs {
					plane[(y0+by+j)*stride+x0+bx+i] = byte(v)
				}
			}
		}
	}
}

// checkDecoded compares the decoded coded picture with what render drew.
func checkDecoded(t *testing.T, e *Encoder, lines []string, y, cb, cr []byte) {
	t.Helper()
	p := e.render(lines)
	w := 16 * e.mbW
	bad := 0
	for j := range 16 * e.mbH {
		for i := range w {
			if got, want := y[j*w+i], p.luma(i, j); got != want && bad < 5 {
				t.Errorf("luma %d,%d = %d, want %d", i, j, got, want)
				bad++
			}
			if i%2 == 0 && j%2 == 0 {
				k := j/2*w/2 + i/2
				if cb[k] != p.chroma(1, i/2, j/2) || cr[k] != p.chroma(2, i/2, j/2) {
					if bad < 5 {
						t.Errorf("chroma %d,%d = %d,%d, want %d,%d", i/2, j/2, cb[k], cr[k], p.chroma(1, i/2, j/2), p.chroma(2, i/2, j/2))
					}
					bad++
				}
			}
		}
	}
}

// idrCases are pictures that the pure-Go and the ffmpeg tests decode.
var idrCases = []struct {
	name  string
	cfg   Config
	lines []string
}{
	{"640x360 25", testConfig(640, 360, 25, 1), []string{"news-s01e02  00:01:24  f2100", "00:01:24.00 F2100", "The quick brown fox jumps over the lazy dog"}},
	{"1280x720 29.97", testConfig(1280, 720, 30000, 1001), []string{"movie-2024  01:59:59  f215784", "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}},
	{"176x144 odd crop", withScale(testConfig(176, 144, 25, 1), 3), []string{"qcif", "Ag_jy", "é\t?"}},
	{"350x202 cropped", testConfig(350, 202, 24000, 1001), []string{"cropped both ways", "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"}},
	{"many macroblocks", withScale(testConfig(320, 240, 25, 1), 4), []string{
		"@@@@@@@@@@@@@@", "##############", "MMMMMMMMMMMMMM", "WWWWWWWWWWWWWW", "88888888888888",
	}},
	{"coloured text", func() Config {
		c := testConfig(640, 360, 25, 1)
		c.Background = [3]byte{0, 0, 255} // clamped to 16, 16, 240
		c.Foreground = [3]byte{210, 16, 146}
		return c
	}(), []string{"Yellow on blue", "odd scale 3 mixes chroma"}},
	{"no text", testConfig(640, 360, 25, 1), nil},
	{"16x16", testConfig(16, 16, 25, 1), []string{"x"}},
}

func withScale(c Config, s int) Config {
	c.Scale = s
	return c
}

func TestIDRDecodesToRender(t *testing.T) {
	for _, tc := range idrCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			y, cb, cr := decodeIDR(t, e, e.IDR(0, tc.lines))
			checkDecoded(t, e, tc.lines, y, cb, cr)
		})
	}
}

func TestIDRPicID(t *testing.T) {
	e, err := New(testConfig(176, 144, 25, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   int
		want uint32
	}{{0, 0}, {1, 1}, {65535, 65535}, {65536, 0}, {70000, 4464}, {-1, 65535}} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			h, _ := parseSliceHeader(t, e.IDR(tc.in, nil))
			if h.idrPicID != tc.want {
				t.Fatalf("idr_pic_id %d, want %d", h.idrPicID, tc.want)
			}
		})
	}
}

func TestP(t *testing.T) {
	e, err := New(testConfig(1280, 720, 30000, 1001))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   int
		want uint32
	}{{1, 1}, {2, 2}, {255, 255}, {256, 0}, {300, 44}} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			nal := e.P(tc.in)
			h, r := parseSliceHeader(t, nal)
			if h.refIdc == 0 || h.nalType != nalTypeNonIDR || h.sliceType != sliceTypeP ||
				h.frameNum != tc.want || h.qpDelta != 0 || h.disableDeblock != 1 {
				t.Fatalf("P slice header %+v, want frame_num %d", h, tc.want)
			}
			if run := r.ue(); run != 80*45 {
				t.Fatalf("mb_skip_run %d, want %d", run, 80*45)
			}
			if !r.trailing() {
				t.Fatal("no rbsp_slice_trailing_bits after mb_skip_run")
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	tc := idrCases[0]
	a, err := New(tc.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(tc.cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := a.IDR(3, tc.lines)
	if got := b.IDR(3, tc.lines); !bytes.Equal(got, want) {
		t.Fatal("two encoders of one Config differ")
	}
	if !bytes.Equal(a.SPS(), b.SPS()) || !bytes.Equal(a.PPS(), b.PPS()) || !bytes.Equal(a.P(7), b.P(7)) {
		t.Fatal("parameter sets or P slices differ")
	}
	// Concurrent use gives the same bytes (and -race finds shared state).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if got := a.IDR(3, tc.lines); !bytes.Equal(got, want) {
				t.Error("concurrent IDR differs")
			}
		})
	}
	wg.Wait()
}

func TestIDRSize(t *testing.T) {
	e, err := New(testConfig(640, 360, 25, 1))
	if err != nil {
		t.Fatal(err)
	}
	flat := len(e.IDR(0, nil))
	t.Logf("640x360 without text: %d bytes", flat)
	if flat > 2000 {
		t.Errorf("640x360 without text: %d bytes, want at most 2000", flat)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		max   int
	}{
		{"two lines", []string{"news-s01e02", "00:01:24.00 F2100"}, 40_000},
		{"three lines", []string{"news-s01e02", "00:01:24.00 F2100", "slate"}, 40_000},
		{"three long lines", idrCases[0].lines, 80_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nal := e.IDR(0, tc.lines)
			pcm := countTrue(e.pcmMacroblocks(e.render(tc.lines)))
			t.Logf("%d bytes, %d I_PCM macroblocks", len(nal), pcm)
			// Each I_PCM macroblock costs its 384 samples and a few bits.
			if len(nal) > flat+pcm*390 {
				t.Errorf("%d bytes, more than %d for the flat picture and %d I_PCM macroblocks", len(nal), flat, pcm)
			}
			if len(nal) > tc.max {
				t.Errorf("%d bytes, want at most %d", len(nal), tc.max)
			}
		})
	}
}

func TestAutoScaleAndLayout(t *testing.T) {
	for _, tc := range []struct {
		w, h       int
		scale      int
		cols, rows int
	}{
		{640, 360, 3, 35, 11},
		{1280, 720, 6, 35, 12},
		{1920, 1080, 10, 31, 10},
		{176, 144, 2, 14, 7},
		{16, 16, 2, 0, 0},
		{4096, 4096, 21, 32, 19},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			s := autoScale(tc.w, tc.h)
			l := newLayout(tc.w, tc.h, s)
			if s != tc.scale || l.cols != tc.cols || l.rows != tc.rows {
				t.Fatalf("scale %d, %d columns, %d rows; want %d, %d, %d", s, l.cols, l.rows, tc.scale, tc.cols, tc.rows)
			}
			if tc.cols >= 32 && tc.rows < 6 {
				t.Fatal("6 lines of 32 characters do not fit")
			}
		})
	}
}

func TestRenderCutsLines(t *testing.T) {
	e, err := New(testConfig(176, 144, 25, 1))
	if err != nil {
		t.Fatal(err)
	}
	l := e.layout
	lines := make([]string, l.rows+1)
	lines[0] = strings.Repeat("M", l.cols+5)
	lines[l.rows] = "one line too many"
	p := e.render(lines)
	// Beyond the last whole character of line 0, and below it, there is no
	// ink: the other lines are empty and the last one does not fit.
	xCut := l.x0 + l.cols*cellW*l.scale
	yCut := l.y0 + cellH*l.scale
	for y := range 16 * e.mbH {
		for x := range p.w {
			if (x >= xCut || y >= yCut) && p.luma(x, y) != e.bg[0] {
				t.Fatalf("ink at %d,%d", x, y)
			}
		}
	}
	// The last whole character is drawn: 'M' has ink in its last column.
	if x := xCut - cellW*l.scale + (glyphW-1)*l.scale; p.luma(x, l.y0) != e.fg[0] {
		t.Fatalf("no ink at %d,%d", x, l.y0)
	}
}

func TestPCMMacroblocks(t *testing.T) {
	e, err := New(withScale(testConfig(64, 64, 25, 1), 2))
	if err != nil {
		t.Fatal(err)
	}
	// x0 = y0 = 8 at scale 2, so glyph column gx covers x = 8+2gx, 9+2gx and
	// glyph row gy covers y = 8+2gy, 9+2gy.
	for _, tc := range []struct {
		name  string
		lines []string
		want  []int // I_PCM macroblocks in raster order (4x4 of them)
	}{
		{"empty", nil, []int{0}},
		{"bar inside the first macroblock column", []string{"|"}, []int{0, 4}},
		{"underscore only below the first row", []string{"_"}, []int{0, 4, 5}},
		{"dot inside the second macroblock", []string{" ."}, []int{0, 5}},
		{"ink on the right column pulls in the right neighbours", []string{"("}, []int{0, 1, 4, 5}},
		{"ink on the bottom row pulls in the ones below", []string{"-"}, []int{0, 1, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm := e.pcmMacroblocks(e.render(tc.lines))
			var got []int
			for i, v := range pcm {
				if v {
					got = append(got, i)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("I_PCM macroblocks %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkIDR(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"640x360", testConfig(640, 360, 25, 1)},
		{"1280x720", testConfig(1280, 720, 30000, 1001)},
		{"1920x1080", testConfig(1920, 1080, 25, 1)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := New(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			lines := []string{"news-s01e02  00:01:24  f2100", "00:01:24.00 F2100"}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.SetBytes(int64(len(e.IDR(i, lines))))
			}
		})
	}
}
