package rtsp_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"onair/engine"
	"onair/outputs/rtsp"
	"onair/outputs/session"
	"onair/outputs/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freeUDPPair returns an even port p on 127.0.0.1 such that p and p+1 are free.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if p%2 != 0 || p > 65000 {
			continue
		}
		c2, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		c2.Close()
		return p
	}
	t.Fatal("no free UDP port pair")
	return 0
}

// start runs an RTSP Output over a fake channel "news" that has played
// 10.5 s, on the real clock (RTSP clients time out on a virtual one); opts
// adjust the channel.
func start(t *testing.T, opts ...func(*sessiontest.Channel)) (*rtsp.Output, *session.Manager) {
	t.Helper()
	clock := engine.RealClock{}
	ch := sessiontest.New("news", clock.Now().Add(-10500*time.Millisecond))
	for _, o := range opts {
		o(ch)
	}
	m := session.New(session.Config{Grace: 200 * time.Millisecond}, session.RegistryFunc(func(id string) (session.Channel, bool) {
		if id != "news" {
			return nil, false
		}
		return ch, true
	}), clock)
	p := freeUDPPair(t)
	out := rtsp.New(rtsp.Config{
		Address:       "127.0.0.1:0",
		UDPRTPAddress: fmt.Sprintf("127.0.0.1:%d", p), UDPRTCPAddress: fmt.Sprintf("127.0.0.1:%d", p+1),
		Grace: 300 * time.Millisecond,
	}, m, clock)
	require.NoError(t, out.Start())
	t.Cleanup(func() {
		require.NoError(t, out.Close())
		require.NoError(t, m.Close())
	})
	return out, m
}

// describe connects a gortsplib client to channel news of out over proto
// and describes it; the client closes with the test.
func describe(t *testing.T, out *rtsp.Output, proto gortsplib.Protocol) (*gortsplib.Client, *description.Session) {
	t.Helper()
	u, err := base.ParseURL("rtsp://" + out.Addr() + "/news")
	require.NoError(t, err)
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &proto}
	require.NoError(t, c.Start())
	t.Cleanup(c.Close)
	desc, _, err := c.Describe(u)
	require.NoError(t, err)
	return c, desc
}

func TestPlayAcrossItemsOverTCPAndUDP(t *testing.T) {
	for _, proto := range []gortsplib.Protocol{gortsplib.ProtocolTCP, gortsplib.ProtocolUDP} {
		t.Run(proto.String(), func(t *testing.T) {
			out, m := start(t)
			c, desc := describe(t, out, proto)
			var h *format.H264
			vm := desc.FindFormat(&h)
			require.NotNil(t, vm, "an H.264 video media")
			require.NotEmpty(t, h.SPS, "sprop-parameter-sets in the SDP")
			var aac *format.MPEG4Audio
			require.NotNil(t, desc.FindFormat(&aac), "an AAC media")
			require.Equal(t, 48000, aac.ClockRate())
			require.NoError(t, c.SetupAll(desc.BaseURL, desc.Medias))

			dec, err := h.CreateDecoder()
			require.NoError(t, err)
			var (
				mu        sync.Mutex
				seqs      []uint16
				stamps    []uint32
				keyframes int
				frames    int
				audio     int
			)
			c.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
				mu.Lock()
				defer mu.Unlock()
				if medi != vm {
					audio++
					return
				}
				seqs = append(seqs, pkt.SequenceNumber)
				au, derr := dec.Decode(pkt)
				if derr != nil {
					return
				}
				frames++
				stamps = append(stamps, pkt.Timestamp)
				if h264.IsRandomAccess(au) {
					keyframes++
				}
			})
			_, err = c.Play(nil)
			require.NoError(t, err)
			require.Eventually(t, func() bool { return out.Viewers("news") == 1 }, 2*time.Second, 10*time.Millisecond)
			time.Sleep(3500 * time.Millisecond) //nolint:forbidigo // real-time playback
			mu.Lock()
			defer mu.Unlock()
			// 3.5 s at 25 fps, across at least one item boundary (items are 3 s
			// of three 1 s segments, each starting with an IDR).
			require.GreaterOrEqual(t, frames, 80)
			require.GreaterOrEqual(t, keyframes, 3)
			require.Positive(t, audio)
			for i := 1; i < len(seqs); i++ {
				require.Equal(t, seqs[i-1]+1, seqs[i], "RTP sequence numbers continuous at packet %d", i)
			}
			for i := 1; i < len(stamps); i++ {
				require.Equal(t, uint32(90000/25), stamps[i]-stamps[i-1], "one frame per RTP timestamp step at frame %d", i)
			}
			require.Equal(t, 1, m.Stats().Sessions)
		})
	}
}

