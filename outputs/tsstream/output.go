// Package tsstream serves each channel as one continuous MPEG-TS stream over
// HTTP, GET /channels/{id}.ts, for IPTV players and HDHomeRun clients (Plex,
// Jellyfin, Emby).
//
// Every viewer of a channel reads the same shared session (package
// session): the channel's segments, muxed once each, paced at wall-clock
// speed by their PCRs, joining at the live edge. Segments are written with
// every continuity counter starting at 0 and padded to a multiple of 16
// packets, and each carries the same PAT and PMT (version 0) while the
// stream parameters stay the same, so consecutive segments form one
// continuous stream across items. A viewer that falls behind skips ahead to
// the next segment start; one that stops reading for WriteTimeout is
// disconnected. Neither slows the others.
package tsstream

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"onair/outputs/session"
)

// Sessions is what the Output needs of the shared sessions; *session.Manager
// satisfies it.
type Sessions interface {
	Subscribe(id, kind string) (*session.Sub, error)
	Viewers(id, kind string) int
}

// Kind is the name of this output in session viewer counts and the status API.
const Kind = "ts"

// Output is the continuous MPEG-TS output of all channels. It holds no
// goroutine of its own: each viewer is served on its request's goroutine.
type Output struct {
	cfg      Config
	sessions Sessions
	mux      *http.ServeMux

	bytesServed, skipped, timeouts atomic.Uint64
}

// New returns an Output reading channels from sessions.
func New(cfg Config, sessions Sessions) *Output {
	o := &Output{cfg: cfg.withDefaults(), sessions: sessions, mux: http.NewServeMux()}
	o.Register(o.mux)
	return o
}

// Register adds the Output's route to mux: GET (and HEAD) /channels/{id}.ts.
func (o *Output) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /channels/{file}", o.serve)
}

// ServeHTTP serves the route of Register.
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.mux.ServeHTTP(w, r) }

// Viewers returns how many viewers watch channel id over continuous TS.
func (o *Output) Viewers(id string) int { return o.sessions.Viewers(id, Kind) }

// Stats are an Output's counters.
type Stats struct {
	// BytesServed to viewers; Skipped counts the times a viewer skipped ahead
	// to a later segment; Timeouts the viewers disconnected by WriteTimeout.
	BytesServed, Skipped, Timeouts uint64
}

// Stats returns the counters.
func (o *Output) Stats() Stats {
	return Stats{BytesServed: o.bytesServed.Load(), Skipped: o.skipped.Load(), Timeouts: o.timeouts.Load()}
}

func (o *Output) serve(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, ok := strings.CutSuffix(file, ".ts")
	if !ok || id == "" {
		http.Error(w, "not found: "+strconv.Quote(file), http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "video/mp2t")
		h.Set("Cache-Control", "no-store")
		return
	}
	sub, err := o.sessions.Subscribe(id, Kind)
	if err != nil {
		if errors.Is(err, session.ErrNoChannel) {
			http.Error(w, "no such channel: "+strconv.Quote(id), http.StatusNotFound)
			return
		}
		http.Error(w, "channel "+strconv.Quote(id)+" is not available: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()
	h.Set("Content-Type", "video/mp2t")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case b, ok := <-sub.C():
			if !ok {
				return // the session stopped (channel removed, shutdown)
			}
			data, err := b.TS()
			if err != nil {
				o.cfg.Logger.Warn("continuous ts: muxing a segment", "channel", id, "seq", b.Seg.Ref.Seq, "err", err)
				continue
			}
			if b.Jump {
				o.skipped.Add(1)
				data = markDiscontinuity(data)
			}
			if len(data) == 0 {
				continue
			}
			if o.cfg.Deadline != nil {
				_ = rc.SetWriteDeadline(o.cfg.Deadline(o.cfg.WriteTimeout))
			}
			n, err := w.Write(data)
			o.bytesServed.Add(uint64(n))
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				if errors.Is(err, errDeadline) || isTimeout(err) {
					o.timeouts.Add(1)
				}
				return
			}
		}
	}
}

var _ http.Handler = (*Output)(nil)

// markDiscontinuity returns data (whole TS packets) with a
// discontinuity_indicator (ISO/IEC 13818-1, 2.4.3.5) on the first packet of
// every PID: a viewer that skipped ahead, or a session that resynchronised,
// gets a new time base there and continuity counters that do not follow the
// ones before, and a demuxer or TR 101 290 analyzer takes both as announced.
// A first packet with an adaptation field gets the flag set; before one
// without, an adaptation-field-only packet of the PID carries it (such a
// packet does not advance the continuity counter, so it holds the counter
// before the next). data is shared with the other viewers: the marks go on a
// copy (a jump is rare).
func markDiscontinuity(data []byte) []byte {
	const size = 188
	out := make([]byte, 0, len(data)+4*size)
	seen := map[uint16]bool{0x1FFF: true} // null packets need no mark
	for i := 0; i+size <= len(data); i += size {
		p := data[i : i+size]
		pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
		if p[0] != 0x47 || seen[pid] {
			out = append(out, p...)
			continue
		}
		seen[pid] = true
		if p[3]&0x20 != 0 && p[4] > 0 { // an adaptation field with flags
			o := len(out)
			out = append(out, p...)
			out[o+5] |= 0x80
			continue
		}
		cc := p[3] & 0x0F
		if p[3]&0x10 != 0 { // p carries a payload: the marker holds the counter before it
			cc = (cc + 15) & 0x0F
		}
		var m [size]byte
		m[0], m[1], m[2] = 0x47, p[1]&0x1F, p[2] // no payload_unit_start_indicator
		m[3] = 0x20 | cc                         // adaptation field only
		m[4], m[5] = size-5, 0x80                // length, discontinuity_indicator
		for k := 6; k < size; k++ {
			m[k] = 0xFF // stuffing
		}
		out = append(append(out, m[:]...), p...)
	}
	return out
}
