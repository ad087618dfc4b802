package webrtc

import (
	"errors"
	"sync"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"onair/engine"
	"onair/muxer"
	"onair/outputs/session"
)

// peer is one WHEP viewer.
type peer struct {
	o       *Output
	id      string
	channel string
	pc      *pion.PeerConnection
	sub     *session.Sub
	first   session.Batch

	videoTrack, audioTrack *pion.TrackLocalStaticSample
	video, audio           int // muxer track indexes, -1 for none

	connected chan struct{}
	done      chan struct{}
	stopOnce  sync.Once
	connOnce  sync.Once
}

// newPeer answers offer and starts the peer's goroutine.
func (o *Output) newPeer(id string, sub *session.Sub, first session.Batch, video, audio int, offer string) (*peer, string, error) {
	pc, err := o.api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &peer{
		o: o, id: newID(), channel: id, pc: pc, sub: sub, first: first, video: video, audio: audio,
		connected: make(chan struct{}), done: make(chan struct{}),
	}
	fail := func(err error) (*peer, string, error) {
		_ = pc.Close()
		return nil, "", err
	}
	p.videoTrack, err = pion.NewTrackLocalStaticSample(pion.RTPCodecCapability{
		MimeType: pion.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "onair-"+id)
	if err != nil {
		return fail(err)
	}
	if err = addSendOnly(pc, p.videoTrack); err != nil {
		return fail(err)
	}
	if audio >= 0 {
		p.audioTrack, err = pion.NewTrackLocalStaticSample(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "onair-"+id)
		if err != nil {
			return fail(err)
		}
		if err = addSendOnly(pc, p.audioTrack); err != nil {
			return fail(err)
		}
	}
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		switch s {
		case pion.PeerConnectionStateConnected:
			p.connOnce.Do(func() { close(p.connected) })
		case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed, pion.PeerConnectionStateDisconnected:
			go p.stop()
		}
	})
	if err = pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(&badOfferError{err})
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(&badOfferError{err})
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err = pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	<-gathered // one UDP mux: host candidates only, gathered at once

	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return fail(errors.New("shutting down"))
	}
	o.peers[p.id] = p
	o.wg.Add(1)
	o.mu.Unlock()
	go func() {
		defer o.wg.Done()
		p.run()
	}()
	return p, pc.LocalDescription().SDP, nil
}

func addSendOnly(pc *pion.PeerConnection, t pion.TrackLocal) error {
	tr, err := pc.AddTransceiverFromTrack(t, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	// Read RTCP so interceptors (NACK, reports) work.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// stop ends the peer; safe to call more than once and from any goroutine.
func (p *peer) stop() {
	p.stopOnce.Do(func() { close(p.done) })
}

// run waits for the connection, then writes the session's batches as
// samples until the peer or the session ends.
func (p *peer) run() {
	defer func() {
		p.sub.Close()
		_ = p.pc.Close()
		p.o.mu.Lock()
		delete(p.o.peers, p.id)
		p.o.mu.Unlock()
	}()
	timer := time.NewTimer(p.o.cfg.ConnectTimeout) //nolint:forbidigo // network timeout on the network's clock
	defer timer.Stop()
	select {
	case <-p.connected:
	case <-p.done:
		return
	case <-timer.C:
		p.o.cfg.Logger.Info("whep peer never connected", "channel", p.channel)
		return
	}
	var w sampleWriter
	w.write(p, p.first)
	for {
		select {
		case <-p.done:
			return
		case b, ok := <-p.sub.C():
			if !ok {
				return
			}
			w.write(p, b)
		}
	}
}

// sampleWriter turns units into samples, with each sample's duration the
// distance to the previous unit of its track.
type sampleWriter struct {
	lastVideo, lastAudio int64
	haveVideo, haveAudio bool
	buf                  []byte
	nalus                [][]byte // scratch: the NAL units of the unit being written
}

var startCode = []byte{0, 0, 0, 1}

func (w *sampleWriter) write(p *peer, b session.Batch) {
	for _, u := range b.Units() {
		switch u.Track {
		case p.video:
			d := time.Second / 25
			if w.haveVideo && !b.Jump && u.DTS > w.lastVideo && u.DTS-w.lastVideo < engine.Hz {
				d = engine.TicksToDuration(u.DTS - w.lastVideo)
			}
			w.lastVideo, w.haveVideo = u.DTS, true
			w.buf = w.buf[:0]
			w.nalus = muxer.AppendNALUs(w.nalus[:0], &u, muxer.CodecH264)
			for _, n := range w.nalus {
				w.buf = append(w.buf, startCode...)
				w.buf = append(w.buf, n...)
			}
			_ = p.videoTrack.WriteSample(media.Sample{Data: w.buf, Duration: d})
		case p.audio:
			if p.audioTrack == nil {
				continue
			}
			d := 20 * time.Millisecond
			if w.haveAudio && u.PTS > w.lastAudio && u.PTS-w.lastAudio < engine.Hz {
				d = engine.TicksToDuration(u.PTS - w.lastAudio)
			}
			w.lastAudio, w.haveAudio = u.PTS, true
			for _, pkt := range u.Data {
				_ = p.audioTrack.WriteSample(media.Sample{Data: pkt, Duration: d})
			}
		}
	}
}
