package rtsp

import (
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// TestH264PacketizerRoundTrip packetizes random access units (parameter
// sets, small and large slices) and decodes the packets with gortsplib's
// RFC 6184 decoder: every access unit comes back whole, in order, with its
// timestamp, the marker bit only on its last packet, sequence numbers
// running on across units and no packet over the payload limit.
func TestH264PacketizerRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var dec rtph264.Decoder
	require.NoError(t, dec.Init())
	p := newH264Packetizer(96, 65530) // wraps around within the test
	nextSeq := uint16(65530)
	kinds := []byte{0x67, 0x68, 0x06, 0x65, 0x41, 0x01}
	for i := range 300 {
		var au [][]byte
		for range 1 + rng.IntN(6) {
			sizes := []int{1 + rng.IntN(40), 1 + rng.IntN(1500), 1 + rng.IntN(20000)}
			n := make([]byte, sizes[rng.IntN(len(sizes))])
			for k := range n {
				n[k] = byte(rng.Uint32())
			}
			n[0] = kinds[rng.IntN(len(kinds))]
			au = append(au, n)
		}
		ts := uint32(i * 3000)
		var got [][]byte
		packets := 0
		err := p.packetize(au, ts, func(pkt *rtp.Packet) error {
			packets++
			require.LessOrEqual(t, len(pkt.Payload), h264PayloadMax)
			require.Equal(t, nextSeq, pkt.SequenceNumber)
			require.Equal(t, ts, pkt.Timestamp)
			require.EqualValues(t, 96, pkt.PayloadType)
			nextSeq++
			// The packetizer reuses its buffers: decode from a copy, as
			// gortsplib marshals one before the next packet.
			c := pkt.Clone()
			nalus, err := dec.Decode(c)
			if pkt.Marker {
				require.NoError(t, err)
				got = nalus
			} else {
				require.ErrorIs(t, err, rtph264.ErrMorePacketsNeeded)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, au, got, "access unit %d (%d packets)", i, packets)
	}
}
