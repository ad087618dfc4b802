// Package cmaf serves onair channels as HLS with CMAF (fragmented MP4)
// segments: cmaf.m3u8, with EXT-X-MAP naming an init segment per stream
// profile (a new one after each discontinuity), and the fragments, cut where
// the MPEG-TS segments are and numbered alike. It also serves the per-track
// fragments and init segments the DASH output lists.
//
// The fragments go through a second hls.Output, over channels whose Segment
// returns CMAF: the same window, 404/503 rules, cache (singleflight, byte
// budget) and prefetch as the MPEG-TS output, without a second copy of them.
// A segment is one generation: its video fragment followed by its audio
// fragment; HLS gets both as one muxed segment, DASH each as its own.
//
// Specification: RFC 8216 (HLS), ISO/IEC 23000-19 (CMAF).
package cmaf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"onair/muxer/fmp4"
	"onair/outputs/hls"
)

// Content types of the playlist and the segments.
const (
	contentTypePlaylist = "application/vnd.apple.mpegurl"
	contentTypeVideo    = "video/mp4"
	contentTypeAudio    = "audio/mp4"
)

// playlistVersion is EXT-X-VERSION of cmaf.m3u8: 6 for EXT-X-MAP in a
// playlist without EXT-X-I-FRAMES-ONLY (RFC 8216, 7).
const playlistVersion = 6

// Output is the CMAF output of all channels of a Registry; an http.Handler.
// Its fragment cache and prefetch goroutines belong to the inner hls.Output,
// stopped by Close. One mutex guards the init segment cache.
type Output struct {
	cfg   Config
	reg   Registry
	clock hls.Clock
	frags *hls.Output
	mux   *http.ServeMux

	viewers hls.ViewerSet

	mu    sync.Mutex
	inits map[initKey]*fmp4.Init
}

type initKey struct {
	channel string
	seq     int64
}

// New returns an Output serving the channels of reg on clock's time. Call
// Close to stop its goroutines.
func New(cfg Config, reg Registry, clock hls.Clock) *Output {
	cfg = cfg.withDefaults()
	o := &Output{cfg: cfg, reg: reg, clock: clock, mux: http.NewServeMux(), inits: map[initKey]*fmp4.Init{}}
	o.frags = hls.New(cfg.HLS, hls.RegistryFunc(func(id string) (hls.Channel, bool) {
		ch, ok := reg.Channel(id)
		if !ok || ch == nil {
			return nil, false
		}
		return fragmentChannel{ch}, true
	}), clock)
	o.Register(o.mux)
	return o
}

// fragmentChannel is a Channel whose Segment is its CMAF fragment: what the
// inner hls.Output caches.
type fragmentChannel struct{ Channel }

func (f fragmentChannel) Segment(ctx context.Context, seq int64) ([]byte, error) {
	return f.Fragment(ctx, seq)
}

// Register adds the Output's routes to mux:
//
//	GET /channels/{id}/cmaf.m3u8                 media playlist (EXT-X-MAP)
//	GET /channels/{id}/cmaf/{seq}.m4s            segment: video and audio fragments
//	GET /channels/{id}/cmaf/init-{seq}.mp4       init segment of both tracks
//	GET /channels/{id}/cmaf/{v|a}/{seq}.m4s      the video or audio fragment alone
//	GET /channels/{id}/cmaf/{v|a}/t{time}.m4s    the same, by its start on the channel clock (DASH $Time$)
//	GET /channels/{id}/cmaf/{v|a}/init-{seq}.mp4 its init segment
//
// where init-{seq} is the init segment of the run of segments starting with
// segment seq; each also answers HEAD and OPTIONS (CORS preflight).
func (o *Output) Register(mux *http.ServeMux) {
	for path, h := range map[string]http.HandlerFunc{
		"/channels/{id}/cmaf.m3u8":           o.servePlaylist,
		"/channels/{id}/cmaf/{file}":         o.serveFile,
		"/channels/{id}/cmaf/{track}/{file}": o.serveFile,
	} {
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc("OPTIONS "+path, hls.ServePreflight)
	}
}

// ServeHTTP serves the routes of Register.
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.mux.ServeHTTP(w, r) }

// Close stops prefetch and the generations in flight and waits for them.
func (o *Output) Close() error { return o.frags.Close() }

// Stats returns the counters of the fragment cache and generations.
func (o *Output) Stats() hls.Stats { return o.frags.Stats() }

// Variants lists cmaf.m3u8 in a channel's master.m3u8: the hook for
// hls.Config.ExtraVariants of the MPEG-TS output.
func (o *Output) Variants(ch hls.Channel) []hls.StreamInf {
	return []hls.StreamInf{{URI: "cmaf.m3u8", Variant: ch.Variant()}}
}

// Channel returns the channel id of the Registry.
func (o *Output) Channel(id string) (Channel, bool) {
	ch, ok := o.reg.Channel(id)
	return ch, ok && ch != nil
}

