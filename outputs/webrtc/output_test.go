package webrtc_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"onair/engine"
	"onair/outputs/session"
	"onair/outputs/session/sessiontest"
	"onair/outputs/webrtc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type rig struct {
	ch  *sessiontest.Channel
	m   *session.Manager
	out *webrtc.Output
	srv *httptest.Server
}

func newRig(t *testing.T, setup func(*sessiontest.Channel)) *rig {
	t.Helper()
	clock := engine.RealClock{}
	ch := sessiontest.New("news", clock.Now().Add(-10500*time.Millisecond))
	if setup != nil {
		setup(ch)
	}
	m := session.New(session.Config{Grace: 100 * time.Millisecond}, session.RegistryFunc(func(id string) (session.Channel, bool) {
		if id != "news" {
			return nil, false
		}
		return ch, true
	}), clock)
	out, err := webrtc.New(webrtc.Config{UDPAddress: "127.0.0.1:0"}, m)
	require.NoError(t, err)
	srv := httptest.NewServer(out)
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, out.Close())
		require.NoError(t, m.Close())
	})
	return &rig{ch: ch, m: m, out: out, srv: srv}
}

// offer makes a receive-only client and its complete offer.
func offer(t *testing.T) (*pion.PeerConnection, string) {
	t.Helper()
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := pion.NewAPI(pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeVideo, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
	require.NoError(t, err)
	_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeAudio, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
	require.NoError(t, err)
	o, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	g := pion.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(o))
	<-g
	return pc, pc.LocalDescription().SDP
}

func post(t *testing.T, url, ctype, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestGoClientReceivesWholeH264Frames(t *testing.T) {
	r := newRig(t, nil)
	pc, sdp := offer(t)
	defer pc.Close()

	var (
		mu        sync.Mutex
		frames    int
		keyframes int
		audio     int
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		wg.Add(1)
		defer wg.Done()
		if tr.Kind() == pion.RTPCodecTypeAudio {
			mu.Lock()
			audio++
			mu.Unlock()
			return
		}
		dec := &rtph264.Decoder{}
		if err := dec.Init(); err != nil {
			return
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			au, err := dec.Decode(pkt)
			if err != nil {
				continue
			}
			mu.Lock()
			frames++
			if h264.IsRandomAccess(au) {
				keyframes++
				sps, pps := false, false
				for _, n := range au {
					sps = sps || h264.NALUType(n[0]&0x1F) == h264.NALUTypeSPS
					pps = pps || h264.NALUType(n[0]&0x1F) == h264.NALUTypePPS
				}
				if !sps || !pps {
					t.Errorf("keyframe without parameter sets")
				}
			}
			mu.Unlock()
		}
	})

	resp, answer := post(t, r.srv.URL+"/channels/news/whep", "application/sdp", sdp) //nolint:bodyclose // post closes it
	require.Equal(t, http.StatusCreated, resp.StatusCode, answer)
	require.Equal(t, "application/sdp", resp.Header.Get("Content-Type"))
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/channels/news/whep/"), loc)
	require.NoError(t, pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answer}))
	require.Equal(t, 1, r.out.Viewers("news"))
	ok, why := r.out.Audio("news")
	require.False(t, ok)
	require.Contains(t, why, "Opus only")

	time.Sleep(10 * time.Second) //nolint:forbidigo // 10 s of real-time playback
	mu.Lock()
	// 10 s at 25 fps across three item boundaries, each segment (1 s) starting with an IDR.
	require.GreaterOrEqual(t, frames, 200, "whole frames reassembled")
	require.GreaterOrEqual(t, keyframes, 8)
	require.Zero(t, audio, "no audio track for an AAC channel")
	mu.Unlock()

	req, err := http.NewRequest(http.MethodDelete, r.srv.URL+loc, nil)
	require.NoError(t, err)
	dresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	dresp.Body.Close()
	require.Equal(t, http.StatusOK, dresp.StatusCode)
	require.Eventually(t, func() bool { return r.out.Viewers("news") == 0 }, 5*time.Second, 10*time.Millisecond)
	close(done)
	require.NoError(t, pc.Close())
	wg.Wait()
}

func TestRefusals(t *testing.T) {
	r := newRig(t, nil)
	pc, sdp := offer(t)
	defer pc.Close()
	for _, c := range []struct {
		name, path, ctype, body string
		status                  int
		msg                     string
	}{
		{"garbage", "/channels/news/whep", "application/sdp", "hello", http.StatusBadRequest, "invalid SDP offer"},
		{"broken sdp", "/channels/news/whep", "application/sdp", "v=0\r\nm=video x\r\n", http.StatusBadRequest, "invalid SDP offer"},
		{"content type", "/channels/news/whep", "text/plain", sdp, http.StatusUnsupportedMediaType, "application/sdp"},
		{"unknown channel", "/channels/nope/whep", "application/sdp", sdp, http.StatusNotFound, "no such channel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, r.srv.URL+c.path, c.ctype, c.body) //nolint:bodyclose // post closes it
			require.Equal(t, c.status, resp.StatusCode, body)
			require.Contains(t, body, c.msg)
		})
	}
	require.Equal(t, 0, r.out.Viewers("news"))
	req, err := http.NewRequest(http.MethodDelete, r.srv.URL+"/channels/news/whep/nope", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestBFramesRefused(t *testing.T) {
	r := newRig(t, func(ch *sessiontest.Channel) { ch.BFrames = true })
	pc, sdp := offer(t)
	defer pc.Close()
	resp, body := post(t, r.srv.URL+"/channels/news/whep", "application/sdp", sdp) //nolint:bodyclose // post closes it
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, "B-frames")
	require.Equal(t, 0, r.out.Viewers("news"))
	require.True(t, errors.Is(webrtc.ErrBFrames, webrtc.ErrBFrames))
}

func TestAudioFor(t *testing.T) {
	for codec, want := range map[string]bool{"opus": true, "aac": false, "": false, "ac3": false} {
		ok, why := webrtc.AudioFor(codec)
		require.Equal(t, want, ok, codec)
		require.Equal(t, want, why == "", codec)
	}
}
