// Package hls serves onair channels as live HLS with MPEG-TS segments:
// multivariant and media playlists, segments made on request from the
// playout log, an in-memory segment cache within a byte budget, and prefetch
// of the next segments while a channel is watched.
//
// Every segment is a pure function of the log, so playlists are computed from
// the clock at each request, segments are immutable (cached forever by any
// HTTP cache) and nothing is kept per viewer.
//
// Specification: RFC 8216 (HTTP Live Streaming).
package hls

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Output is the HLS output of all channels of a Registry. It is an
// http.Handler and can also Register its routes on another mux.
//
// It owns the goroutines of segment generation and prefetch, with one
// context and WaitGroup: Close cancels them and waits. Its cache is guarded
// by one mutex with short critical sections; counters are atomic.
type Output struct {
	cfg   Config
	reg   Registry
	clock Clock
	mux   *http.ServeMux

	cache    *segmentCache
	prefetch *prefetcher // nil when disabled
	viewers  ViewerSet
	edges    edges // newest segment listed per channel: the live edge never goes back (edge.go)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed against wg.Add after Close
	closed bool

	stats counters
}

// Stats are an Output's counters since New.
type Stats struct {
	// Hits and Misses count segment requests answered from the cache and
	// not; Shared counts the misses that waited on a generation already
	// running (singleflight) rather than starting one.
	Hits, Misses, Shared uint64
	// Generations counts Channel.Segment calls; GenerationErrors those that
	// failed; BytesGenerated the bytes they returned.
	Generations, GenerationErrors, BytesGenerated uint64
	// BytesServed counts segment body bytes written to clients.
	BytesServed uint64
	// CacheBytes and CacheEntries are held now; Evictions were made to stay
	// within Config.CacheBytes.
	CacheBytes   int64
	CacheEntries int
	Evictions    uint64
	// Prefetched counts generations started by prefetch; PrefetchDropped the
	// prefetches given up because a bounded queue was full or the cache
	// turned over too fast to keep a prefetched segment until it is asked for.
	Prefetched, PrefetchDropped uint64
	// InvalidSegmentLists counts segment lists a Channel returned that broke
	// its contract (a gap in Seq, a non-positive duration, an end in the
	// future); playlists then keep the newest valid run.
	InvalidSegmentLists uint64
}

type counters struct {
	hits, misses, shared                          atomic.Uint64
	generations, generationErrors, bytesGenerated atomic.Uint64
	bytesServed                                   atomic.Uint64
	prefetched, prefetchDropped                   atomic.Uint64
	invalidSegmentLists                           atomic.Uint64
}

// New returns an Output serving the channels of reg on clock's time. Call
// Close to stop its goroutines.
func New(cfg Config, reg Registry, clock Clock) *Output {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	o := &Output{
		cfg:    cfg,
		reg:    reg,
		clock:  clock,
		mux:    http.NewServeMux(),
		cache:  newSegmentCache(cfg.CacheBytes),
		ctx:    ctx,
		cancel: cancel,
	}
	o.Register(o.mux)
	if cfg.Prefetch > 0 {
		o.prefetch = newPrefetcher(o)
		o.prefetch.start()
	}
	return o
}

// Register adds the Output's routes to mux:
//
//	GET /channels/{id}/master.m3u8   multivariant playlist
//	GET /channels/{id}/index.m3u8    media playlist (live sliding window)
//	GET /channels/{id}/seg/{seq}.ts  MPEG-TS segment
//
// each also answering HEAD and, for CORS preflight, OPTIONS.
func (o *Output) Register(mux *http.ServeMux) {
	for path, h := range map[string]http.HandlerFunc{
		"/channels/{id}/master.m3u8": o.serveMaster,
		"/channels/{id}/index.m3u8":  o.serveIndex,
		"/channels/{id}/seg/{file}":  o.serveSegment,
	} {
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc("OPTIONS "+path, servePreflight)
	}
}

// ServeHTTP serves the routes of Register.
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mux.ServeHTTP(w, r)
}

