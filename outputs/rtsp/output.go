// Package rtsp serves each channel over RTSP (gortsplib v5): one path per
// channel, rtsp://HOST:8554/{id}, over TCP (interleaved) and UDP.
//
// A channel's RTSP stream is one viewer of the channel's shared session
// (package session); gortsplib fans its RTP packets out to every reader
// with a bounded queue each. The stream has one RTP encoder per track for
// its whole life, so sequence numbers run on across items, and RTP
// timestamps are the channel's media timestamps (90 kHz for video, the
// sample rate for audio), which are continuous across items too. A change
// of SPS/PPS is published with ServerStream.ReloadDesc.
//
// Specification: RFC 2326 / RFC 7826 (RTSP), RFC 6184 (H.264 over RTP),
// RFC 3640 (AAC over RTP), RFC 7587 (Opus over RTP).
package rtsp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"onair/outputs/session"
)

// Sessions is what the Output needs of the shared sessions; *session.Manager
// satisfies it.
type Sessions interface {
	Subscribe(id, kind string) (*session.Sub, error)
}

// Clock gives the Output wall time (for the grace period); engine.Clock
// satisfies it.
type Clock interface{ Now() time.Time }

// Kind is the name of this output in session viewer counts.
const Kind = "rtsp"

// Output is the RTSP server. One mutex guards its map of channel streams and
// its readers; each channel stream has one goroutine (the pump) owned by the
// Output, which Close cancels and waits for.
type Output struct {
	cfg      Config
	sessions Sessions
	clock    Clock
	server   *gortsplib.Server

	mu      sync.Mutex
	streams map[string]*stream
	readers map[*gortsplib.ServerSession]*stream // session -> its stream, once SETUP
	closed  bool
	wg      sync.WaitGroup
}

// New returns an Output; Start listens.
func New(cfg Config, sessions Sessions, clock Clock) *Output {
	cfg = cfg.withDefaults()
	o := &Output{
		cfg: cfg, sessions: sessions, clock: clock,
		streams: map[string]*stream{}, readers: map[*gortsplib.ServerSession]*stream{},
	}
	o.server = &gortsplib.Server{
		Handler:        o,
		RTSPAddress:    cfg.Address,
		UDPRTPAddress:  cfg.UDPRTPAddress,
		UDPRTCPAddress: cfg.UDPRTCPAddress,
		WriteQueueSize: cfg.WriteQueue,
		Listen:         listenBatched,
		ListenPacket:   listenPacketBatched,
	}
	return o
}

// Start listens on the configured addresses.
func (o *Output) Start() error {
	if err := o.server.Start(); err != nil {
		return fmt.Errorf("rtsp server on %s: %w", o.cfg.Address, err)
	}
	return nil
}

// Addr is the address the RTSP server listens on (after Start).
func (o *Output) Addr() string { return o.NetAddr().String() }

// NetAddr is the address the RTSP server listens on (after Start).
func (o *Output) NetAddr() net.Addr { return o.server.NetListener().Addr() }

// Close stops the server and every channel stream, and waits for them.
func (o *Output) Close() error {
	o.mu.Lock()
	o.closed = true
	streams := make([]*stream, 0, len(o.streams))
	for _, s := range o.streams {
		streams = append(streams, s)
	}
	o.mu.Unlock()
	for _, s := range streams {
		s.sub.Close()
	}
	o.wg.Wait()
	o.server.Close()
	return nil
}

// Viewers returns how many RTSP readers watch channel id (sessions that did
// SETUP on its path).
func (o *Output) Viewers(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, s := range o.readers {
		if s.id == id {
			n++
		}
	}
	return n
}

// channelID turns an RTSP path into a channel id: "/news" and "/news/" (and
// the control suffixes some clients add are not paths) give "news".
func channelID(path string) string {
	return strings.Trim(path, "/")
}

var errNoChannel = errors.New("no such channel")

// stream returns channel id's stream, starting it (and the channel's shared
// session) when needed. It waits for the session's first segment, which
// gives the stream's description.
func (o *Output) stream(id string) (*stream, error) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil, errors.New("shutting down")
	}
	if s := o.streams[id]; s != nil {
		s.touch(o.clock.Now())
		o.mu.Unlock()
		<-s.ready
		if s.err != nil {
			return nil, s.err
		}
		return s, nil
	}
	s := &stream{o: o, id: id, ready: make(chan struct{})}
	s.touch(o.clock.Now())
	o.streams[id] = s
	o.mu.Unlock()

	sub, err := o.sessions.Subscribe(id, Kind)
	if err == nil {
		s.sub = sub
		err = s.init()
	}
	if err != nil {
		if sub != nil {
			sub.Close()
		}
		s.err = err
		close(s.ready)
		o.mu.Lock()
		delete(o.streams, id)
		o.mu.Unlock()
		if errors.Is(err, session.ErrNoChannel) {
			return nil, errNoChannel
		}
		return nil, err
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		sub.Close()
		s.stream.Close()
		s.err = errors.New("shutting down")
		close(s.ready)
		return nil, s.err
	}
	o.wg.Add(1)
	o.mu.Unlock()
	close(s.ready)
	go func() {
		defer o.wg.Done()
		s.pump()
		o.mu.Lock()
		if o.streams[id] == s {
			delete(o.streams, id)
		}
		o.mu.Unlock()
		s.stream.Close()
	}()
	return s, nil
}

// idle reports whether stream s has had no reader for Grace.
func (o *Output) idle(s *stream, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s.readers > 0 {
		s.last = now
		return false
	}
	if now.Sub(s.last) < o.cfg.Grace {
		return false
	}
	if o.streams[s.id] == s {
		delete(o.streams, s.id) // new requests start a new stream
	}
	return true
}

func notFound(id string) *base.Response {
	return &base.Response{StatusCode: base.StatusNotFound}
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (o *Output) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	id := channelID(ctx.Path)
	s, err := o.stream(id)
	if err != nil {
		if errors.Is(err, errNoChannel) {
			return notFound(id), nil, fmt.Errorf("no such channel: %q", id)
		}
		o.cfg.Logger.Warn("rtsp describe", "channel", id, "err", err)
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (o *Output) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	id := channelID(ctx.Path)
	// Some clients SETUP ".../{id}/trackID=0": the channel is the first part.
	if i := strings.IndexByte(id, '/'); i >= 0 {
		id = id[:i]
	}
	s, err := o.stream(id)
	if err != nil {
		if errors.Is(err, errNoChannel) {
			return notFound(id), nil, fmt.Errorf("no such channel: %q", id)
		}
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, err
	}
	o.mu.Lock()
	if _, ok := o.readers[ctx.Session]; !ok {
		o.readers[ctx.Session] = s
		s.readers++
	}
	o.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (o *Output) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (o *Output) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	o.mu.Lock()
	if s, ok := o.readers[ctx.Session]; ok {
		delete(o.readers, ctx.Session)
		s.readers--
		s.last = o.clock.Now()
	}
	o.mu.Unlock()
}

var (
	_ gortsplib.ServerHandlerOnDescribe     = (*Output)(nil)
	_ gortsplib.ServerHandlerOnSetup        = (*Output)(nil)
	_ gortsplib.ServerHandlerOnPlay         = (*Output)(nil)
	_ gortsplib.ServerHandlerOnSessionClose = (*Output)(nil)
)
