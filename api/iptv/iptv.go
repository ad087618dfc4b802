// Package iptv serves what IPTV players and media servers read of onair: the
// M3U playlist (/iptv/channels.m3u), the XMLTV guide (/iptv/xmltv.xml), the
// guide as JSON for the web app (/api/v1/guide), the channel logos, and an
// HDHomeRun tuner emulation (/discover.json, /lineup.json,
// /lineup_status.json, /device.xml) so that Plex, Jellyfin and Emby add onair
// as a network tuner. Tuners limits the channels streamed at once as
// continuous TS to the tuner count the emulation announces.
package iptv

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"onair/api"
	"onair/engine"
	"onair/library"
)

// Channel is what the IPTV endpoints need of a channel.
type Channel interface {
	Config() engine.ChannelConfig
	Upcoming(ctx context.Context, from, until time.Time) ([]engine.Playing, error)
}

// Assets gives a library asset by id (for the guide's metadata).
type Assets interface {
	Get(ctx context.Context, id int64) (library.Asset, error)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Config configures the IPTV endpoints.
type Config struct {
	// Channels lists the channels, in any order (they are sorted by number).
	Channels func() []Channel
	Assets   Assets
	Clock    Clock
	Logger   *slog.Logger
	// GuideHours is how far ahead the XMLTV guide reaches. Defaults to 48.
	GuideHours int
	// LogoDir resolves channel logos given as relative paths (the channels
	// directory).
	LogoDir string
	// Tuners is the tuner count the HDHomeRun emulation announces; nil
	// announces DefaultTuners.
	Tuners *Tuners
	// FriendlyName is the HDHomeRun device name. Defaults to "onair".
	FriendlyName string
	// DeviceID is the HDHomeRun device id (8 hex digits). Defaults to one
	// derived from FriendlyName (see DeviceID).
	DeviceID string
	// Version is the firmware version announced.
	Version string
}

// MaxGuideHours bounds the guide's reach.
const MaxGuideHours = 14 * 24

// Handler serves the IPTV routes.
type Handler struct {
	cfg Config
}

// New returns the IPTV handler of cfg.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GuideHours <= 0 {
		cfg.GuideHours = 48
	}
	cfg.GuideHours = min(cfg.GuideHours, MaxGuideHours)
	if cfg.FriendlyName == "" {
		cfg.FriendlyName = "onair"
	}
	if !validDeviceID(cfg.DeviceID) {
		cfg.DeviceID = DeviceID(cfg.FriendlyName)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Channels == nil {
		cfg.Channels = func() []Channel { return nil }
	}
	return &Handler{cfg: cfg}
}

// Register adds the IPTV routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /iptv/channels.m3u", h.m3u)
	mux.HandleFunc("GET /iptv/xmltv.xml", h.xmltv)
	mux.HandleFunc("GET /iptv/logos/{file}", h.logo)
	mux.HandleFunc("GET /api/v1/guide", h.guideJSON)
	mux.HandleFunc("GET /discover.json", h.discover)
	mux.HandleFunc("GET /lineup.json", h.lineup)
	mux.HandleFunc("GET /lineup_status.json", h.lineupStatus)
	mux.HandleFunc("POST /lineup.post", h.lineupPost)
	mux.HandleFunc("GET /device.xml", h.deviceXML)
}

// channels returns the channels sorted by number (numerically where they are
// numbers, "4.1" before "10"), then id.
func (h *Handler) channels() []Channel {
	cs := h.cfg.Channels()
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].Config(), cs[j].Config()
		if c := compareNumbers(a.Number, b.Number); c != 0 {
			return c < 0
		}
		return a.ID < b.ID
	})
	return cs
}

// compareNumbers orders channel numbers like "4.1", "10", "101" numerically
// part by part, falling back to text.
func compareNumbers(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		if digits(x) && digits(y) {
			x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				return len(x) - len(y)
			}
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TVGID is a channel's stable guide id, the same in the M3U (tvg-id) and the
// XMLTV (channel id): the channel id with characters outside [A-Za-z0-9-]
// replaced by '-', and ".onair" appended (XMLTV ids look like domain names).
func TVGID(id string) string {
	var b strings.Builder
	for _, c := range id {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		b.WriteString("channel")
	}
	return b.String() + ".onair"
}

// DeviceID derives a stable HDHomeRun device id (8 hex digits, with the
// checksum nibble libhdhomerun's hdhomerun_discover_validate_device_id
// checks) from seed.
func DeviceID(seed string) string {
	f := fnv.New32a()
	_, _ = f.Write([]byte(seed))
	id := f.Sum32() &^ 0xF
	// The device id is valid when the XOR of its nibbles, every other one
	// through a lookup table, is 0; the last nibble enters plainly.
	table := [16]uint32{0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0}
	var sum uint32
	sum ^= table[(id>>28)&0xF]
	sum ^= (id >> 24) & 0xF
	sum ^= table[(id>>20)&0xF]
	sum ^= (id >> 16) & 0xF
	sum ^= table[(id>>12)&0xF]
	sum ^= (id >> 8) & 0xF
	sum ^= table[(id>>4)&0xF]
	return fmt.Sprintf("%08X", id|sum)
}

// validDeviceID reports whether id is 8 hex digits.
func validDeviceID(id string) bool {
	if len(id) != 8 {
		return false
	}
	for _, c := range id {
		hex := c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
		if !hex {
			return false
		}
	}
	return true
}

// EngineChannels adapts the engine's channel manager to Config.Channels.
func EngineChannels(m interface{ List() []*engine.Channel }) func() []Channel {
	return func() []Channel {
		cs := m.List()
		out := make([]Channel, len(cs))
		for i, c := range cs {
			out[i] = c
		}
		return out
	}
}

// baseURL is the base of absolute URLs, by the api package's rule.
var baseURL = api.BaseURL

// channelPath escapes a channel id for a URL path.
func channelPath(id string) string { return url.PathEscape(id) }

// checkQuery answers 400 when r has a query parameter not in allowed.
func checkQuery(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	if len(r.URL.RawQuery) > 1024 {
		httpError(w, http.StatusBadRequest, "query string too long")
		return false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		httpError(w, http.StatusBadRequest, "bad query string: "+err.Error())
		return false
	}
next:
	for k := range q {
		for _, a := range allowed {
			if k == a {
				continue next
			}
		}
		msg := "unknown query parameter " + k
		if len(allowed) > 0 {
			msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
		}
		httpError(w, http.StatusBadRequest, msg)
		return false
	}
	return true
}

// httpError answers with a plain-text message.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}
