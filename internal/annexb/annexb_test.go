package annexb_test

import (
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"onair/internal/annexb"
	"onair/testmedia/h264gen"
)

func TestAppend(t *testing.T) {
	b := []byte{0, 0, 0, 1, 9, 0xF0, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4, 5}
	require.Equal(t, [][]byte{{9, 0xF0}, {0x67, 1, 2}, {0x68, 3}, {0x65, 4, 5}}, annexb.Append(nil, b))
	require.Equal(t, [][]byte{{0x41, 1}}, annexb.Append(nil, []byte{0x41, 1, 0}), "no start code: one unit")
	require.Empty(t, annexb.Append(nil, []byte{0, 0, 1, 0, 0}), "only zeros after the start code")
	got := annexb.Append(nil, []byte{0, 0, 1, 0x65, 4, 0, 0, 1, 0x41})
	require.Len(t, got[0], cap(got[0]), "a unit's capacity ends with it")
}

// TestAppendAgreesWithMediacommon splits random Annex-B streams (NAL units
// of random bytes with emulation prevention, behind 3- and 4-byte start
// codes) and checks the split against mediacommon's.
func TestAppendAgreesWithMediacommon(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var b []byte
		var units [][]byte
		for range 1 + rng.IntN(8) {
			rbsp := make([]byte, rng.IntN(3000), 3001)
			for i := range rbsp {
				rbsp[i] = byte(rng.IntN(4)) // many zeros and ones: start-code-like runs
			}
			rbsp = append(rbsp, 0x80) // rbsp_trailing_bits: a unit never ends in zero
			// A NAL type other than AUD (9), then the escaped payload.
			n := append([]byte{byte(1 + rng.IntN(8))}, h264gen.AddEmulationPrevention(rbsp)...)
			units = append(units, n)
			if rng.IntN(2) == 0 {
				b = append(b, 0)
			}
			b = append(append(b, 0, 0, 1), n...)
		}
		var want h264.AnnexB
		require.NoError(t, want.Unmarshal(b))
		require.Equal(t, units, [][]byte(want))
		require.Equal(t, units, annexb.Append(nil, b))
	}
}
