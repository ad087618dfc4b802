// Package api serves onair's HTTP interface: health and readiness, the REST API
// under /api/v1, and (later) the IPTV endpoints and the web app.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"onair/engine"
	"onair/library"
)

// Library is what the API needs of the media library.
type Library interface {
	List(ctx context.Context, f library.Filter) ([]library.Asset, error)
}

// Channels is what the API needs of the engine's channels.
type Channels interface {
	List() []*engine.Channel
	Get(id string) (*engine.Channel, bool)
}

// Clock tells the API the time.
type Clock interface{ Now() time.Time }

// Config wires the API to the rest of the server.
type Config struct {
	Library  Library
	Channels Channels
	Clock    Clock
	Logger   *slog.Logger
	// Routes registers more routes (the outputs) on the server's mux.
	Routes []func(*http.ServeMux)
	// Viewers, when set, counts a channel's viewers per output ("hls", ...).
	Viewers func(id string) map[string]int
	// URLs, when set, adds a channel's URLs of more outputs to its status.
	URLs func(base, id string) map[string]string
	// Outputs, when set, adds what outputs say of a channel to its status
	// ("outputs": {"webrtc": {"audio": false, ...}}).
	Outputs func(id string) map[string]any
	// AdminToken guards the admin routes (overrides): requests need
	// "Authorization: Bearer AdminToken". Empty: loopback clients only.
	AdminToken string
}

// Server is the HTTP handler. Its zero readiness is "not ready": call SetReady
// once the library has been scanned and the database is open.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	ready atomic.Pointer[string] // nil when ready, else the reason it is not
}

// New returns a Server; it is not ready until SetReady(true, "").
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.SetReady(false, "starting")
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /api/v1/library", s.listLibrary)
	s.mux.HandleFunc("GET /api/v1/channels", s.listChannels)
	s.mux.HandleFunc("GET /api/v1/channels/{id}", s.getChannel)
	s.mux.HandleFunc("GET /api/v1/time", s.time)
	s.mux.HandleFunc("POST /api/v1/channels/{id}/override", s.postOverride)
	s.mux.HandleFunc("DELETE /api/v1/channels/{id}/override", s.deleteOverride)
	for _, r := range cfg.Routes {
		r(s.mux)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// SetReady marks the server ready, or not ready with a reason shown by /readyz.
func (s *Server) SetReady(ready bool, reason string) {
	if ready {
		s.ready.Store(nil)
		return
	}
	s.ready.Store(&reason)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if reason := s.ready.Load(); reason != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + *reason + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// listLibrary answers GET /api/v1/library[?kind=K][&status=S] with
// {"assets": [...]}.
func (s *Server) listLibrary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "kind" && k != "status" {
			writeError(w, http.StatusBadRequest, "unknown query parameter "+k+" (allowed: kind, status)")
			return
		}
	}
	f := library.Filter{Kind: q.Get("kind"), Status: q.Get("status")}
	if f.Kind != "" && !library.ValidKind(f.Kind) {
		writeError(w, http.StatusBadRequest, "unknown kind "+f.Kind+" (one of "+library.KindNames()+")")
		return
	}
	if f.Status != "" && !library.ValidStatus(f.Status) {
		writeError(w, http.StatusBadRequest, "unknown status "+f.Status+" (one of ok, unplayable, missing)")
		return
	}
	assets, err := s.cfg.Library.List(r.Context(), f)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.cfg.Logger.Error("library list", "err", err)
		writeError(w, http.StatusInternalServerError, "library unavailable")
		return
	}
	if assets == nil {
		assets = []library.Asset{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": assets})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers with {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
