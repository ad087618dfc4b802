package testmedia

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/stretchr/testify/require"
)

// TestTSParseBack reads every MPEG-TS clip back with mediacommon's reader and
// checks frame counts, timestamps, keyframes and parameter sets.
func TestTSParseBack(t *testing.T) {
	for _, ca := range clipCases {
		if ca.o.Container != ContainerTS {
			continue
		}
		t.Run(ca.name, func(t *testing.T) {
			o, err := ca.o.normalize()
			require.NoError(t, err)
			data := generate(t, o)
			require.Zero(t, len(data)%188)

			r := &mpegts.Reader{R: bytes.NewReader(data)}
			require.NoError(t, r.Initialize())
			r.OnDecodeError(func(err error) { t.Errorf("decode error: %v", err) })

			var vt, at *mpegts.Track
			for _, tr := range r.Tracks() {
				switch c := tr.Codec.(type) {
				case *tscodecs.H264:
					vt = tr
				case *tscodecs.MPEG4Audio:
					at = tr
					require.Equal(t, 48000, c.SampleRate)
					require.Equal(t, uint8(2), c.ChannelConfig)
				}
			}
			require.NotNil(t, vt)
			require.Equal(t, !o.NoAudio, at != nil)

			var videoPTS []int64
			var idrs []int
			r.OnDataH264(vt, func(pts, dts int64, au [][]byte) error {
				require.Equal(t, pts, dts, "no B-frames")
				i := len(videoPTS)
				videoPTS = append(videoPTS, pts)
				if h264.IsRandomAccess(au) {
					idrs = append(idrs, i)
					require.Equal(t, h264.NALUTypeSPS, h264.NALUType(au[0][0]&0x1f))
					require.Equal(t, h264.NALUTypePPS, h264.NALUType(au[1][0]&0x1f))
					var sps h264.SPS
					require.NoError(t, sps.Unmarshal(au[0]))
					require.Equal(t, o.Width, sps.Width())
					require.Equal(t, o.Height, sps.Height())
				} else {
					require.Len(t, au, 1)
					require.Equal(t, h264.NALUTypeNonIDR, h264.NALUType(au[0][0]&0x1f))
				}
				return nil
			})
			var audioPTS []int64
			if at != nil {
				r.OnDataMPEG4Audio(at, func(pts int64, aus [][]byte) error {
					for k := range aus {
						audioPTS = append(audioPTS, pts+int64(k)*1920)
					}
					return nil
				})
			}
			for {
				err = r.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
			}

			frames := FrameCount(o.Duration, o.FrameRateNum, o.FrameRateDen)
			require.Len(t, videoPTS, frames)
			for i, pts := range videoPTS {
				// Integer math: frame i is at i*90000*den/num.
				require.Equal(t, int64(TSStartPTS)+int64(i)*90000*int64(o.FrameRateDen)/int64(o.FrameRateNum), pts, "frame %d", i)
			}
			var wantIDRs []int
			for i := 0; i < frames; i += o.GOPFrames {
				wantIDRs = append(wantIDRs, i)
			}
			require.Equal(t, wantIDRs, idrs)

			if at != nil {
				require.Len(t, audioPTS, AudioFrameCount(frames, o.FrameRateNum, o.FrameRateDen))
				for n, pts := range audioPTS {
					require.Equal(t, int64(TSStartPTS)+int64(n)*1920, pts, "audio frame %d", n)
				}
				videoEnd := int64(frames) * 90000 * int64(o.FrameRateDen) / int64(o.FrameRateNum)
				audioEnd := int64(len(audioPTS)) * 1920
				require.GreaterOrEqual(t, audioEnd, videoEnd)
				require.Less(t, audioEnd-videoEnd, int64(1920))
			}
		})
	}
}

// TestTSTimingAndContinuity checks the packet layer of every MPEG-TS clip
// against the ETSI TR 101 290 limits: PCR at least every 100 ms (and at most
// 100 ms behind the first DTS), PAT and PMT at least every 500 ms, and
// continuity counters without gaps.
func TestTSTimingAndContinuity(t *testing.T) {
	for _, ca := range clipCases {
		if ca.o.Container != ContainerTS {
			continue
		}
		t.Run(ca.name, func(t *testing.T) {
			data := generate(t, ca.o)
			const videoPID, pmtPID = 256, 4096
			cc := map[int]int{}
			var pcrs []int64
			lastPAT, lastPMT := int64(-1), int64(-1)
			var maxPAT, maxPMT int64
			now := func() int64 { return pcrs[len(pcrs)-1] }
			for off := 0; off+188 <= len(data); off += 188 {
				p := data[off : off+188]
				require.Equal(t, byte(0x47), p[0], "sync byte at %d", off)
				pid := int(p[1]&0x1f)<<8 | int(p[2])
				afc := p[3] >> 4 & 3
				if prev, ok := cc[pid]; ok {
					want := prev
					if afc&1 != 0 {
						want = (prev + 1) % 16
					}
					require.Equal(t, want, int(p[3]&0xf), "continuity counter of PID %d at packet %d", pid, off/188)
				}
				cc[pid] = int(p[3] & 0xf)
				if afc&2 != 0 && p[4] > 0 && p[5]&0x10 != 0 {
					require.Equal(t, videoPID, pid, "PCR on the video PID")
					base := int64(p[6])<<25 | int64(p[7])<<17 | int64(p[8])<<9 | int64(p[9])<<1 | int64(p[10])>>7
					if len(pcrs) > 0 {
						gap := base - now()
						require.Positive(t, gap, "PCR at packet %d", off/188)
						require.LessOrEqual(t, gap, int64(9000), "PCR gap %d ticks at packet %d", gap, off/188)
					}
					pcrs = append(pcrs, base)
				}
				switch pid {
				case 0:
					if lastPAT >= 0 {
						maxPAT = max(maxPAT, now()-lastPAT)
					}
					if len(pcrs) > 0 {
						lastPAT = now()
					}
				case pmtPID:
					if lastPMT >= 0 {
						maxPMT = max(maxPMT, now()-lastPMT)
					}
					if len(pcrs) > 0 {
						lastPMT = now()
					}
				}
			}
			require.NotEmpty(t, pcrs)
			require.Equal(t, int64(TSStartPTS-9000), pcrs[0])
			require.LessOrEqual(t, maxPAT, int64(45000), "PAT interval")
			require.LessOrEqual(t, maxPMT, int64(45000), "PMT interval")
			require.Positive(t, maxPAT, "PAT repeated")
			require.Positive(t, maxPMT, "PMT repeated")
		})
	}
}
