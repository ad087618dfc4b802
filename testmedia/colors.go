package testmedia

// Colours are computed with integers only, so that the same seed gives the
// same bytes on every architecture (floating point may be fused differently).

// SlateGrey is the neutral grey of the slate, as Y, Cb, Cr.
var SlateGrey = [3]byte{104, 128, 128}

// Foregrounds used for text: white and black in BT.601 limited range.
var (
	textWhite = [3]byte{235, 128, 128}
	textBlack = [3]byte{16, 128, 128}
)

// SeedColor returns the background colour that seed picks when
// Options.Background is nil: a mid-bright, moderately saturated hue, so that
// white or black text stays readable on it.
func SeedColor(seed int64) [3]byte {
	h := splitmix64(uint64(seed))
	hue := int(h % 360)
	sat := 45 + int(h>>16%31) // percent
	val := 45 + int(h>>32%26) // percent
	return rgbToYCbCr(hsvToRGB(hue, sat, val))
}

// paletteColor returns colour i of a palette whose entries are all distinct
// for i below 360: hues step by the golden angle (137.5 degrees) and the
// brightness cycles through three levels.
func paletteColor(i int) [3]byte {
	hue := (i*275/2 + 20) % 360
	val := []int{62, 50, 72}[i%3]
	sat := []int{60, 70, 50}[(i/3)%3]
	return rgbToYCbCr(hsvToRGB(hue, sat, val))
}

// foregroundFor returns white or black, whichever reads better on bg.
func foregroundFor(bg [3]byte) [3]byte {
	if bg[0] >= 150 {
		return textBlack
	}
	return textWhite
}

// hsvToRGB converts hue in degrees (0-359), saturation and value in percent
// to 8-bit R, G, B.
func hsvToRGB(hue, sat, val int) (r, g, b int) {
	v := val * 255 / 100
	c := v * sat / 100 // chroma
	// x = c * (1 - |hue/60 mod 2 - 1|), in integers.
	hm := hue % 120
	x := c * (60 - abs(hm-60)) / 60
	m := v - c
	switch hue / 60 {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return r + m, g + m, b + m
}

// rgbToYCbCr converts full-range 8-bit RGB to BT.601 limited-range Y, Cb, Cr.
// Specification: ITU-R BT.601-7, 2.5.3 (8-bit integer approximation).
func rgbToYCbCr(r, g, b int) [3]byte {
	y := ((66*r+129*g+25*b+128)>>8 + 16)
	cb := ((-38*r-74*g+112*b+128)>>8 + 128)
	cr := ((112*r-94*g-18*b+128)>>8 + 128)
	return [3]byte{clampByte(y, 16, 235), clampByte(cb, 16, 240), clampByte(cr, 16, 240)}
}

func clampByte(v, lo, hi int) byte {
	return byte(min(max(v, lo), hi))
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// splitmix64 is a fixed, well-mixed hash of a 64-bit value.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
