package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"onair/engine"
	"onair/outputs/rtsp"
	"onair/outputs/session"
	"onair/outputs/tsstream"
	"onair/outputs/webrtc"
)

// pushOutputs are the outputs fed by the shared channel sessions: continuous
// TS, RTSP (nil when --rtsp is empty) and WebRTC.
type pushOutputs struct {
	sessions *session.Manager
	ts       *tsstream.Output
	rtsp     *rtsp.Output
	whep     *webrtc.Output
}

// startPushOutputs starts the push outputs of serve's flags.
func startPushOutputs(c common, mgr *engine.Manager, clock engine.Clock, log *slog.Logger) (*pushOutputs, error) {
	p := &pushOutputs{sessions: session.New(session.Config{Logger: log}, session.EngineRegistry{M: mgr}, clock)}
	p.ts = tsstream.New(tsstream.Config{
		Logger:   log,
		Deadline: func(d time.Duration) time.Time { return clock.Now().Add(d) },
	}, p.sessions)
	if c.rtsp != "" {
		cfg := rtsp.Config{Address: c.rtsp, Logger: log}
		if c.rtspUDP != "0" && c.rtspUDP != "" {
			port, err := strconv.Atoi(c.rtspUDP)
			if err != nil || port <= 0 || port%2 != 0 || port > 65534 {
				p.close()
				return nil, usageError("--rtsp-udp must be an even port number (RTCP uses the next one) or 0: %q", c.rtspUDP)
			}
			host, _, err := net.SplitHostPort(c.rtsp)
			if err != nil {
				p.close()
				return nil, usageError("--rtsp: %v", err)
			}
			cfg.UDPRTPAddress = net.JoinHostPort(host, strconv.Itoa(port))
			cfg.UDPRTCPAddress = net.JoinHostPort(host, strconv.Itoa(port+1))
		}
		p.rtsp = rtsp.New(cfg, p.sessions, clock)
		if err := p.rtsp.Start(); err != nil {
			p.rtsp = nil
			p.close()
			return nil, err
		}
	}
	udp := c.webrtcUDP
	if _, _, err := net.SplitHostPort(udp); err != nil {
		udp = ":" + udp
	}
	whep, err := webrtc.New(webrtc.Config{
		UDPAddress: udp, Logger: log,
		StreamCodecs: func(id string) (string, string, error) {
			ch, ok := mgr.Get(id)
			if !ok {
				return "", "", fmt.Errorf("no such channel: %q", id)
			}
			_, info, err := ch.StreamInfo(context.Background(), clock.Now())
			return info.VideoCodec, info.AudioCodec, err
		},
	}, p.sessions)
	if err != nil {
		p.close()
		return nil, err
	}
	p.whep = whep
	return p, nil
}

// addViewers adds the push outputs' viewer counts to the status API's map.
func (p *pushOutputs) addViewers(m map[string]func(id string) int) {
	m[tsstream.Kind] = p.ts.Viewers
	m[webrtc.Kind] = p.whep.Viewers
	if p.rtsp != nil {
		m[rtsp.Kind] = p.rtsp.Viewers
	}
}

// close stops the outputs, then the sessions.
func (p *pushOutputs) close() {
	if p.whep != nil {
		_ = p.whep.Close()
	}
	if p.rtsp != nil {
		_ = p.rtsp.Close()
	}
	_ = p.sessions.Close()
}

// outputs says in the status API what the push outputs carry of a channel:
// WebRTC sends Opus audio only, so a channel with AAC is video only there.
func (p *pushOutputs) outputs(id string) map[string]any {
	if p.whep == nil {
		return nil
	}
	audio, reason := p.whep.Audio(id)
	w := map[string]any{"audio": audio}
	if reason != "" {
		w["audio_reason"] = reason
	}
	return map[string]any{webrtc.Kind: w}
}

// describe prints where the push outputs answer.
func (p *pushOutputs) describe(w io.Writer, base string) {
	fmt.Fprintf(w, "  ts         %s/channels/{id}.ts\n", base)
	if p.rtsp != nil {
		fmt.Fprintf(w, "  rtsp       rtsp://%s/{id}\n", displayAddr(p.rtsp.NetAddr()))
	}
	fmt.Fprintf(w, "  whep       %s/channels/{id}/whep (ICE on UDP %s)\n", base, p.whep.UDPAddr())
}
