package iptv

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"onair/engine"
)

// maxLogoSize bounds a logo file served from disk.
const maxLogoSize = 4 << 20

// logoExts are the image types a logo file may have.
var logoExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".svg": true, ".webp": true, ".gif": true}

// remoteLogo reports whether a channel's logo is a URL (served as it is).
func remoteLogo(logo string) bool {
	u, err := url.Parse(logo)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// logoURL is where players get a channel's logo: the channel file's URL, or
// /iptv/logos/{id}{ext} (the file, or a generated PNG when there is none).
func (h *Handler) logoURL(base string, cfg engine.ChannelConfig) string {
	if remoteLogo(cfg.Logo) {
		return cfg.Logo
	}
	ext := ".png"
	if cfg.Logo != "" {
		if e := strings.ToLower(filepath.Ext(cfg.Logo)); logoExts[e] {
			ext = e
		}
	}
	return base + "/iptv/logos/" + channelPath(cfg.ID) + ext
}

// logoPath resolves a channel's logo file, "" when it has none.
func (h *Handler) logoPath(logo string) string {
	if logo == "" || remoteLogo(logo) {
		return ""
	}
	if !logoExts[strings.ToLower(filepath.Ext(logo))] {
		return ""
	}
	if !filepath.IsAbs(logo) {
		logo = filepath.Join(h.cfg.LogoDir, logo)
	}
	return filepath.Clean(logo)
}

// logo answers GET /iptv/logos/{id}.{ext}: the channel's logo file, a
// redirect to its logo URL, or a generated logo (the channel's number and
// name on a colour of its own) when it has none or the file is unreadable.
func (h *Handler) logo(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ext := filepath.Ext(file)
	id := strings.TrimSuffix(file, ext)
	var cfg *engine.ChannelConfig
	for _, ch := range h.cfg.Channels() {
		if c := ch.Config(); c.ID == id {
			cfg = &c
			break
		}
	}
	if cfg == nil {
		httpError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(id))
		return
	}
	if remoteLogo(cfg.Logo) {
		http.Redirect(w, r, cfg.Logo, http.StatusFound)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if p := h.logoPath(cfg.Logo); p != "" {
		if f, err := os.Open(p); err == nil {
			defer f.Close()
			if st, serr := f.Stat(); serr == nil && st.Mode().IsRegular() && st.Size() <= maxLogoSize {
				w.Header().Set("Content-Type", mime.TypeByExtension(strings.ToLower(filepath.Ext(p))))
				http.ServeContent(w, r, "", st.ModTime(), f)
				return
			}
		} else {
			h.cfg.Logger.Warn("channel logo unreadable: a generated logo is served", "channel", id, "err", err)
		}
	}
	b := defaultLogo(cfg.ID, cfg.Number, cfg.Name)
	w.Header().Set("Content-Type", "image/png")
	http.ServeContent(w, r, "", h.cfg.Clock.Now().Truncate(24*3600e9), bytes.NewReader(b))
}

// Logo sizes: players show logos at 16:9 or square; 16:9 crops least.
const (
	logoW = 320
	logoH = 180
)

// defaultLogo draws a channel's generated logo: its number large and its
// name below, in white on a colour derived from its id.
func defaultLogo(id, number, name string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, logoW, logoH))
	f := fnv.New32a()
	_, _ = io.WriteString(f, id)
	bg := hueColor(float64(f.Sum32()%360), 0.55, 0.38)
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, 255
	}
	white := color.RGBA{255, 255, 255, 255}
	num := strings.ToUpper(number)
	if num == "" {
		num = strings.ToUpper(id)
	}
	// The number as large as fits 90% of the width and 40% of the height;
	// the name below it, fitted to the width (cut when it cannot fit at
	// scale 2); the two centred together.
	scale := max(1, min(logoW*9/10/textWidth(num, 1), logoH*2/5/glyphH))
	label := strings.ToUpper(name)
	s := min(4, logoW*9/10/max(textWidth(label, 1), 1))
	for s < 2 && len(label) > 1 {
		label = label[:len(label)-1]
		s = min(4, logoW*9/10/max(textWidth(label, 1), 1))
	}
	gap := 4 * scale / 3
	top := (logoH - glyphH*scale - gap - glyphH*s) / 2
	drawText(img, num, (logoW-textWidth(num, scale))/2, top, scale, white)
	drawText(img, label, (logoW-textWidth(label, s))/2, top+glyphH*scale+gap, s, white)
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// hueColor converts a hue (degrees), saturation and lightness to RGB.
func hueColor(h, s, l float64) color.RGBA {
	c := (1 - abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - abs(mod2(hp)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	return color.RGBA{uint8((r + m) * 255), uint8((g + m) * 255), uint8((b + m) * 255), 255}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func mod2(v float64) float64 {
	for v >= 2 {
		v -= 2
	}
	return v
}

// A 5x7 pixel font of what channel numbers and names use; other characters
// draw as blanks.
const (
	glyphW = 5
	glyphH = 7
)

var glyphs = map[rune][glyphH]string{
	'0':  {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1':  {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2':  {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3':  {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4':  {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5':  {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6':  {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7':  {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8':  {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9':  {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'A':  {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B':  {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C':  {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D':  {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."},
	'E':  {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F':  {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G':  {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
	'H':  {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I':  {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J':  {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K':  {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L':  {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M':  {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N':  {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O':  {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P':  {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q':  {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R':  {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S':  {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T':  {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U':  {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V':  {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W':  {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X':  {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y':  {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z':  {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'.':  {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	'-':  {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'&':  {".##..", "#..#.", "#.#..", ".#...", "#.#.#", "#..#.", ".##.#"},
	'!':  {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."},
	'\'': {"..#..", "..#..", ".#...", ".....", ".....", ".....", "....."},
}

// textWidth is the width of s drawn at scale (one blank column between glyphs).
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*(glyphW+1) - 1) * scale
}

func drawText(img *image.RGBA, s string, x, y, scale int, c color.RGBA) {
	for _, ch := range s {
		if g, ok := glyphs[ch]; ok {
			for row := range glyphH {
				for col := range glyphW {
					if g[row][col] != '#' {
						continue
					}
					for dy := range scale {
						for dx := range scale {
							img.SetRGBA(x+col*scale+dx, y+row*scale+dy, c)
						}
					}
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}
