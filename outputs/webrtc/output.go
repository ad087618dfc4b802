// Package webrtc serves each channel over WebRTC with WHEP (pion): POST
// /channels/{id}/whep with an SDP offer answers 201 with the SDP answer and a
// Location to DELETE when done.
//
// WebRTC carries H.264 without B-frames and Opus audio: a channel whose
// media has an Opus track gets audio, any other (AAC, the common case) is
// sent as video only, which Audio reports for the status API; a channel whose
// video has B-frames is refused with 422. Every peer is a viewer of the
// channel's shared session (package session) with its own bounded queue, so a
// slow or dead peer never slows the others. All ICE traffic goes through one
// UDP port.
//
// Specification: RFC 9725 (WHEP), RFC 6184 (H.264 over RTP), RFC 7587
// (Opus over RTP).
package webrtc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"

	"onair/muxer"
	"onair/outputs/session"
)

// Sessions is what the Output needs of the shared sessions; *session.Manager
// satisfies it.
type Sessions interface {
	Subscribe(id, kind string) (*session.Sub, error)
}

// Kind is the name of this output in session viewer counts.
const Kind = "webrtc"

// Output is the WHEP endpoint. One mutex guards the map of peers; every
// peer has one goroutine owned by the Output, which Close cancels and waits
// for.
type Output struct {
	cfg      Config
	sessions Sessions
	api      *pion.API
	udp      net.PacketConn
	mux      *http.ServeMux

	mu     sync.Mutex
	peers  map[string]*peer
	audio  map[string]string // channel -> last audio codec seen
	closed bool
	wg     sync.WaitGroup
}

// New listens on Config.UDPAddress and returns an Output.
func New(cfg Config, sessions Sessions) (*Output, error) {
	cfg = cfg.withDefaults()
	conn, err := net.ListenPacket("udp", cfg.UDPAddress)
	if err != nil {
		return nil, fmt.Errorf("webrtc: ICE UDP port: %w", err)
	}
	var se pion.SettingEngine
	se.SetICEUDPMux(pion.NewICEUDPMux(nil, conn))
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6})
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{External: cfg.PublicIPs, AsCandidateType: pion.ICECandidateTypeHost}); err != nil {
			conn.Close()
			return nil, fmt.Errorf("webrtc: public IPs: %w", err)
		}
	}
	me := &pion.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		conn.Close()
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(me, ir); err != nil {
		conn.Close()
		return nil, err
	}
	o := &Output{
		cfg: cfg, sessions: sessions, udp: conn, mux: http.NewServeMux(),
		api:   pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir)),
		peers: map[string]*peer{}, audio: map[string]string{},
	}
	o.Register(o.mux)
	return o, nil
}

// UDPAddr is the ICE UDP address.
func (o *Output) UDPAddr() net.Addr { return o.udp.LocalAddr() }

// Register adds the Output's routes to mux:
//
//	POST    /channels/{id}/whep         SDP offer in, SDP answer out (201)
//	DELETE  /channels/{id}/whep/{peer}  end a session
//	OPTIONS both, for CORS preflight
func (o *Output) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /channels/{id}/whep", o.servePost)
	mux.HandleFunc("DELETE /channels/{id}/whep/{peer}", o.serveDelete)
	mux.HandleFunc("OPTIONS /channels/{id}/whep", servePreflight)
	mux.HandleFunc("OPTIONS /channels/{id}/whep/{peer}", servePreflight)
}

// ServeHTTP serves the routes of Register.
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.mux.ServeHTTP(w, r) }

// Close ends every peer, waits for them, and closes the UDP port.
func (o *Output) Close() error {
	o.mu.Lock()
	o.closed = true
	peers := make([]*peer, 0, len(o.peers))
	for _, p := range o.peers {
		peers = append(peers, p)
	}
	o.mu.Unlock()
	for _, p := range peers {
		p.stop()
	}
	o.wg.Wait()
	return o.udp.Close()
}

// Viewers returns how many WebRTC peers watch channel id.
func (o *Output) Viewers(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, p := range o.peers {
		if p.channel == id {
			n++
		}
	}
	return n
}

// Audio reports whether channel id is sent with audio over WebRTC, and why
// not: WebRTC carries Opus only. It uses the codec of the stream on air
// (Config.StreamCodecs), else the last one a peer saw.
func (o *Output) Audio(id string) (bool, string) {
	codec := ""
	if o.cfg.StreamCodecs != nil {
		if _, a, err := o.cfg.StreamCodecs(id); err == nil {
			codec = a
		}
	}
	if codec == "" {
		o.mu.Lock()
		codec = o.audio[id]
		o.mu.Unlock()
	}
	return AudioFor(codec)
}

