package iptv

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// XMLTV documents, as xmltv.dtd (XMLTV 0.5/1.x) orders their elements.
// Specification: https://github.com/XMLTV/xmltv/blob/master/xmltv.dtd
type xmltvTV struct {
	XMLName       xml.Name         `xml:"tv"`
	SourceInfoURL string           `xml:"source-info-url,attr,omitempty"`
	SourceName    string           `xml:"source-info-name,attr"`
	Generator     string           `xml:"generator-info-name,attr"`
	GeneratorURL  string           `xml:"generator-info-url,attr,omitempty"`
	Channels      []xmltvChannel   `xml:"channel"`
	Programmes    []xmltvProgramme `xml:"programme"`
}

type xmltvChannel struct {
	ID           string      `xml:"id,attr"`
	DisplayNames []string    `xml:"display-name"`
	Icon         *xmltvIcon  `xml:"icon"`
	URL          []xmltvText `xml:"url"`
}

type xmltvIcon struct {
	Src string `xml:"src,attr"`
}

type xmltvText struct {
	Lang  string `xml:"lang,attr,omitempty"`
	Value string `xml:",chardata"`
}

type xmltvEpisodeNum struct {
	System string `xml:"system,attr"`
	Value  string `xml:",chardata"`
}

type xmltvProgramme struct {
	Start      string            `xml:"start,attr"`
	Stop       string            `xml:"stop,attr"`
	Channel    string            `xml:"channel,attr"`
	Title      []xmltvText       `xml:"title"`
	SubTitle   []xmltvText       `xml:"sub-title"`
	Desc       []xmltvText       `xml:"desc"`
	Categories []xmltvText       `xml:"category"`
	Length     *xmltvLength      `xml:"length"`
	Icon       *xmltvIcon        `xml:"icon"`
	EpisodeNum []xmltvEpisodeNum `xml:"episode-num"`
	Rating     []xmltvRating     `xml:"rating"`
}

type xmltvRating struct {
	Value string `xml:"value"`
}

type xmltvLength struct {
	Units string `xml:"units,attr"`
	Value int64  `xml:",chardata"`
}

// xmltvTime formats a time as XMLTV wants it: "YYYYMMDDhhmmss +0000".
func xmltvTime(t time.Time) string { return t.UTC().Format("20060102150405 -0700") }

// xmltvMaxHours bounds ?hours= of the XMLTV guide.
const xmltvMaxHours = MaxGuideHours

// xmltv answers GET /iptv/xmltv.xml[?hours=N]: every channel and its
// programmes from the one on air to GuideHours ahead (N hours with ?hours),
// one programme per EPG group, with title, sub-title, description,
// categories, length, icon and episode numbers (xmltv_ns and onscreen).
func (h *Handler) xmltv(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r, "hours") {
		return
	}
	hours := h.cfg.GuideHours
	if v := r.URL.Query().Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > xmltvMaxHours {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("hours must be a whole number from 1 to %d", xmltvMaxHours))
			return
		}
		hours = n
	}
	doc, err := h.buildXMLTV(r.Context(), baseURL(r), h.cfg.Clock.Now(), time.Duration(hours)*time.Hour)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		h.cfg.Logger.Error("xmltv", "err", err)
		httpError(w, http.StatusInternalServerError, "the guide is unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(doc)
}

// buildXMLTV renders the guide from now for d.
func (h *Handler) buildXMLTV(ctx context.Context, base string, now time.Time, d time.Duration) ([]byte, error) {
	tv := xmltvTV{SourceName: "onair", Generator: "onair " + h.cfg.Version, SourceInfoURL: base + "/"}
	cache := &assetCache{src: h.cfg.Assets}
	chans := h.channels()
	for _, ch := range chans {
		cfg := ch.Config()
		id := TVGID(cfg.ID)
		xc := xmltvChannel{ID: id, DisplayNames: []string{cfg.Name}, Icon: &xmltvIcon{Src: h.logoURL(base, cfg)}}
		if cfg.Number != "" {
			xc.DisplayNames = append(xc.DisplayNames, cfg.Number, cfg.Number+" "+cfg.Name)
		}
		xc.URL = []xmltvText{{Value: base + "/watch/" + channelPath(cfg.ID)}}
		tv.Channels = append(tv.Channels, xc)
	}
	for _, ch := range chans {
		cfg := ch.Config()
		id := TVGID(cfg.ID)
		icon := &xmltvIcon{Src: h.logoURL(base, cfg)}
		ps, err := programmes(ctx, ch, cache, now, now.Add(d))
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			h.cfg.Logger.Error("xmltv: reading the playout log", "channel", cfg.ID, "err", err)
		}
		for _, p := range ps {
			xp := xmltvProgramme{
				Start: xmltvTime(p.Start), Stop: xmltvTime(p.End), Channel: id,
				Title:  []xmltvText{{Value: p.Title}},
				Length: &xmltvLength{Units: "seconds", Value: int64(p.End.Sub(p.Start).Round(time.Second) / time.Second)},
				Icon:   icon,
			}
			if p.SubTitle != "" {
				xp.SubTitle = []xmltvText{{Value: p.SubTitle}}
			}
			if p.Description != "" {
				xp.Desc = []xmltvText{{Value: p.Description}}
			}
			for _, c := range p.Categories {
				xp.Categories = append(xp.Categories, xmltvText{Value: c})
			}
			xp.EpisodeNum = episodeNums(p.Season, p.Episode)
			if p.Rating != "" {
				xp.Rating = []xmltvRating{{Value: p.Rating}}
			}
			tv.Programmes = append(tv.Programmes, xp)
		}
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE tv SYSTEM "xmltv.dtd">` + "\n")
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(tv); err != nil {
		return nil, fmt.Errorf("xmltv: %w", err)
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// episodeNums gives the xmltv_ns ("S-1.E-1." zero-based) and onscreen
// ("S01E02") episode numbers of a 1-based season and episode.
func episodeNums(season, episode int) []xmltvEpisodeNum {
	if episode <= 0 {
		return nil
	}
	ns, on := fmt.Sprintf(".%d.", episode-1), fmt.Sprintf("E%02d", episode)
	if season > 0 {
		ns = strconv.Itoa(season-1) + ns
		on = fmt.Sprintf("S%02d", season) + on
	}
	return []xmltvEpisodeNum{{System: "xmltv_ns", Value: ns}, {System: "onscreen", Value: on}}
}
