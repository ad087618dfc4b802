package api

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"onair/engine"
	"onair/library"
)

// overrideRequest is the body of POST /api/v1/channels/{id}/override.
type overrideRequest struct {
	// Asset is a library asset: its id, or its path relative to a library root.
	Asset string `json:"asset,omitempty"`
	// Channel is another channel to relay.
	Channel string `json:"channel,omitempty"`
	// Duration is a Go duration ("90s", "10m"); empty or "until cleared" lasts until DELETE.
	Duration string `json:"duration,omitempty"`
	// Resume is "join" (default: join the schedule in progress) or "catchup".
	Resume string `json:"resume,omitempty"`
	Title  string `json:"title,omitempty"`
}

// admin reports whether r may use an admin route, answering it otherwise:
// with Config.AdminToken set, a request needs "Authorization: Bearer TOKEN";
// without, only clients on the loopback interface are admitted.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) bool {
	if tok := s.cfg.AdminToken; tok != "" {
		if r.Header.Get("Authorization") == "Bearer "+tok {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="onair"`)
		writeError(w, http.StatusUnauthorized, "admin route: send Authorization: Bearer <admin token>")
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	writeError(w, http.StatusForbidden, "admin route: only from this machine unless the server has an admin token (--admin-token)")
	return false
}

// postOverride answers POST /api/v1/channels/{id}/override.
func (s *Server) postOverride(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r) {
		return
	}
	c, ok := s.channel(w, r)
	if !ok {
		return
	}
	var body overrideRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "override: the body must be JSON {asset|channel, duration, resume, title}: "+err.Error())
		return
	}
	req := engine.OverrideRequest{Channel: body.Channel, Resume: engine.Resume(body.Resume), Title: body.Title}
	switch d := strings.TrimSpace(body.Duration); d {
	case "", "until cleared":
	default:
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 || dur > 7*24*time.Hour {
			writeError(w, http.StatusBadRequest, "override: duration must be a positive Go duration up to 168h, like 90s or 10m, or \"until cleared\"")
			return
		}
		req.Duration = engine.DurationToTicks(dur)
	}
	if (body.Asset == "") == (body.Channel == "") {
		writeError(w, http.StatusBadRequest, "override: give exactly one of asset and channel")
		return
	}
	if body.Asset != "" {
		id, err := s.resolveAsset(r, body.Asset)
		if err != nil {
			writeError(w, http.StatusBadRequest, "override: "+err.Error())
			return
		}
		req.AssetID = id
	}
	if body.Channel != "" {
		if _, ok := s.cfg.Channels.Get(body.Channel); !ok {
			writeError(w, http.StatusBadRequest, "override: no channel "+strconv.Quote(body.Channel))
			return
		}
	}
	st, err := c.StartOverride(r.Context(), req)
	switch {
	case errors.Is(err, engine.ErrOverrideActive):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil && st.Start.IsZero():
		writeError(w, http.StatusBadRequest, "override: "+err.Error())
		return
	case err != nil:
		s.cfg.Logger.Error("override", "channel", c.ID(), "err", err)
	}
	writeJSON(w, http.StatusCreated, st)
}

// deleteOverride answers DELETE /api/v1/channels/{id}/override[?resume=join|catchup].
func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r) {
		return
	}
	c, ok := s.channel(w, r)
	if !ok {
		return
	}
	st, err := c.ClearOverride(r.Context(), engine.Resume(r.URL.Query().Get("resume")))
	switch {
	case errors.Is(err, engine.ErrNoOverride):
		writeError(w, http.StatusNotFound, "channel "+strconv.Quote(c.ID())+" has no override")
		return
	case err != nil && st.Start.IsZero():
		writeError(w, http.StatusBadRequest, "override: "+err.Error())
		return
	case err != nil:
		s.cfg.Logger.Error("clearing an override", "channel", c.ID(), "err", err)
	}
	writeJSON(w, http.StatusOK, st)
}

// channel finds the channel of the request's {id}, answering 404 otherwise.
func (s *Server) channel(w http.ResponseWriter, r *http.Request) (*engine.Channel, bool) {
	if s.cfg.Channels != nil {
		if c, ok := s.cfg.Channels.Get(r.PathValue("id")); ok {
			return c, true
		}
	}
	writeError(w, http.StatusNotFound, "no such channel: "+r.PathValue("id"))
	return nil, false
}

// resolveAsset finds a playable asset by id or by its path relative to a library root.
func (s *Server) resolveAsset(r *http.Request, ref string) (int64, error) {
	if s.cfg.Library == nil {
		return 0, errors.New("no library")
	}
	assets, err := s.cfg.Library.List(r.Context(), library.Filter{Status: string(library.StatusOK)})
	if err != nil {
		return 0, err
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, a := range assets {
			if a.ID == id {
				return id, nil
			}
		}
		return 0, errors.New("no playable asset with id " + ref)
	}
	for _, a := range assets {
		if a.Path == ref {
			return a.ID, nil
		}
	}
	if a := library.FindByRelPath(assets, ref); a != nil {
		return a.ID, nil
	}
	return 0, errors.New("no playable asset " + strconv.Quote(ref) + " in the library")
}
