package api

import (
	"net/http"
	"time"

	"onair/engine"
)

// channelJSON is a channel in the status API.
type channelJSON struct {
	engine.Status
	URLs map[string]string `json:"urls"`
	// Viewers counts the channel's viewers per output; ViewersTotal adds them up.
	Viewers      map[string]int `json:"viewers"`
	ViewersTotal int            `json:"viewers_total"`
	// Override is the channel's emergency override, while it is on.
	Override *engine.OverrideStatus `json:"override,omitempty"`
	// Outputs is what outputs say of the channel (WebRTC audio, ...).
	Outputs map[string]any `json:"outputs,omitempty"`
}

func (s *Server) channelStatus(r *http.Request, c *engine.Channel) channelJSON {
	id := c.ID()
	base := BaseURL(r)
	out := channelJSON{
		Status: c.Status(s.cfg.Clock.Now()),
		URLs: map[string]string{
			"hls":    base + "/channels/" + id + "/master.m3u8",
			"hls_ts": base + "/channels/" + id + "/index.m3u8",
		},
		Viewers: map[string]int{},
	}
	if s.cfg.URLs != nil {
		for k, v := range s.cfg.URLs(base, id) {
			out.URLs[k] = v
		}
	}
	if s.cfg.Outputs != nil {
		out.Outputs = s.cfg.Outputs(id)
	}
	if ov, ok := c.Override(); ok {
		out.Override = &ov
	}
	if s.cfg.Viewers != nil {
		for k, n := range s.cfg.Viewers(id) {
			out.Viewers[k] = n
			out.ViewersTotal += n
		}
	}
	return out
}

// listChannels answers GET /api/v1/channels: every channel's status.
func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	out := []channelJSON{}
	if s.cfg.Channels != nil {
		for _, c := range s.cfg.Channels.List() {
			out = append(out, s.channelStatus(r, c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": out})
}

// getChannel answers GET /api/v1/channels/{id}.
func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.channel(w, r); ok {
		writeJSON(w, http.StatusOK, s.channelStatus(r, c))
	}
}

// time answers GET /api/v1/time with the server's clock (for players' clock sync).
func (s *Server) time(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write([]byte(s.cfg.Clock.Now().UTC().Format(time.RFC3339Nano) + "\n"))
}

// BaseURL is the scheme and host a client used, honouring X-Forwarded-Proto
// and X-Forwarded-Host (a forwarded host with characters that could break a
// URL is ignored; an unusable Host becomes localhost): the base of every
// absolute URL the server hands out.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && validHost(h) {
		host = h
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// validHost accepts a host[:port] without characters that could break a URL.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'
		if !ok {
			return false
		}
	}
	return true
}
