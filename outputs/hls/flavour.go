package hls

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// An Output can serve another flavour of the same segments (CMAF fragments
// rather than MPEG-TS): a second Output over a Registry whose channels return
// that flavour's bytes from Segment, used through the exported methods of
// this file by the package that owns the flavour's routes. It keeps the
// window, the 404/503 rules, the cache with singleflight and the prefetch of
// the MPEG-TS output, keyed by the same segment numbers; its own routes are
// simply not registered.

// Window is a media playlist's sliding window at one instant.
type Window struct {
	// Segments are the window's segments, oldest first (at least one).
	Segments []SegmentInfo
	// Target is EXT-X-TARGETDURATION, in seconds.
	Target int
}

// PlaylistWindow returns the window of ch's media playlist at now, the same
// segments index.m3u8 lists, and prefetches the segments after it as a
// playlist request does. ok is false when the channel has no segment yet.
func (o *Output) PlaylistWindow(ch Channel, now time.Time) (w Window, ok bool, err error) {
	win, err := o.window(ch, now)
	if err != nil || len(win.segs) == 0 {
		return Window{}, false, err
	}
	if o.prefetch != nil {
		o.prefetch.after(ch, win.segs[len(win.segs)-1].Seq)
	}
	return Window{Segments: win.segs, Target: win.target}, true, nil
}

// Part selects what of a segment's bytes a request gets: its bytes (a
// subslice of seg) and a short tag told apart in the ETag ("" for the whole).
type Part func(seg []byte) (data []byte, tag string, err error)

// ServeSegment answers segment seq of ch: 404 when unknown or too old, 503
// with Retry-After before its end, else 200 (or 304, or a range) from the
// cache shared by concurrent requests or a generation, with prefetch, an
// immutable Cache-Control and a strong ETag; a plain GET gets the bytes in
// one Write. It is the Output's own seg/{seq}.ts route (contentType
// video/mp2t, part nil) and that of the flavours: the Content-Type
// contentType and, when part is not nil, only the part of the bytes it
// selects.
func (o *Output) ServeSegment(w http.ResponseWriter, r *http.Request, ch Channel, seq int64, contentType string, part Part) {
	setCORS(w.Header())
	name := "segment " + strconv.FormatInt(seq, 10) + " of channel " + strconv.Quote(ch.ID())
	now := o.clock.Now()
	end, known := ch.SegmentEnd(seq)
	if !known {
		writeError(w, http.StatusNotFound, name+" is not in the playout log")
		return
	}
	if end.After(now) && !o.edges.listed(ch.ID(), seq) {
		writeUnavailable(w, now, end, name+" is not available yet")
		return
	}
	gone, err := o.gone(ch, seq, end, now)
	if err != nil {
		o.cfg.Logger.Error("segment", "channel", ch.ID(), "seq", seq, "err", err)
		writeError(w, http.StatusInternalServerError, name+" failed")
		return
	}
	if gone {
		writeError(w, http.StatusNotFound, name+" is no longer served")
		return
	}
	if o.prefetch != nil {
		o.prefetch.after(ch, seq)
	}
	seg, err := o.fetch(r.Context(), ch, seq, false)
	switch {
	case err == nil:
	case errors.Is(err, ErrGone):
		writeError(w, http.StatusNotFound, name+" is no longer served")
		return
	case errors.Is(err, ErrNotYet):
		writeUnavailable(w, o.clock.Now(), end, name+" is not available yet")
		return
	case r.Context().Err() != nil:
		return // the client has gone
	case errors.Is(err, errClosed), o.ctx.Err() != nil:
		writeUnavailable(w, now, now, "shutting down")
		return
	default:
		writeError(w, http.StatusInternalServerError, name+" failed")
		return
	}
	data, etag := seg.data, seg.etag
	if part != nil {
		var tag string
		data, tag, err = part(seg.data)
		if err != nil {
			o.cfg.Logger.Error("segment part", "channel", ch.ID(), "seq", seq, "err", err)
			writeError(w, http.StatusInternalServerError, name+" failed")
			return
		}
		if data == nil {
			writeError(w, http.StatusNotFound, name+" has no such track")
			return
		}
		if tag != "" {
			etag = etag[:len(etag)-1] + "-" + tag + `"`
		}
	}
	n := writeBytes(w, r, data, contentType, etag)
	o.stats.bytesServed.Add(uint64(n))
}

// ServeBytes answers immutable bytes (a segment, an init segment) with
// CORS, an immutable Cache-Control and etag, honouring conditional and range
// requests.
func ServeBytes(w http.ResponseWriter, r *http.Request, data []byte, contentType, etag string) {
	writeBytes(w, r, data, contentType, etag)
}

// writeBytes is ServeBytes, returning the body bytes written. A plain GET,
// the common request, gets the whole of data in one Write with its
// Content-Length; the others go through http.ServeContent.
func writeBytes(w http.ResponseWriter, r *http.Request, data []byte, contentType, etag string) int64 {
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", segmentCacheControl)
	if etag != "" {
		h.Set("ETag", etag)
	}
	if plainGet(r) {
		h.Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		n, _ := w.Write(data)
		return int64(n)
	}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
	return cw.n
}

// ETag returns the strong ETag the Output gives bytes: their length and
// CRC-32C, the same on every origin.
func ETag(data []byte) string { return newSegment(data).etag }

// WriteManifest answers a playlist or manifest of content type contentType
// that stays fresh for maxAge seconds, gzipped when the request accepts it,
// with CORS.
func WriteManifest(w http.ResponseWriter, r *http.Request, body []byte, contentType string, maxAge int) {
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "max-age="+strconv.Itoa(max(maxAge, 1)))
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body = gzipBytes(body)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// WriteError answers a short plain-text error that no cache keeps, with CORS.
func WriteError(w http.ResponseWriter, code int, msg string) {
	setCORS(w.Header())
	writeError(w, code, msg)
}

// WriteUnavailable answers 503 with Retry-After: the seconds from now until
// at, at least 1.
func WriteUnavailable(w http.ResponseWriter, now, at time.Time, msg string) {
	setCORS(w.Header())
	writeUnavailable(w, now, at, msg)
}

// ServePreflight answers a CORS preflight with 204.
func ServePreflight(w http.ResponseWriter, r *http.Request) { servePreflight(w, r) }

// PlaylistMaxAge is the Cache-Control max-age of a playlist with target
// duration target (seconds).
func PlaylistMaxAge(target int) int { return playlistMaxAge(target) }

// FormatPDT formats an EXT-X-PROGRAM-DATE-TIME.
func FormatPDT(t time.Time) string { return formatPDT(t) }

// CleanTitle makes a title safe for an EXTINF line.
func CleanTitle(s string) string { return cleanTitle(s) }
