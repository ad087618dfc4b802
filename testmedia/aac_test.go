package testmedia

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"
)

func TestAACAudioSpecificConfig(t *testing.T) {
	asc := aacAudioSpecificConfig()
	require.Equal(t, []byte{0x11, 0x90}, asc)
	var c mpeg4audio.AudioSpecificConfig
	require.NoError(t, c.Unmarshal(asc))
	require.Equal(t, mpeg4audio.ObjectTypeAACLC, c.Type)
	require.Equal(t, 48000, c.SampleRate)
	require.Equal(t, uint8(2), c.ChannelConfig)
}

// aacBitReader reads big-endian bit fields for the syntax check below.
type aacBitReader struct {
	buf []byte
	pos int
}

func (r *aacBitReader) read(n int) int {
	v := 0
	for range n {
		if r.pos >= len(r.buf)*8 {
			panic("read past the end")
		}
		v = v<<1 | int(r.buf[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// parseRawFrame walks a raw_data_block of the subset this package writes and
// returns, per channel, global_gain and the nonzero quantized values by bin.
func parseRawFrame(t *testing.T, frame []byte) (gains [2]int, lines [2]map[int]int) {
	t.Helper()
	r := &aacBitReader{buf: frame}
	require.Equal(t, aacIDCPE, r.read(3))
	require.Equal(t, 0, r.read(4), "element_instance_tag")
	require.Equal(t, 0, r.read(1), "common_window")
	for ch := range 2 {
		lines[ch] = map[int]int{}
		gains[ch] = r.read(8)
		require.Equal(t, 0, r.read(1), "ics_reserved_bit")
		require.Equal(t, 0, r.read(2), "window_sequence")
		r.read(1) // window_shape
		maxSFB := r.read(6)
		require.Equal(t, 0, r.read(1), "predictor_data_present")
		cbs := make([]int, 0, maxSFB)
		for len(cbs) < maxSFB {
			cb := r.read(4)
			n := 0
			for {
				inc := r.read(5)
				n += inc
				if inc != 31 {
					break
				}
			}
			require.Positive(t, n)
			for range n {
				cbs = append(cbs, cb)
			}
		}
		require.Len(t, cbs, maxSFB)
		for _, cb := range cbs {
			if cb != 0 {
				require.Equal(t, 0, r.read(1), "scale factor delta 0")
			}
		}
		require.Equal(t, 0, r.read(3), "pulse, tns, gain control")
		for b, cb := range cbs {
			if cb == 0 {
				continue
			}
			require.Equal(t, 1, cb)
			for k := aacSWBOffsetLong48k[b]; k < aacSWBOffsetLong48k[b+1]; k += 4 {
				if r.read(1) == 0 {
					continue // (0,0,0,0)
				}
				code := 1<<4 | r.read(4)
				found := false
				for pos := range 4 {
					for s, c := range aacCB1Single[pos] {
						if int(c.code) == code {
							lines[ch][k+pos] = 1 - 2*s
							found = true
						}
					}
				}
				require.True(t, found, "codeword %05b", code)
			}
		}
	}
	require.Equal(t, aacIDEND, r.read(3))
	require.Less(t, len(frame)*8-r.pos, 8)
	require.Zero(t, r.read(len(frame)*8-r.pos), "zero padding")
	return gains, lines
}

func TestAACRawFrames(t *testing.T) {
	gains, lines := parseRawFrame(t, aacRawFrame(-1, 0))
	require.Empty(t, lines[0])
	require.Empty(t, lines[1])
	require.Equal(t, [2]int{aacSilenceGain, aacSilenceGain}, gains)
	require.Len(t, aacRawFrame(-1, 0), 7)

	for bin := 0; bin < 96; bin++ {
		for _, sign := range []int{1, -1} {
			t.Run(fmt.Sprintf("bin%d_%+d", bin, sign), func(t *testing.T) {
				gains, lines := parseRawFrame(t, aacRawFrame(bin, sign))
				require.Equal(t, [2]int{aacToneGain, aacToneGain}, gains)
				for ch := range 2 {
					require.Equal(t, map[int]int{bin: sign}, lines[ch])
				}
			})
		}
	}
}

func TestAACToneSchedule(t *testing.T) {
	c, err := newClip(Options{Duration: 5 * time.Second, Container: "ts", Seed: 7})
	require.NoError(t, err)
	require.Equal(t, 235, c.audioFrames) // 5 s = 234.4 frames
	var on []int
	for n := range c.audioFrames {
		if !bytes.Equal(c.audio.frame(n), c.audio.silence) {
			on = append(on, n)
		}
	}
	// Keyframes at 0, 2 and 4 s: samples 0, 96000, 192000 -> frames 0, 94, 188.
	require.Equal(t, []int{0, 1, 2, 3, 94, 95, 96, 97, 188, 189, 190, 191}, on)

	bin := ToneBin(7)
	require.GreaterOrEqual(t, bin, aacToneBinMin)
	require.Less(t, bin, aacToneBinMin+aacToneBins)
	for _, n := range on[1:4] {
		prev, cur := c.audio.frame(n-1), c.audio.frame(n)
		if bin%2 == 0 {
			require.NotEqual(t, prev, cur, "even bins alternate in sign")
		} else {
			require.Equal(t, prev, cur, "odd bins keep their sign")
		}
	}

	silent, err := newClip(Options{Duration: 5 * time.Second, Container: "ts", Silent: true})
	require.NoError(t, err)
	for n := range silent.audioFrames {
		require.Equal(t, silent.audio.silence, silent.audio.frame(n))
	}
}

// goertzel returns the amplitude of frequency f in x (sampled at 48 kHz).
func goertzel(x []float64, f float64) float64 {
	w := 2 * math.Pi * f / 48000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

// TestAACToneWithFFmpeg decodes the audio of a TS and an MP4 clip with
// ffmpeg and checks the marker tone: its pitch and level after each keyframe,
// and digital silence in between.
func TestAACToneWithFFmpeg(t *testing.T) {
	bin := needTool(t, "ffmpeg")
	for _, container := range []string{"ts", "mp4"} {
		t.Run(container, func(t *testing.T) {
			const seed = 11
			o := Options{Duration: 4200 * time.Millisecond, Container: container, Seed: seed, Label: "TONE"}
			path := writeClip(t, "tone", o)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-nostdin", "-v", "error", "-i", path, "-map", "0:a", "-ac", "1", "-f", "s16le", "-acodec", "pcm_s16le", "-")
			pcm, err := cmd.Output()
			require.NoError(t, err)
			x := make([]float64, len(pcm)/2)
			for i := range x {
				x[i] = float64(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / 32768
			}
			require.Equal(t, 197*1024, len(x), "197 frames of 1024 samples")

			hz := ToneHz(seed)
			wantAmp := math.Pow(2, float64(aacToneGain-100)/4) / 1024 / 32768
			for _, first := range []int{0, 94, 188} {
				// Frames first+1 .. first+3 hold the steady tone.
				steady := x[(first+1)*1024 : (first+4)*1024]
				amp := goertzel(steady, hz)
				require.InEpsilon(t, wantAmp, amp, 0.05, "tone level after frame %d", first)
				require.Less(t, goertzel(steady, hz+300), wantAmp/50, "tone is pure")
				// Silence from two frames after the burst until the next keyframe.
				end := min(len(x), (first+94)*1024)
				for i := (first + 6) * 1024; i < end; i++ {
					require.Zero(t, x[i], "silence at sample %d", i)
				}
			}
			t.Logf("%s: %.1f Hz at %.1f dBFS", container, hz, 20*math.Log10(wantAmp))
		})
	}
}
