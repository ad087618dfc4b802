package hls

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// maxViewersPerChannel bounds the clients remembered per channel, so that a
// flood of distinct clients cannot grow memory without limit.
const maxViewersPerChannel = 1 << 16

// ViewerSet counts the clients that fetched a channel's playlist (or DASH
// manifest) recently. HLS and DASH have no session: a client is its address
// and user agent, and it is watching while it keeps polling (players poll
// every target duration or faster). The zero value is ready; it is safe for
// concurrent use (one mutex, short critical sections).
type ViewerSet struct {
	mu   sync.Mutex
	seen map[string]map[viewerKey]time.Time // channel → client → last poll
}

type viewerKey struct{ addr, agent string }

func clientOf(r *http.Request) viewerKey {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	agent := r.UserAgent()
	if len(agent) > 200 {
		agent = agent[:200]
	}
	return viewerKey{addr: host, agent: agent}
}

// Poll records that r polled channel id at now.
func (v *ViewerSet) Poll(id string, r *http.Request, now time.Time) {
	k := clientOf(r)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = make(map[string]map[viewerKey]time.Time)
	}
	m := v.seen[id]
	if m == nil {
		m = make(map[viewerKey]time.Time)
		v.seen[id] = m
	}
	if _, ok := m[k]; !ok && len(m) >= maxViewersPerChannel {
		return
	}
	m[k] = now
}

// Count returns the clients of channel id that polled within idle before
// now, forgetting the others.
func (v *ViewerSet) Count(id string, now time.Time, idle time.Duration) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.seen[id]
	for k, t := range m {
		if now.Sub(t) > idle {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		delete(v.seen, id)
	}
	return len(m)
}

// Viewers returns how many clients are watching channel id: those that
// fetched its media playlist within the last three target durations.
func (o *Output) Viewers(id string) int {
	ch, ok := o.reg.Channel(id)
	if !ok {
		return 0
	}
	return o.viewers.Count(id, o.clock.Now(), ViewerIdle(ch.TargetDuration()))
}

// ViewerIdle is how long a client that stops polling a playlist of target
// duration target still counts as a viewer: three target durations.
func ViewerIdle(target time.Duration) time.Duration {
	return 3 * target
}
