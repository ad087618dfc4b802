package testmedia

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRGBToYCbCr(t *testing.T) {
	for _, ca := range []struct {
		name    string
		r, g, b int
		want    [3]byte
	}{
		{"black", 0, 0, 0, [3]byte{16, 128, 128}},
		{"white", 255, 255, 255, [3]byte{235, 128, 128}},
		{"red", 255, 0, 0, [3]byte{82, 90, 240}},
		{"green", 0, 255, 0, [3]byte{144, 54, 34}},
		{"blue", 0, 0, 255, [3]byte{41, 240, 110}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			require.Equal(t, ca.want, rgbToYCbCr(ca.r, ca.g, ca.b))
		})
	}
}

func TestHSVToRGB(t *testing.T) {
	for _, ca := range []struct {
		h, s, v int
		r, g, b int
	}{
		{0, 100, 100, 255, 0, 0},
		{120, 100, 100, 0, 255, 0},
		{240, 100, 100, 0, 0, 255},
		{60, 100, 100, 255, 255, 0},
		{0, 0, 50, 127, 127, 127},
	} {
		r, g, b := hsvToRGB(ca.h, ca.s, ca.v)
		require.Equal(t, [3]int{ca.r, ca.g, ca.b}, [3]int{r, g, b}, "hsv %d %d %d", ca.h, ca.s, ca.v)
	}
}

func TestSeedColor(t *testing.T) {
	seen := map[[3]byte]bool{}
	for seed := int64(-50); seed < 50; seed++ {
		c := SeedColor(seed)
		require.Equal(t, c, SeedColor(seed))
		require.GreaterOrEqual(t, c[0], byte(16))
		require.LessOrEqual(t, c[0], byte(235))
		seen[c] = true
	}
	require.Greater(t, len(seen), 90, "seeds spread over many colours")
}

func TestPaletteDistinct(t *testing.T) {
	seen := map[[3]byte]int{}
	for i := range 64 {
		c := paletteColor(i)
		j, dup := seen[c]
		require.False(t, dup, "palette colours %d and %d are both %v", i, j, c)
		seen[c] = i
	}
}

func TestForeground(t *testing.T) {
	require.Equal(t, textWhite, foregroundFor(SlateGrey))
	require.Equal(t, textBlack, foregroundFor([3]byte{200, 128, 128}))
}
