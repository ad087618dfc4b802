package h264gen

import "testing"

func TestFontCoversPrintableASCII(t *testing.T) {
	seen := map[glyph]rune{}
	for c := rune(0); c < rune(len(glyphArt)); c++ {
		art := glyphArt[c]
		if c < firstGlyph {
			if art != "" {
				t.Errorf("%#x: control characters are not in the font", c)
			}
			continue
		}
		g, ok := parseGlyph(art)
		if !ok {
			t.Errorf("%q: malformed art %q", c, art)
			continue
		}
		if g != *glyphFor(c) {
			t.Errorf("%q: glyphFor differs from the art", c)
		}
		if c == ' ' {
			if g != (glyph{}) {
				t.Error("space has ink")
			}
			continue
		}
		if g == (glyph{}) {
			t.Errorf("%q: no ink", c)
		}
		if g == boxGlyph {
			t.Errorf("%q: looks like the box for unknown characters", c)
		}
		if other, dup := seen[g]; dup {
			t.Errorf("%q and %q look the same", other, c)
		}
		seen[g] = c
	}
	if len(seen) != lastGlyph-firstGlyph {
		t.Errorf("%d distinct glyphs besides space, want %d", len(seen), lastGlyph-firstGlyph)
	}
}

func TestGlyphFor(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want *glyph
	}{
		{'A', &font['A'-firstGlyph]},
		{'~', &font['~'-firstGlyph]},
		{'\t', &boxGlyph},
		{0x7F, &boxGlyph},
		{'é', &boxGlyph},
		{'\uFFFD', &boxGlyph},
	} {
		t.Run(string(tc.r), func(t *testing.T) {
			if got := glyphFor(tc.r); got != tc.want {
				t.Fatalf("glyphFor(%q) = %v, want %v", tc.r, *got, *tc.want)
			}
		})
	}
}

func TestParseGlyph(t *testing.T) {
	for _, tc := range []struct {
		name string
		art  string
		want glyph
		ok   bool
	}{
		{"blank", "", glyph{}, true},
		{"corners", "#...# ..... ..... ..... ..... ..... ..... #...#", glyph{0x11, 0, 0, 0, 0, 0, 0, 0x11}, true},
		{"short rows", "#", glyph{}, false},
		{"too many rows", "..... ..... ..... ..... ..... ..... ..... ..... .....", glyph{}, false},
		{"bad character", "..x..", glyph{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseGlyph(tc.art)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