// Close stops prefetch and cancels generations in flight, and waits for their
// goroutines. Requests that need a generation afterwards get 503.
func (o *Output) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
	return nil
}

// Stats returns the counters.
func (o *Output) Stats() Stats {
	used, entries, evictions := o.cache.usage()
	c := &o.stats
	return Stats{
		Hits:                c.hits.Load(),
		Misses:              c.misses.Load(),
		Shared:              c.shared.Load(),
		Generations:         c.generations.Load(),
		GenerationErrors:    c.generationErrors.Load(),
		BytesGenerated:      c.bytesGenerated.Load(),
		BytesServed:         c.bytesServed.Load(),
		CacheBytes:          used,
		CacheEntries:        entries,
		Evictions:           evictions,
		Prefetched:          c.prefetched.Load(),
		PrefetchDropped:     c.prefetchDropped.Load(),
		InvalidSegmentLists: c.invalidSegmentLists.Load(),
	}
}

// goOwned runs f on a goroutine owned by the Output; false when closed.
func (o *Output) goOwned(f func()) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		f()
	}()
	return true
}

// channel looks up the request's channel, answering 404 when unknown.
func (o *Output) channel(w http.ResponseWriter, r *http.Request) (Channel, bool) {
	id := r.PathValue("id")
	ch, ok := o.reg.Channel(id)
	if !ok || ch == nil {
		writeError(w, http.StatusNotFound, "no such channel: "+strconv.Quote(id))
		return nil, false
	}
	return ch, true
}

// serveMaster answers the multivariant playlist: index.m3u8, then the
// variants of Config.ExtraVariants.
func (o *Output) serveMaster(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	ch, ok := o.channel(w, r)
	if !ok {
		return
	}
	variants := []StreamInf{{URI: "index.m3u8", Variant: ch.Variant()}}
	if o.cfg.ExtraVariants != nil {
		variants = append(variants, o.cfg.ExtraVariants(ch)...)
	}
	var b bytes.Buffer
	writeMultivariantPlaylist(&b, variants)
	writePlaylist(w, r, b.Bytes(), baseTarget(ch.TargetDuration()))
}

// serveIndex answers the media playlist of the window at this instant.
func (o *Output) serveIndex(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	ch, ok := o.channel(w, r)
	if !ok {
		return
	}
	now := o.clock.Now()
	win, err := o.window(ch, now)
	if ed, ok := o.edges.get(ch.ID()); err == nil && ok && (len(win.segs) == 0 || win.segs[len(win.segs)-1].Seq < ed.seq) {
		// The clock stepped back: keep the playlist of the newest edge.
		win, err = o.window(ch, ed.at)
	}
	if err != nil {
		o.cfg.Logger.Error("hls playlist", "channel", ch.ID(), "err", err)
		writeError(w, http.StatusInternalServerError, "playlist of channel "+strconv.Quote(ch.ID())+" failed")
		return
	}
	if len(win.segs) == 0 {
		writeUnavailable(w, now, now.Add(ch.TargetDuration()), "channel "+strconv.Quote(ch.ID())+" has no segment yet")
		return
	}
	o.viewers.Poll(ch.ID(), r, now)
	o.edges.raise(ch.ID(), win.segs[len(win.segs)-1].Seq, now)
	if o.prefetch != nil {
		o.prefetch.after(ch, win.segs[len(win.segs)-1].Seq)
	}
	var b bytes.Buffer
	writeMediaPlaylist(&b, win)
	writePlaylist(w, r, b.Bytes(), win.target)
}

// window selects ch's playlist window at now, counting broken contracts.
func (o *Output) window(ch Channel, now time.Time) (window, error) {
	win, err := selectWindow(&o.cfg, ch, now)
	if win.invalid {
		o.stats.invalidSegmentLists.Add(1)
	}
	return win, err
}