// Viewers returns how many clients are watching channel id through
// cmaf.m3u8: those that fetched it within the last three target durations.
func (o *Output) Viewers(id string) int {
	ch, ok := o.Channel(id)
	if !ok {
		return 0
	}
	return o.viewers.Count(id, o.clock.Now(), hls.ViewerIdle(ch.TargetDuration()))
}

// Run is the part of a window of one discontinuity run.
type Run struct {
	// First is the run's first segment, which names its init segments.
	First int64
	// Segments are the run's segments in the window, oldest first.
	Segments []hls.SegmentInfo
}

// Window returns ch's window at now (the segments of its MPEG-TS playlist)
// cut into runs; ok is false while the channel has no segment yet.
func (o *Output) Window(ctx context.Context, ch Channel, now time.Time) (runs []Run, target int, ok bool, err error) {
	win, ok, err := o.frags.PlaylistWindow(fragmentChannel{ch}, now)
	if err != nil || !ok {
		return nil, 0, ok, err
	}
	for i, s := range win.Segments {
		if i == 0 || s.Discontinuity || s.DiscSeq != win.Segments[i-1].DiscSeq {
			first, err := ch.RunStart(ctx, s.Seq)
			if err != nil {
				return nil, 0, false, fmt.Errorf("channel %s: run of segment %d: %w", ch.ID(), s.Seq, err)
			}
			runs = append(runs, Run{First: first})
		}
		r := &runs[len(runs)-1]
		r.Segments = append(r.Segments, s)
	}
	return runs, win.Target, true, nil
}

// Init returns the init segments of the run starting with segment seq of ch,
// from memory or made.
func (o *Output) Init(ctx context.Context, ch Channel, seq int64) (*fmp4.Init, error) {
	key := initKey{ch.ID(), seq}
	o.mu.Lock()
	in, ok := o.inits[key]
	o.mu.Unlock()
	if ok {
		return in, nil
	}
	in, err := ch.Init(ctx, seq)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	if len(o.inits) >= o.cfg.InitCacheEntries {
		clear(o.inits)
	}
	o.inits[key] = in
	o.mu.Unlock()
	return in, nil
}

// servePlaylist answers cmaf.m3u8.
func (o *Output) servePlaylist(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch, ok := o.Channel(id)
	if !ok {
		hls.WriteError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(id))
		return
	}
	now := o.clock.Now()
	runs, target, ok, err := o.Window(r.Context(), ch, now)
	if err != nil {
		o.cfg.Logger.Error("cmaf playlist", "channel", id, "err", err)
		hls.WriteError(w, http.StatusInternalServerError, "playlist of channel "+strconv.Quote(id)+" failed")
		return
	}
	if !ok {
		hls.WriteUnavailable(w, now, now.Add(ch.TargetDuration()), "channel "+strconv.Quote(id)+" has no segment yet")
		return
	}
	o.viewers.Poll(id, r, now)
	var b bytes.Buffer
	writeMediaPlaylist(&b, runs, target)
	hls.WriteManifest(w, r, b.Bytes(), contentTypePlaylist, hls.PlaylistMaxAge(target))
}

// writeMediaPlaylist renders cmaf.m3u8: the window's segments as in
// index.m3u8 (the same sequence numbers, discontinuities, dates and
// durations), each run of segments after the EXT-X-MAP of its init segment.
func writeMediaPlaylist(b *bytes.Buffer, runs []Run, target int) {
	first := runs[0].Segments[0]
	b.WriteString("#EXTM3U\n")
	b.WriteString("#EXT-X-VERSION:" + strconv.Itoa(playlistVersion) + "\n")
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	b.WriteString("#EXT-X-TARGETDURATION:" + strconv.Itoa(target) + "\n")
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:" + strconv.FormatInt(first.Seq, 10) + "\n")
	b.WriteString("#EXT-X-DISCONTINUITY-SEQUENCE:" + strconv.FormatInt(first.DiscSeq, 10) + "\n")
	for i, run := range runs {
		if i > 0 {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		b.WriteString(`#EXT-X-MAP:URI="cmaf/init-` + strconv.FormatInt(run.First, 10) + `.mp4"` + "\n")
		for _, s := range run.Segments {
			b.WriteString("#EXT-X-PROGRAM-DATE-TIME:" + hls.FormatPDT(s.Start) + "\n")
			ms := s.Duration.Round(time.Millisecond).Milliseconds()
			fmt.Fprintf(b, "#EXTINF:%d.%03d,%s\n", ms/1000, ms%1000, hls.CleanTitle(s.Title))
			b.WriteString("cmaf/" + strconv.FormatInt(s.Seq, 10) + ".m4s\n")
		}
	}
}

// serveFile answers a segment or an init segment, muxed or of one track.
func (o *Output) serveFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch, ok := o.Channel(id)
	if !ok {
		hls.WriteError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(id))
		return
	}
	track := r.PathValue("track")
	if track != "" && track != "v" && track != "a" {
		hls.WriteError(w, http.StatusNotFound, "no such track: "+strconv.Quote(track))
		return
	}
	file := r.PathValue("file")
	if num, ok := strings.CutSuffix(file, ".m4s"); ok {
		var seq int64
		if at, ok := strings.CutPrefix(num, "t"); ok && track != "" {
			// A DASH $Time$ name: the segment starting at media time at.
			ticks, valid := parseSeq(w, at)
			if !valid {
				return
			}
			if seq, ok = o.seqAt(ch, ticks); !ok {
				hls.WriteError(w, http.StatusNotFound, "no segment of channel "+strconv.Quote(id)+" starts at "+at)
				return
			}
		} else if seq, ok = parseSeq(w, num); !ok {
			return
		}
		o.frags.ServeSegment(w, r, fragmentChannel{ch}, seq, contentType(track), partOf(track))
		return
	}
	if rest, ok := strings.CutPrefix(file, "init-"); ok {
		if num, ok := strings.CutSuffix(rest, ".mp4"); ok {
			if seq, ok := parseSeq(w, num); ok {
				o.serveInit(w, r, ch, seq, track)
			}
			return
		}
	}
	hls.WriteError(w, http.StatusNotFound, "no such file: "+strconv.Quote(file))
}

