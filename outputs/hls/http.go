package hls

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Content types of RFC 8216, 4 and of MPEG-TS segments.
const (
	contentTypePlaylist = "application/vnd.apple.mpegurl"
	contentTypeSegment  = "video/mp2t"
)

// segmentCacheControl lets every cache keep a segment forever: its bytes never
// change (they are a pure function of the playout log).
const segmentCacheControl = "public, max-age=31536000, immutable"

// setCORS lets players on any origin read every response and the headers they
// need (Retry-After for 503s, ETag for revalidation).
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Content-Type, ETag, Retry-After, Age, Date")
}

// servePreflight answers a CORS preflight with 204.
func servePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	allow := "Range, If-None-Match, If-Modified-Since, Cache-Control"
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && validHeaderList(req) {
		allow = req
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", "86400")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// validHeaderList reports whether s is a short comma-separated list of header
// names (tokens, RFC 9110, 5.6.2), safe to echo back.
func validHeaderList(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~, ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// writeError answers a short plain-text error that no cache keeps.
func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// writeUnavailable answers 503 with Retry-After: the seconds until at,
// rounded up, at least 1.
func writeUnavailable(w http.ResponseWriter, now, at time.Time, msg string) {
	w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(at.Sub(now)), 10))
	writeError(w, http.StatusServiceUnavailable, msg)
}

func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// playlistMaxAge is a playlist's Cache-Control max-age: half the target
// duration in whole seconds, at least 1, so a cache never hides a new segment
// for long (RFC 8216, 6.2.1 has clients reload about every target duration).
func playlistMaxAge(target int) int {
	return max(target/2, 1)
}

// writePlaylist answers a playlist, gzipped when the request accepts it.
func writePlaylist(w http.ResponseWriter, r *http.Request, body []byte, target int) {
	WriteManifest(w, r, body, contentTypePlaylist, playlistMaxAge(target))
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: "gzip" (or
// "x-gzip") with a non-zero weight, or else "*" with a non-zero weight.
//
// Specification: RFC 9110, 12.5.3.
func acceptsGzip(values []string) bool {
	gz, star := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = max(gz, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// gzipBytes compresses a small body.
func gzipBytes(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(body) // a bytes.Buffer does not fail
	_ = zw.Close()
	zw.Reset(nil)
	gzipWriters.Put(zw)
	return buf.Bytes()
}

// countingWriter counts the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}
