// Package dash serves onair channels as live MPEG-DASH: a dynamic MPD per
// channel (DASH-IF IOP live profile) over the CMAF fragments of the cmaf
// package, one video and one audio AdaptationSet, a SegmentTemplate with a
// SegmentTimeline of the same segments, numbers and times as the HLS
// playlists, and a new Period at each discontinuity.
//
// The MPD is computed from the clock at each request: availabilityStartTime
// is the channel's epoch from the playout log, media time is the channel
// clock (tfdt), so every origin and every restart gives the same MPD at the
// same instant.
//
// Specification: ISO/IEC 23009-1 (DASH); DASH-IF IOP, 4 (live services).
package dash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"onair/muxer/fmp4"
	"onair/outputs/cmaf"
	"onair/outputs/hls"
)

// Fragments is what the DASH output needs of the CMAF output.
type Fragments interface {
	Channel(id string) (cmaf.Channel, bool)
	Window(ctx context.Context, ch cmaf.Channel, now time.Time) (runs []cmaf.Run, target int, ok bool, err error)
	Init(ctx context.Context, ch cmaf.Channel, seq int64) (*fmp4.Init, error)
}

// Config configures an Output. The zero value is usable.
type Config struct {
	// TimePath is the path of the server's clock, for UTCTiming. Defaults to
	// /api/v1/time.
	TimePath string
	// Logger receives errors. Defaults to discarding.
	Logger *slog.Logger
}

// Output serves the MPDs of the channels of a Fragments; an http.Handler.
// Its only state is the set of clients polling the MPDs (Viewers).
type Output struct {
	cfg     Config
	frags   Fragments
	clock   hls.Clock
	mux     *http.ServeMux
	viewers hls.ViewerSet
}

// contentTypeMPD is the MPD's media type (ISO/IEC 23009-1, Annex C).
const contentTypeMPD = "application/dash+xml"

// New returns an Output over frags on clock's time.
func New(cfg Config, frags Fragments, clock hls.Clock) *Output {
	if cfg.TimePath == "" {
		cfg.TimePath = "/api/v1/time"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	o := &Output{cfg: cfg, frags: frags, clock: clock, mux: http.NewServeMux()}
	o.Register(o.mux)
	return o
}

// Register adds GET (and OPTIONS) /channels/{id}/manifest.mpd to mux. The
// segments it lists are served by the cmaf Output's routes.
func (o *Output) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /channels/{id}/manifest.mpd", o.serveMPD)
	mux.HandleFunc("OPTIONS /channels/{id}/manifest.mpd", hls.ServePreflight)
}

// ServeHTTP serves the routes of Register.
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.mux.ServeHTTP(w, r) }

func (o *Output) serveMPD(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch, ok := o.frags.Channel(id)
	if !ok {
		hls.WriteError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(id))
		return
	}
	now := o.clock.Now()
	runs, target, ok, err := o.frags.Window(r.Context(), ch, now)
	if err != nil {
		o.cfg.Logger.Error("dash manifest", "channel", id, "err", err)
		hls.WriteError(w, http.StatusInternalServerError, "manifest of channel "+strconv.Quote(id)+" failed")
		return
	}
	if !ok {
		hls.WriteUnavailable(w, now, now.Add(ch.TargetDuration()), "channel "+strconv.Quote(id)+" has no segment yet")
		return
	}
	m := manifest{epoch: ch.Epoch(), now: now, target: target, timeURL: absURL(r, o.cfg.TimePath), bandwidth: max(ch.Variant().Bandwidth, 1)}
	for _, run := range runs {
		in, err := o.frags.Init(r.Context(), ch, run.First)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			o.cfg.Logger.Error("dash manifest: init segment", "channel", id, "seq", run.First, "err", err)
			hls.WriteError(w, http.StatusInternalServerError, "manifest of channel "+strconv.Quote(id)+" failed")
			return
		}
		// The period starts with the run's first segment (or, when the log
		// no longer holds the segment before it, with its first listed one).
		start, err := segmentStart(ch, run.First)
		if err != nil {
			start = run.Segments[0].Start
		}
		m.periods = append(m.periods, period{run: run, init: in, start: start})
	}
	var b bytes.Buffer
	if err := m.write(&b); err != nil {
		o.cfg.Logger.Error("dash manifest", "channel", id, "err", err)
		hls.WriteError(w, http.StatusInternalServerError, "manifest of channel "+strconv.Quote(id)+" failed")
		return
	}
	o.viewers.Poll(id, r, now)
	hls.WriteManifest(w, r, b.Bytes(), contentTypeMPD, hls.PlaylistMaxAge(target))
}

// Viewers returns how many clients are watching channel id through its MPD:
// those that fetched it within the last three target durations (players
// reload a dynamic MPD every minimumUpdatePeriod, half a target duration).
func (o *Output) Viewers(id string) int {
	ch, ok := o.frags.Channel(id)
	if !ok || ch == nil {
		return 0
	}
	return o.viewers.Count(id, o.clock.Now(), hls.ViewerIdle(ch.TargetDuration()))
}

// segmentStart is the wall time segment seq starts: the end of the segment
// before it, or the channel's epoch for the first.
func segmentStart(ch cmaf.Channel, seq int64) (time.Time, error) {
	if seq == 0 {
		return ch.Epoch(), nil
	}
	end, ok := ch.SegmentEnd(seq - 1)
	if !ok {
		return time.Time{}, errors.New("segment before the run is not in the log")
	}
	return end, nil
}