// maxTimeLookup bounds the recent segments searched for a $Time$ name.
const maxTimeLookup = 256

// seqAt returns the recent segment of ch that starts at media time ticks.
func (o *Output) seqAt(ch Channel, ticks int64) (int64, bool) {
	segs, err := ch.Segments(o.clock.Now(), maxTimeLookup)
	if err != nil {
		return 0, false
	}
	epoch := ch.Epoch()
	for i := len(segs) - 1; i >= 0; i-- {
		switch t := Ticks(epoch, segs[i].Start); {
		case t == ticks:
			return segs[i].Seq, true
		case t < ticks:
			return 0, false
		}
	}
	return 0, false
}

// Ticks converts a wall time to media time on a channel clock with epoch,
// rounding to the nearest 90 kHz tick (wall times are the channel's ticks
// rounded down to the nanosecond, so this gives back the exact tick).
func Ticks(epoch, t time.Time) int64 {
	d := t.Sub(epoch)
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*fmp4.Timescale + (rem*9+50000)/100000
}

// parseSeq parses a segment number, answering 400 when it is not a
// canonical non-negative integer.
func parseSeq(w http.ResponseWriter, num string) (int64, bool) {
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != num {
		hls.WriteError(w, http.StatusBadRequest, "segment number must be a non-negative integer: "+strconv.Quote(num))
		return 0, false
	}
	return seq, true
}

func contentType(track string) string {
	if track == "a" {
		return contentTypeAudio
	}
	return contentTypeVideo
}

// partOf selects one track's fragment of a segment.
func partOf(track string) hls.Part {
	if track == "" {
		return nil
	}
	return func(seg []byte) ([]byte, string, error) {
		v, a, err := fmp4.Split(seg)
		if track == "v" {
			return v, "v", err
		}
		return a, "a", err
	}
}

// serveInit answers the init segment of the run starting with segment seq.
func (o *Output) serveInit(w http.ResponseWriter, r *http.Request, ch Channel, seq int64, track string) {
	name := "init segment " + strconv.FormatInt(seq, 10) + " of channel " + strconv.Quote(ch.ID())
	now := o.clock.Now()
	end, known := ch.SegmentEnd(seq)
	if !known {
		hls.WriteError(w, http.StatusNotFound, name+": segment not in the playout log")
		return
	}
	if end.After(now) {
		hls.WriteUnavailable(w, now, end, name+" is not available yet")
		return
	}
	in, err := o.Init(r.Context(), ch, seq)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotRunStart), errors.Is(err, hls.ErrGone):
		hls.WriteError(w, http.StatusNotFound, name+": "+err.Error())
		return
	case errors.Is(err, hls.ErrNotYet):
		hls.WriteUnavailable(w, now, end, name+" is not available yet")
		return
	case r.Context().Err() != nil:
		return
	default:
		o.cfg.Logger.Error("cmaf init segment", "channel", ch.ID(), "seq", seq, "err", err)
		hls.WriteError(w, http.StatusInternalServerError, name+" failed")
		return
	}
	data := in.Muxed
	switch track {
	case "v":
		data = in.Video
	case "a":
		data = in.Audio
	}
	if data == nil {
		hls.WriteError(w, http.StatusNotFound, name+" has no such track")
		return
	}
	hls.ServeBytes(w, r, data, contentType(track), hls.ETag(data))
}

var _ http.Handler = (*Output)(nil)