// serveSegment answers seg/{seq}.ts through ServeSegment: 400 for a
// malformed number, 404 for another file name.
func (o *Output) serveSegment(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	ch, ok := o.channel(w, r)
	if !ok {
		return
	}
	file := r.PathValue("file")
	num, ok := strings.CutSuffix(file, ".ts")
	if !ok {
		writeError(w, http.StatusNotFound, "no such file: "+strconv.Quote(file))
		return
	}
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != num {
		writeError(w, http.StatusBadRequest, "segment number must be a non-negative integer: "+strconv.Quote(num))
		return
	}
	o.ServeSegment(w, r, ch, seq, contentTypeSegment, nil)
}

// plainGet reports whether r is a GET with no range and no condition: the
// whole segment, which needs none of http.ServeContent's machinery.
func plainGet(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, k := range []string{"Range", "If-Range", "If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// gone reports whether segment seq, which ended at end, is too old to serve:
// it ended more than RetainWindows window durations before now, and it is
// more than RetainWindows-1 windows' worth of segments before the current
// window.
func (o *Output) gone(ch Channel, seq int64, end, now time.Time) (bool, error) {
	td := ch.TargetDuration()
	span := td * time.Duration(max(o.cfg.WindowSegments, o.cfg.MinWindowDurations))
	if !end.Before(now.Add(-span * time.Duration(o.cfg.RetainWindows))) {
		return false, nil
	}
	// Older than its time allowance: segments longer than the target may
	// make windows longer too; count segments instead.
	win, err := o.window(ch, now)
	if err != nil {
		return false, err
	}
	if len(win.segs) == 0 {
		return true, nil
	}
	keep := int64(len(win.segs)) * int64(o.cfg.RetainWindows-1)
	return seq < win.segs[0].Seq-keep, nil
}

// fetch returns segment seq of ch from the cache, or generates it, sharing a
// generation already running for it. The generation runs on an Output-owned
// goroutine under the Output's context, so a caller giving up (ctx) does not
// cancel it for the others. prefetch calls do not count as hits or misses.
func (o *Output) fetch(ctx context.Context, ch Channel, seq int64, prefetch bool) (*segment, error) {
	key := segKey{channel: ch.ID(), seq: seq}
	seg, f, leader := o.cache.acquire(key)
	if seg != nil {
		if !prefetch {
			o.stats.hits.Add(1)
			if o.cfg.Observer != nil {
				o.cfg.Observer.SegmentRequested(key.channel, true)
			}
		}
		return seg, nil
	}
	if !prefetch {
		o.stats.misses.Add(1)
		if o.cfg.Observer != nil {
			o.cfg.Observer.SegmentRequested(key.channel, false)
		}
		if !leader {
			o.stats.shared.Add(1)
		}
	}
	if leader && !o.goOwned(func() { o.generate(ch, key, f, prefetch) }) {
		o.cache.finish(key, f, nil, errClosed)
	}
	select {
	case <-f.done:
		return f.seg, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// generate runs the flight f of key.
func (o *Output) generate(ch Channel, key segKey, f *flight, prefetch bool) {
	o.stats.generations.Add(1)
	if prefetch {
		o.stats.prefetched.Add(1)
	}
	start := o.clock.Now()
	ctx := o.ctx
	if o.edges.listed(key.channel, key.seq) {
		ctx = withPublished(ctx)
	}
	data, err := ch.Segment(ctx, key.seq)
	if o.cfg.Observer != nil {
		o.cfg.Observer.SegmentGenerated(key.channel, key.seq, data, o.clock.Now().Sub(start), err)
	}
	if err != nil {
		o.stats.generationErrors.Add(1)
		if !errors.Is(err, ErrGone) && !errors.Is(err, ErrNotYet) && o.ctx.Err() == nil {
			o.cfg.Logger.Error("hls segment generation", "channel", key.channel, "seq", key.seq, "err", err)
		}
		o.cache.finish(key, f, nil, err)
		return
	}
	o.stats.bytesGenerated.Add(uint64(len(data)))
	seg := newSegment(data)
	seg.made = o.clock.Now()
	o.cache.finish(key, f, seg, nil)
}

var _ http.Handler = (*Output)(nil)
