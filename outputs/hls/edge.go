package hls

import (
	"context"
	"sync"
	"time"
)

// The wall clock may step (NTP, an operator, a VM resumed). Playlists follow
// the clock, and media sequence numbers come from the playout log, so a step
// forward skips ahead: later sequence numbers, none repeated. A step back
// would list older segments again under a lower EXT-X-MEDIA-SEQUENCE, which
// RFC 8216 (6.2.1) forbids and which makes players stall or rewind. So an
// Output never lets a channel's live edge go back within a process: while the
// clock reads earlier than the end of the newest segment it has listed, the
// playlist is the one of that moment (frozen), and every segment up to that
// edge stays servable, until the clock catches up.

// edge is the newest segment listed in a channel's playlist.
type edge struct {
	seq int64
	at  time.Time // when that playlist was made: its segments had all ended then
}

type edges struct {
	mu sync.Mutex
	m  map[string]edge
}

// get returns channel's edge.
func (e *edges) get(channel string) (edge, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ed, ok := e.m[channel]
	return ed, ok
}

// raise records that a playlist listing up to seq was made at now.
func (e *edges) raise(channel string, seq int64, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]edge{}
	}
	if ed, ok := e.m[channel]; !ok || seq > ed.seq || (seq == ed.seq && now.After(ed.at)) {
		e.m[channel] = edge{seq: seq, at: now}
	}
}

// listed reports whether seq of channel was listed in a playlist already.
func (e *edges) listed(channel string, seq int64) bool {
	ed, ok := e.get(channel)
	return ok && seq <= ed.seq
}

type publishedKey struct{}

// withPublished marks ctx as the generation of a segment already listed in a
// playlist: it is served even when the clock, stepped back, says it ends in
// the future.
func withPublished(ctx context.Context) context.Context {
	return context.WithValue(ctx, publishedKey{}, true)
}

// Published reports whether ctx is a Segment call for a segment already
// listed in a playlist, which a Channel must serve even if its end is after
// its clock's now (the clock stepped back). See edge.go.
func Published(ctx context.Context) bool {
	v, _ := ctx.Value(publishedKey{}).(bool)
	return v
}
