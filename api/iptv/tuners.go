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

// Tuners limits the channels streamed at once as continuous MPEG-TS
// (GET /channels/{id}.ts, what HDHomeRun clients tune) to the tuner count the
// HDHomeRun emulation announces. A tuner is a channel, as on the device: the
// first stream of a channel takes one, more viewers of the same channel share
// it (onair feeds them from one session), and it is free again when the
// channel's last stream ends. A tune of another channel beyond the count is
// answered 503 with a message saying so. It is one mutex with short critical
// sections.
type Tuners struct {
	n     int
	mu    sync.Mutex
	tuned map[string]int // channel → streams
}

// NewTuners returns a limit of n tuners (DefaultTuners when n <= 0, at most
// MaxTuners).
func NewTuners(n int) *Tuners {
	if n <= 0 {
		n = DefaultTuners
	}
	return &Tuners{n: min(n, MaxTuners), tuned: map[string]int{}}
}

// Count is the tuner count.
func (t *Tuners) Count() int { return t.n }

// InUse is how many tuners stream now: the channels tuned.
func (t *Tuners) InUse() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tuned)
}

// acquire takes channel's tuner (shared when it is tuned already), reporting
// false when it is not and all tuners are in use.
func (t *Tuners) acquire(channel string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tuned[channel] == 0 && len(t.tuned) >= t.n {
		return false
	}
	t.tuned[channel]++
	return true
}

func (t *Tuners) release(channel string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tuned[channel]--; t.tuned[channel] <= 0 {
		delete(t.tuned, channel)
	}
}

// IsTune reports whether r tunes a channel: a GET of /channels/{id}.ts.
func IsTune(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/channels/")
	return ok && strings.HasSuffix(rest, ".ts") && len(rest) > len(".ts") && !strings.Contains(rest, "/")
}

// Middleware wraps the server's handler: each tune holds its channel's tuner
// while its stream lasts; other requests pass through untouched.
func (t *Tuners) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsTune(r) {
			next.ServeHTTP(w, r)
			return
		}
		channel := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/channels/"), ".ts")
		if !t.acquire(channel) {
			w.Header().Set("Retry-After", "10")
			httpError(w, http.StatusServiceUnavailable,
				fmt.Sprintf("all %d tuners are in use by other channels: stop watching one of them (or start onair with more --tuners)", t.n))
			return
		}
		defer t.release(channel)
		next.ServeHTTP(w, r)
	})
}