// TestPlayH265: a channel whose video is H.265 is described with its VPS,
// SPS and PPS (RFC 7798) and played: every access unit comes back whole
// through gortsplib's H.265 depacketizer, with continuous sequence numbers,
// and each item's first picture is an IDR.
func TestPlayH265(t *testing.T) {
	out, _ := start(t, func(c *sessiontest.Channel) { c.HEVC = true })
	c, desc := describe(t, out, gortsplib.ProtocolTCP)
	var h *format.H265
	vm := desc.FindFormat(&h)
	require.NotNil(t, vm, "an H.265 video media")
	require.NotEmpty(t, h.VPS, "sprop-vps")
	require.NotEmpty(t, h.SPS, "sprop-sps")
	require.NotEmpty(t, h.PPS, "sprop-pps")
	require.NoError(t, c.SetupAll(desc.BaseURL, desc.Medias))
	dec, err := h.CreateDecoder()
	require.NoError(t, err)
	var (
		mu     sync.Mutex
		seqs   []uint16
		frames int
		idrs   int
	)
	c.OnPacketRTP(vm, h, func(pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		seqs = append(seqs, pkt.SequenceNumber)
		au, derr := dec.Decode(pkt)
		if derr != nil {
			return
		}
		frames++
		for _, n := range au {
			if (n[0]>>1)&0x3F == 19 { // IDR_W_RADL
				idrs++
			}
		}
	})
	_, err = c.Play(nil)
	require.NoError(t, err)
	time.Sleep(2500 * time.Millisecond) //nolint:forbidigo // real-time playback
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, frames, 55, "2.5 s at 25 fps")
	require.GreaterOrEqual(t, idrs, 2, "a keyframe each 1 s segment")
	for i := 1; i < len(seqs); i++ {
		require.Equal(t, seqs[i-1]+1, seqs[i], "RTP sequence numbers continuous at packet %d", i)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	out, m := start(t)
	u, err := base.ParseURL("rtsp://" + out.Addr() + "/nope")
	require.NoError(t, err)
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
	require.NoError(t, c.Start())
	defer c.Close()
	_, res, err := c.Describe(u)
	require.Error(t, err)
	if res != nil {
		require.Equal(t, base.StatusNotFound, res.StatusCode)
	}
	require.Zero(t, m.Stats().Started)
}

func TestStreamStopsAfterLastReader(t *testing.T) {
	out, m := start(t)
	u, err := base.ParseURL("rtsp://" + out.Addr() + "/news")
	require.NoError(t, err)
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
	require.NoError(t, c.Start())
	desc, _, err := c.Describe(u)
	require.NoError(t, err)
	require.NoError(t, c.SetupAll(desc.BaseURL, desc.Medias))
	_, err = c.Play(nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return out.Viewers("news") == 1 }, 2*time.Second, 10*time.Millisecond)
	c.Close()
	require.Eventually(t, func() bool { return out.Viewers("news") == 0 }, 2*time.Second, 10*time.Millisecond)
	// RTSP grace, then the session's grace.
	require.Eventually(t, func() bool { return m.Stats().Sessions == 0 }, 3*time.Second, 10*time.Millisecond)
}