// absURL makes path absolute on the host the request came to (UTCTiming
// values are URLs; players resolve a relative one inconsistently).
func absURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host + path
}

type period struct {
	run   cmaf.Run
	init  *fmp4.Init
	start time.Time
}

type manifest struct {
	epoch, now time.Time
	target     int
	timeURL    string
	bandwidth  int // of the video, bits per second
	periods    []period
}

// ticks converts a wall time to channel media time.
func (m *manifest) ticks(t time.Time) int64 { return cmaf.Ticks(m.epoch, t) }

// write renders the MPD.
func (m *manifest) write(b *bytes.Buffer) error {
	var window time.Duration
	for _, p := range m.periods {
		for _, s := range p.run.Segments {
			window += s.Duration
		}
	}
	last := m.periods[len(m.periods)-1].run.Segments
	lastEnd := last[len(last)-1].End()
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(b, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic"`+
		` availabilityStartTime="%s" publishTime="%s" minimumUpdatePeriod="%s" minBufferTime="%s" timeShiftBufferDepth="%s" suggestedPresentationDelay="%s" maxSegmentDuration="%s">`+"\n",
		xmlTime(m.epoch), xmlTime(lastEnd), xsDuration(time.Duration(m.target)*time.Second/2), xsDuration(time.Duration(m.target)*time.Second),
		xsDuration(window.Round(time.Second)), xsDuration(time.Duration(3*m.target)*time.Second), xsDuration(time.Duration(m.target)*time.Second))
	for _, p := range m.periods {
		if err := m.writePeriod(b, &p); err != nil {
			return err
		}
	}
	fmt.Fprintf(b, `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="%s"/>`+"\n", html.EscapeString(m.timeURL))
	b.WriteString("</MPD>\n")
	return nil
}

func (m *manifest) writePeriod(b *bytes.Buffer, p *period) error {
	segs := p.run.Segments
	pstart := m.ticks(p.start)
	fmt.Fprintf(b, `  <Period id="p%d" start="%s">`+"\n", p.run.First, xsTicks(pstart))
	prof := p.init.Profile
	if p.init.Video != nil {
		fmt.Fprintf(b, `    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="%d" maxHeight="%d">`+"\n", prof.Width, prof.Height)
		m.writeTemplate(b, p.run.First, pstart, segs)
		fmt.Fprintf(b, `      <Representation id="v" codecs="%s" width="%d" height="%d" bandwidth="%d"/>`+"\n",
			html.EscapeString(prof.VideoCodec), prof.Width, prof.Height, m.bandwidth)
		b.WriteString("    </AdaptationSet>\n")
	}
	if p.init.Audio != nil {
		b.WriteString(`    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">` + "\n")
		m.writeTemplate(b, p.run.First, pstart, segs)
		fmt.Fprintf(b, `      <Representation id="a" codecs="%s" audioSamplingRate="%d" bandwidth="%d">`+"\n",
			html.EscapeString(prof.AudioCodec), prof.SampleRate, 128_000)
		if prof.Channels > 0 {
			fmt.Fprintf(b, `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="%d"/>`+"\n", prof.Channels)
		}
		b.WriteString("      </Representation>\n    </AdaptationSet>\n")
	}
	b.WriteString("  </Period>\n")
	return nil
}

// writeTemplate writes the SegmentTemplate of a period: the timeline of its
// segments on the channel clock (runs of equal durations folded with @r),
// each segment named by its start, $Time$. ($Number$ would name them by
// their sequence numbers, but ffmpeg's DASH demuxer (6.x) takes $Number$
// for the index in the timeline when it reloads a live MPD whose
// startNumber is not 0, and plays old segments again.)
func (m *manifest) writeTemplate(b *bytes.Buffer, first, pstart int64, segs []hls.SegmentInfo) {
	fmt.Fprintf(b, `      <SegmentTemplate timescale="%d" presentationTimeOffset="%d" initialization="cmaf/$RepresentationID$/init-%d.mp4" media="cmaf/$RepresentationID$/t$Time$.m4s">`+"\n",
		fmp4.Timescale, pstart, first)
	b.WriteString("        <SegmentTimeline>\n")
	for i := 0; i < len(segs); {
		t := m.ticks(segs[i].Start)
		d := m.ticks(segs[i].End()) - t
		j := i + 1
		for j < len(segs) && m.ticks(segs[j].End())-m.ticks(segs[j].Start) == d && m.ticks(segs[j].Start) == t+int64(j-i)*d {
			j++
		}
		if j-i > 1 {
			fmt.Fprintf(b, `          <S t="%d" d="%d" r="%d"/>`+"\n", t, d, j-i-1)
		} else {
			fmt.Fprintf(b, `          <S t="%d" d="%d"/>`+"\n", t, d)
		}
		i = j
	}
	b.WriteString("        </SegmentTimeline>\n      </SegmentTemplate>\n")
}

// xmlTime formats an xs:dateTime in UTC with milliseconds.
func xmlTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// xsDuration formats an xs:duration in seconds with up to three decimals.
func xsDuration(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	s := "PT" + strconv.FormatInt(ms/1000, 10)
	if f := ms % 1000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", f), "0")
	}
	return s + "S"
}

// xsTicks formats a media time in ticks as an exact xs:duration.
func xsTicks(t int64) string {
	s := "PT" + strconv.FormatInt(t/fmp4.Timescale, 10)
	if f := t % fmp4.Timescale; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", f*1_000_000/fmp4.Timescale), "0")
	}
	return s + "S"
}

var _ http.Handler = (*Output)(nil)
