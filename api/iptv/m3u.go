package iptv

import (
	"net/http"
	"strings"
)

// m3u answers GET /iptv/channels.m3u[?format=hls|ts]: an extended M3U
// playlist of every channel, as IPTV players (TiviMate, Kodi's IPTV Simple,
// VLC, Jellyfin's M3U tuner) read it. The header names the XMLTV guide
// (url-tvg and x-tvg-url); each entry has tvg-id (the XMLTV channel id),
// tvg-name, tvg-logo, tvg-chno and group-title, and the channel's URL: the
// HLS multivariant playlist, or with ?format=ts the continuous MPEG-TS
// stream. URLs are absolute, from the Host (or X-Forwarded-Host) and
// X-Forwarded-Proto the client used.
func (h *Handler) m3u(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r, "format") {
		return
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "hls", "ts":
	default:
		httpError(w, http.StatusBadRequest, "format must be hls (default) or ts")
		return
	}
	base := baseURL(r)
	guide := base + "/iptv/xmltv.xml"
	var b strings.Builder
	b.WriteString(`#EXTM3U url-tvg="` + guide + `" x-tvg-url="` + guide + `"` + "\n")
	for _, ch := range h.channels() {
		cfg := ch.Config()
		u := base + "/channels/" + channelPath(cfg.ID) + "/master.m3u8"
		if format == "ts" {
			u = base + "/channels/" + channelPath(cfg.ID) + ".ts"
		}
		b.WriteString(`#EXTINF:-1 tvg-id="` + attr(TVGID(cfg.ID)) + `" tvg-name="` + attr(cfg.Name) +
			`" tvg-logo="` + attr(h.logoURL(base, cfg)) + `" tvg-chno="` + attr(cfg.Number) +
			`" group-title="` + attr(cfg.Group) + `",` + line(cfg.Name) + "\n")
		b.WriteString(u + "\n")
	}
	w.Header().Set("Content-Type", "audio/x-mpegurl; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="channels.m3u"`)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write([]byte(b.String()))
}

// attr makes s safe inside a double-quoted M3U attribute: there is no escape
// in the format, so quotes become apostrophes and line breaks spaces.
func attr(s string) string {
	return strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(s)
}

// line makes s safe as the title after #EXTINF's comma.
func line(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
