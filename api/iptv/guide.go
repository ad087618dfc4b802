package iptv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"onair/engine"
	"onair/library"
)

// Programme is one guide entry: a program with its breaks (the items of one
// EPG group), or a stretch of interstitials long enough to show.
type Programme struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Title is the show's name, else the asset's title.
	Title string `json:"title"`
	// SubTitle is the episode's title, when Title is the show's.
	SubTitle    string `json:"sub_title,omitempty"`
	Description string `json:"description,omitempty"`
	// Rating is the content rating of the programme's main asset (its meta sidecar).
	Rating string `json:"rating,omitempty"`
	// Categories are the asset's tags, or one derived from its kind.
	Categories []string `json:"categories"`
	// Season and Episode are 1-based; 0 when unknown.
	Season  int `json:"season,omitempty"`
	Episode int `json:"episode,omitempty"`
	// Kind is the kind of the group's main item (program, override, filler...).
	Kind     engine.Kind `json:"kind"`
	AssetID  int64       `json:"asset_id,omitempty"`
	EPGGroup string      `json:"epg_group"`
}

// interstitialMerge is how long a group without a program (filler, a bumper)
// may be and still be folded into the programme before it.
const interstitialMerge = 5 * time.Minute

// lookback is how far before the guide's start its items are read.
const lookback = 3 * time.Hour

// maxItems bounds the items read of one channel's guide.
const maxItems = 200000

// assetCache remembers the assets looked up while building one guide.
type assetCache struct {
	src Assets
	m   map[int64]*library.Asset
}

func (c *assetCache) get(ctx context.Context, id int64) *library.Asset {
	if c.src == nil || id <= 0 {
		return nil
	}
	if a, ok := c.m[id]; ok {
		return a
	}
	var ap *library.Asset
	if a, err := c.src.Get(ctx, id); err == nil {
		ap = &a
	}
	if c.m == nil {
		c.m = map[int64]*library.Asset{}
	}
	c.m[id] = ap
	return ap
}

// programmes groups a channel's items between from and until into guide
// entries: consecutive items of one EPG group make one programme; a group
// with no program item shorter than interstitialMerge is folded into the
// programme before it.
func programmes(ctx context.Context, ch Channel, assets *assetCache, from, until time.Time) ([]Programme, error) {
	// Read from before from, so the programme on air starts where it began
	// and an interstitial on air folds into the programme before it.
	items, err := ch.Upcoming(ctx, from.Add(-lookback), until)
	if err != nil && len(items) == 0 {
		return nil, err
	}
	if len(items) > maxItems {
		items = items[:maxItems]
	}
	var out []Programme
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && items[j].EPGGroup != "" && items[j].EPGGroup == items[i].EPGGroup {
			j++
		}
		group := items[i:j]
		i = j
		main := -1
		for k, it := range group {
			if it.Kind == engine.KindProgram || it.Kind == engine.KindOverride {
				main = k
				break
			}
		}
		start, end := group[0].Start, group[len(group)-1].End
		if main < 0 && len(out) > 0 && end.Sub(start) < interstitialMerge && out[len(out)-1].End.Equal(start) {
			out[len(out)-1].End = end
			continue
		}
		p := Programme{Start: start, End: end, EPGGroup: group[0].EPGGroup}
		if main < 0 {
			p.Kind = group[0].Kind
			p.Title = ch.Config().Name
			p.Description = "Promos, bumpers and filler between programmes."
			p.Categories = []string{"Interstitial"}
		} else {
			describe(&p, group[main], assets.get(ctx, group[main].AssetID))
		}
		out = append(out, p)
	}
	for len(out) > 0 && !out[0].End.After(from) {
		out = out[1:]
	}
	return out, nil
}

// describe fills a programme's title, episode and description from its main
// item and asset.
func describe(p *Programme, it engine.Playing, a *library.Asset) {
	p.Kind, p.AssetID = it.Kind, it.AssetID
	p.Title = it.Title
	if a == nil {
		p.Categories = []string{categoryOf(it.Kind, "")}
		return
	}
	switch {
	case it.Kind == engine.KindOverride && it.Title != "":
	case a.Show != "":
		p.Title = a.Show
		p.SubTitle = a.Title
	case a.Title != "":
		p.Title = a.Title
	}
	p.Season, p.Episode = a.Season, a.Episode
	p.Categories = append([]string(nil), a.Tags...)
	if len(p.Categories) == 0 {
		p.Categories = []string{categoryOf(it.Kind, a.Kind)}
	}
	switch {
	case a.Show != "" && p.Season > 0 && p.Episode > 0:
		p.Description = fmt.Sprintf("%s, season %d, episode %d", a.Show, p.Season, p.Episode)
	case a.Show != "" && p.Episode > 0:
		p.Description = fmt.Sprintf("%s, episode %d", a.Show, p.Episode)
	case a.Show != "":
		p.Description = a.Show
	}
	if p.SubTitle != "" {
		if p.Description != "" {
			p.Description += ": "
		}
		p.Description += p.SubTitle
	}
	if p.Description != "" {
		p.Description += "."
	}
	if a.Description != "" {
		// The operator's own words, from the asset's meta sidecar.
		p.Description = a.Description
	}
	p.Rating = a.Rating
}

// categoryOf names a guide category for an item without tags.
func categoryOf(k engine.Kind, ak library.Kind) string {
	switch {
	case k == engine.KindOverride:
		return "Special"
	case ak == library.KindEpisode:
		return "Series"
	case ak == library.KindMovie:
		return "Movie"
	case k == engine.KindProgram:
		return "Show"
	}
	return "Interstitial"
}

// guideChannel is one channel of GET /api/v1/guide.
type guideChannel struct {
	ID         string      `json:"id"`
	TVGID      string      `json:"tvg_id"`
	Number     string      `json:"number"`
	Name       string      `json:"name"`
	Group      string      `json:"group,omitempty"`
	Logo       string      `json:"logo"`
	Programmes []Programme `json:"programmes"`
}

// guideJSON answers GET /api/v1/guide[?hours=N][&channel=ID] with the
// programmes of the next N hours (default 6, cut to the guide's reach,
// GuideHours) from the start of the programme on air.
func (h *Handler) guideJSON(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r, "hours", "channel") {
		return
	}
	q := r.URL.Query()
	hours := 6
	if v := q.Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxGuideHours {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("hours must be a whole number from 1 to %d", MaxGuideHours))
			return
		}
		hours = n
	}
	// The guide reaches GuideHours ahead: a longer request gets that.
	hours = min(hours, h.cfg.GuideHours)
	only := q.Get("channel")
	now := h.cfg.Clock.Now()
	base := baseURL(r)
	cache := &assetCache{src: h.cfg.Assets}
	out := []guideChannel{}
	found := false
	for _, ch := range h.channels() {
		cfg := ch.Config()
		if only != "" && cfg.ID != only {
			continue
		}
		found = true
		ps, err := programmes(r.Context(), ch, cache, now, now.Add(time.Duration(hours)*time.Hour))
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			h.cfg.Logger.Error("guide", "channel", cfg.ID, "err", err)
		}
		if ps == nil {
			ps = []Programme{}
		}
		out = append(out, guideChannel{
			ID: cfg.ID, TVGID: TVGID(cfg.ID), Number: cfg.Number, Name: cfg.Name, Group: cfg.Group,
			Logo: h.logoURL(base, cfg), Programmes: ps,
		})
	}
	if only != "" && !found {
		httpError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(only))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"now": now.UTC(), "hours": hours, "channels": out})
}