// AudioFor says whether a stream with audio codec codec ("aac", "opus", ""
// for none) has audio over WebRTC, and why not.
func AudioFor(codec string) (bool, string) {
	switch strings.ToLower(codec) {
	case "opus":
		return true, ""
	case "":
		return false, "the channel has no audio track"
	default:
		return false, "the channel's audio is " + strings.ToUpper(codec) + "; WebRTC carries Opus only, so WebRTC viewers get video only"
	}
}

func servePreflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	w.WriteHeader(http.StatusNoContent)
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location")
}

// ErrBFrames is the error for a channel whose video has B-frames.
var ErrBFrames = errors.New("the channel's video has B-frames, which WebRTC cannot carry: watch it over HLS, continuous TS or RTSP")

// servePost answers a WHEP offer.
func (o *Output) servePost(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	id := r.PathValue("id")
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "the offer must be sent as Content-Type: application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, o.cfg.MaxBody+1))
	if err != nil {
		http.Error(w, "reading the offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	if int64(len(body)) > o.cfg.MaxBody {
		http.Error(w, "the SDP offer is larger than "+strconv.FormatInt(o.cfg.MaxBody, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	if !strings.HasPrefix(strings.TrimSpace(string(body)), "v=0") {
		http.Error(w, "invalid SDP offer: it must start with v=0", http.StatusBadRequest)
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
	var first session.Batch
	select {
	case b, ok := <-sub.C():
		if !ok {
			sub.Close()
			http.Error(w, "channel "+strconv.Quote(id)+" stopped", http.StatusServiceUnavailable)
			return
		}
		first = b
	case <-r.Context().Done():
		sub.Close()
		return
	}
	video, audio, err := o.tracks(id, first.Seg)
	if err != nil {
		sub.Close()
		http.Error(w, "channel "+strconv.Quote(id)+": "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	p, answer, err := o.newPeer(id, sub, first, video, audio, string(body))
	if err != nil {
		sub.Close()
		var bad *badOfferError
		if errors.As(err, &bad) {
			http.Error(w, "invalid SDP offer: "+bad.err.Error(), http.StatusBadRequest)
			return
		}
		o.cfg.Logger.Warn("whep", "channel", id, "err", err)
		http.Error(w, "could not answer the offer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", "/channels/"+id+"/whep/"+p.id)
	h.Set("ETag", `"`+p.id+`"`)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// tracks returns the muxer track indexes of the video (H.264) and of the
// audio sent (Opus), -1 for none, refusing B-frames.
func (o *Output) tracks(id string, seg *session.Segment) (video, audio int, err error) {
	video, audio = -1, -1
	audioCodec := ""
	for i, t := range seg.Config.Tracks {
		switch {
		case t.Codec == muxer.CodecH264 && video < 0:
			video = i
		case t.Codec.IsVideo() && video < 0:
			return 0, 0, fmt.Errorf("its video is %s; WebRTC carries H.264 only here", t.Codec)
		case t.Codec == muxer.CodecOpus && audio < 0:
			audio, audioCodec = i, "opus"
		case !t.Codec.IsVideo() && audioCodec == "":
			audioCodec = strings.ToLower(t.Codec.String())
		}
	}
	o.mu.Lock()
	o.audio[id] = audioCodec
	o.mu.Unlock()
	if video < 0 {
		return 0, 0, errors.New("it has no video")
	}
	for _, u := range seg.Units {
		if u.Track == video && u.PTS != u.DTS {
			return 0, 0, ErrBFrames
		}
	}
	return video, audio, nil
}

// serveDelete ends a peer (WHEP session teardown).
func (o *Output) serveDelete(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	o.mu.Lock()
	p := o.peers[r.PathValue("peer")]
	o.mu.Unlock()
	if p == nil || p.channel != r.PathValue("id") {
		http.Error(w, "no such WHEP session", http.StatusNotFound)
		return
	}
	p.stop()
	w.WriteHeader(http.StatusOK)
}

// badOfferError is an offer pion refused.
type badOfferError struct{ err error }

func (e *badOfferError) Error() string { return "invalid SDP offer: " + e.err.Error() }
func (e *badOfferError) Unwrap() error { return e.err }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
