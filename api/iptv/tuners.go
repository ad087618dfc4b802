package iptv

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// DefaultTuners is the tuner count when none is configured.
const DefaultTuners = 4

// MaxTuners bounds the tuner count.
const MaxTuners = 1000

// Tuners limits the concurrent continuous MPEG-TS streams
// (GET /channels/{id}.ts, what HDHomeRun clients tune) to the tuner count the
// HDHomeRun emulation announces: a tune beyond it is answered 503 with a
// message saying so. It is one mutex with short critical sections.
type Tuners struct {
	n     int
	mu    sync.Mutex
	inUse int
}

// NewTuners returns a limit of n tuners (DefaultTuners when n <= 0, at most
// MaxTuners).
func NewTuners(n int) *Tuners {
	if n <= 0 {
		n = DefaultTuners
	}
	return &Tuners{n: min(n, MaxTuners)}
}

// Count is the tuner count.
func (t *Tuners) Count() int { return t.n }

// InUse is how many tuners stream now.
func (t *Tuners) InUse() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inUse
}

// acquire takes a tuner, reporting false when all are in use.
func (t *Tuners) acquire() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inUse >= t.n {
		return false
	}
	t.inUse++
	return true
}

func (t *Tuners) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inUse--
}

// IsTune reports whether r tunes a channel: a GET of /channels/{id}.ts.
func IsTune(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/channels/")
	return ok && strings.HasSuffix(rest, ".ts") && len(rest) > len(".ts") && !strings.Contains(rest, "/")
}

// Middleware wraps the server's handler: each tune holds a tuner while its
// stream lasts; other requests pass through untouched.
func (t *Tuners) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsTune(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !t.acquire() {
			w.Header().Set("Retry-After", "10")
			httpError(w, http.StatusServiceUnavailable,
				fmt.Sprintf("all %d tuners are in use: stop another continuous-TS stream (or start onair with more --tuners)", t.n))
			return
		}
		defer t.release()
		next.ServeHTTP(w, r)
	})
}
