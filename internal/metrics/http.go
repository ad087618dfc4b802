package metrics

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RequestIDHeader carries a request's id: taken from the request when it
// holds a sane one (a proxy's), else made up; always echoed in the response.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// RequestID returns the id of the request whose context ctx is, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// HTTPOptions configure Wrap.
type HTTPOptions struct {
	// Logger gets one line per request: Debug normally, Warn for a 5xx,
	// Info for a request slower than SlowRequest. Defaults to discarding.
	Logger *slog.Logger
	// SlowRequest is the duration past which a request is logged at Info.
	// Defaults to 2s. Long-lived responses (continuous streams) exceed it by
	// design; they are logged when they end.
	SlowRequest time.Duration
	// AdminToken guards /debug/pprof like the admin API: with a token,
	// "Authorization: Bearer TOKEN"; without, loopback clients only.
	AdminToken string
	// Now reads the wall clock (request durations).
	Now func() time.Time
}

// Wrap returns next with /metrics, /debug/pprof (admins only), request ids,
// request logs and the HTTP metrics. next should be (or end in) an
// http.ServeMux: the route label is the pattern the mux matched
// (Request.Pattern), "unmatched" when none did, so that random URLs cannot
// blow up the label set.
func (m *Metrics) Wrap(next http.Handler, o HTTPOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SlowRequest <= 0 {
		o.SlowRequest = 2 * time.Second
	}
	if o.Now == nil {
		panic("metrics: HTTPOptions.Now is required")
	}
	own := http.NewServeMux()
	own.Handle("GET /metrics", m.Handler())
	own.HandleFunc("/debug/pprof/", pprof.Index)
	own.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	own.HandleFunc("/debug/pprof/profile", pprof.Profile)
	own.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	own.HandleFunc("/debug/pprof/trace", pprof.Trace)
	var prefix [4]byte
	_, _ = rand.Read(prefix[:])
	boot := hex.EncodeToString(prefix[:])
	var n atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := o.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneID(id) {
			id = boot + "-" + strconv.FormatUint(n.Add(1), 36)
		}
		w.Header().Set(RequestIDHeader, id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		m.httpInFlight.Inc()
		route := ""
		switch {
		case r.URL.Path == "/metrics":
			route = "GET /metrics"
			own.ServeHTTP(sw, r)
		case strings.HasPrefix(r.URL.Path, "/debug/pprof"):
			route = "/debug/pprof/"
			if admitted(sw, r, o.AdminToken) {
				own.ServeHTTP(sw, r)
			}
		default:
			next.ServeHTTP(sw, r)
			route = r.Pattern
		}
		m.httpInFlight.Dec()
		if route == "" {
			route = "unmatched"
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		took := o.Now().Sub(start)
		m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
		if (code == http.StatusOK || code == http.StatusPartialContent) && r.Method == http.MethodGet {
			if out := segmentOutput(route, r.URL.Path); out != "" {
				m.segsServed.WithLabelValues(r.PathValue("id"), out).Inc()
			}
		}
		level := slog.LevelDebug
		switch {
		case code >= 500 && code != http.StatusServiceUnavailable: // 503 is "not yet", a normal answer
			level = slog.LevelWarn
		case took >= o.SlowRequest:
			level = slog.LevelInfo
		}
		if o.Logger.Enabled(r.Context(), level) {
			o.Logger.LogAttrs(r.Context(), level, "http request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", code), slog.Int64("bytes", sw.n),
				slog.Duration("took", took), slog.String("remote", r.RemoteAddr))
		}
	})
}

// segmentOutput names the output of a media segment route ("hls", "cmaf"),
// or "" for anything else (playlists, init segments, the API).
func segmentOutput(route, path string) string {
	if !strings.Contains(route, "{id}") {
		return ""
	}
	switch {
	case strings.Contains(route, "/seg/") && strings.HasSuffix(path, ".ts"):
		return "hls"
	case strings.Contains(route, "/cmaf/") && strings.HasSuffix(path, ".m4s"):
		return "cmaf"
	}
	return ""
}

// saneID accepts a client's request id of 1 to 64 letters, digits, '-', '_'
// or '.'.
func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// admitted applies the admin rule: the bearer token when one is set, else a
// loopback client.
func admitted(w http.ResponseWriter, r *http.Request, token string) bool {
	if token != "" {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) == 1 {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="onair"`)
		http.Error(w, "admin route: send Authorization: Bearer <admin token>", http.StatusUnauthorized)
		return false
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	http.Error(w, "admin route: only from this machine unless the server has an admin token (--admin-token)", http.StatusForbidden)
	return false
}

// statusWriter records the status code and body bytes; it passes Flush,
// Hijack and Unwrap (http.ResponseController) through.
type statusWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.n += int64(n)
	return n, err
}

func (s *statusWriter) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("metrics: the response writer cannot be hijacked")
	}
	return h.Hijack()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
