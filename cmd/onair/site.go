package main

import (
	"log/slog"
	"net/http"
	"strconv"

	"onair/api/iptv"
	"onair/api/web"
	"onair/engine"
	"onair/library"
)

// site is what serve adds for viewers beyond the outputs: the IPTV playlist
// and guide, the HDHomeRun emulation with its tuner limit, and the web app.
type site struct {
	iptv   *iptv.Handler
	tuners *iptv.Tuners
	web    *web.Handler
}

// newSite builds the site of serve's flags (--tuners, --guide-hours).
func newSite(c common, mgr *engine.Manager, store *library.Store, clock engine.Clock, log *slog.Logger) (*site, error) {
	tuners, err := strconv.Atoi(c.tuners)
	if err != nil || tuners < 1 || tuners > iptv.MaxTuners {
		return nil, usageError("--tuners must be a whole number from 1 to %d: %q", iptv.MaxTuners, c.tuners)
	}
	hours, err := strconv.Atoi(c.guideHours)
	if err != nil || hours < 1 || hours > iptv.MaxGuideHours {
		return nil, usageError("--guide-hours must be a whole number from 1 to %d: %q", iptv.MaxGuideHours, c.guideHours)
	}
	t := iptv.NewTuners(tuners)
	return &site{
		tuners: t,
		iptv: iptv.New(iptv.Config{
			Channels: iptv.EngineChannels(mgr), Assets: store, Clock: clock, Logger: log,
			GuideHours: hours, LogoDir: c.channels, Tuners: t, Version: version,
		}),
		web: web.New(),
	}, nil
}

// routes are the site's routes for api.Config.Routes.
func (s *site) routes() []func(*http.ServeMux) {
	return []func(*http.ServeMux){s.iptv.Register, s.web.Register}
}

// handler wraps the server's handler with the tuner limit of the continuous
// TS streams (GET /channels/{id}.ts).
func (s *site) handler(h http.Handler) http.Handler { return s.tuners.Middleware(h) }
