package h264gen

// layout places text lines on the picture: character cells of
// cellW x cellH font pixels, scale x scale luma samples each, from (x0, y0).
type layout struct {
	scale  int
	x0, y0 int
	cols   int // characters that fit on a line
	rows   int // lines that fit on the picture
}

// autoScale returns the largest font scale at which 6 lines of 32
// characters fit on a width x height picture, at least 2.
func autoScale(width, height int) int {
	return max(2, min(width/(32*cellW), height/(6*cellH)))
}

// newLayout returns the layout of a width x height picture: a margin of 8
// samples or two font pixels, whichever is larger, then as many whole
// character cells as fit.
func newLayout(width, height, scale int) layout {
	l := layout{scale: scale}
	l.x0 = max(8, 2*scale)
	l.y0 = l.x0
	if w := width - l.x0 - glyphW*scale; w >= 0 {
		l.cols = w/(cellW*scale) + 1
	}
	if h := height - l.y0 - glyphH*scale; h >= 0 {
		l.rows = h/(cellH*scale) + 1
	}
	return l
}

// picture holds the samples of the top rows of a coded picture, in 4:2:0:
// the rows that text touches, rounded up to whole macroblocks. Every sample
// below them is the background.
type picture struct {
	w, h   int // luma samples: the coded width, and the rows held
	y      []byte
	cb, cr []byte // (w/2) x (h/2)
	bg     [3]byte
}

// luma returns the luma sample at x, y of the coded picture.
func (p *picture) luma(x, y int) byte {
	if y >= p.h {
		return p.bg[0]
	}
	return p.y[y*p.w+x]
}

// chroma returns the sample at x, y of the Cb (c = 1) or Cr (c = 2) plane of
// the coded picture.
func (p *picture) chroma(c, x, y int) byte {
	if 2*y >= p.h {
		return p.bg[c]
	}
	if c == 1 {
		return p.cb[y*(p.w/2)+x]
	}
	return p.cr[y*(p.w/2)+x]
}

// render draws lines on the background, each cut to the characters that fit
// whole, and drops lines that do not fit. Luma samples are the background or
// the foreground; a chroma sample mixes the two colours in proportion to the
// ink in its 2x2 luma samples, rounded.
func (e *Encoder) render(lines []string) *picture {
	l := e.layout
	s := l.scale
	n := min(len(lines), l.rows)
	h := 16
	if n > 0 {
		bottom := l.y0 + (n-1)*cellH*s + glyphH*s
		h = max(h, (bottom+15)/16*16)
	}
	h = min(h, 16*e.mbH)
	p := &picture{
		w:  16 * e.mbW,
		h:  h,
		y:  make([]byte, 16*e.mbW*h),
		cb: make([]byte, 16*e.mbW*h/4),
		cr: make([]byte, 16*e.mbW*h/4),
		bg: e.bg,
	}

	fill(p.y, e.bg[0])
	fill(p.cb, e.bg[1])
	fill(p.cr, e.bg[2])
	ink := make([]bool, len(p.y))
	for li, line := range lines[:n] {
		top := l.y0 + li*cellH*s
		col := 0
		for _, r := range line {
			if col >= l.cols {
				break
			}
			g := glyphFor(r)
			left := l.x0 + col*cellW*s
			for gy := range glyphH {
				if g[gy] == 0 {
					continue
				}
				for gx := range glyphW {
					if !g.ink(gx, gy) {
						continue
					}
					for y := top + gy*s; y < top+(gy+1)*s; y++ {
						for x := left + gx*s; x < left+(gx+1)*s; x++ {
							ink[y*p.w+x] = true
							p.y[y*p.w+x] = e.fg[0]
						}
					}
				}
			}
			col++
		}
	}

	cw := p.w / 2
	for cy := range h / 2 {
		for cx := range cw {
			k := 2*cy*p.w + 2*cx
			cov := b2i(ink[k]) + b2i(ink[k+1]) + b2i(ink[k+p.w]) + b2i(ink[k+p.w+1])
			if cov != 0 {
				p.cb[cy*cw+cx] = mix(e.bg[1], e.fg[1], cov)
				p.cr[cy*cw+cx] = mix(e.bg[2], e.fg[2], cov)
			}
		}
	}
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fill sets every byte of b to v.
func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// mix returns bg and fg blended in the ratio (4-cov):cov, rounded.
func mix(bg, fg byte, cov int) byte {
	return byte((int(bg)*(4-cov) + int(fg)*cov + 2) / 4)
}
