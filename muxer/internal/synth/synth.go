// Package synth generates deterministic synthetic access units of a channel
// for tests and benchmarks of the muxer. The bytes look like H.264/H.265
// NAL units, AAC frames, Opus packets and AC-3 frames but do not decode.
// NAL payload bytes are never zero, so no start code can appear in them.
package synth

import (
	"math/rand/v2"
	"slices"

	"onair/muxer"
)

// Channel describes a synthetic channel. Zero fields take the defaults.
type Channel struct {
	// Video is CodecH264, CodecH265 or 0 for none.
	Video muxer.Codec
	// Audio is CodecAAC, CodecOpus, CodecAC3 or 0 for none.
	Audio muxer.Codec
	// FrameDuration of video in 90 kHz ticks. Defaults to 3600 (25 fps).
	FrameDuration int64
	// GOP is the keyframe interval in frames. Defaults to 50.
	GOP int
	// FrameBytes is the size of a P frame's slice; an IDR slice is 4 times
	// larger. Defaults to 2000.
	FrameBytes int
	// Reorder adds one frame duration to every video PTS (PTS != DTS).
	Reorder bool
	// AudioFramesPerUnit groups AAC frames in one unit. Defaults to 1.
	AudioFramesPerUnit int
	// Epoch is the DTS of the first video frame and the first audio frame.
	Epoch int64
}

// PIDs of the tracks.
const (
	VideoPID = 0x100
	AudioPID = 0x101
)

func (c Channel) norm() Channel {
	if c.FrameDuration == 0 {
		c.FrameDuration = 3600
	}
	if c.GOP == 0 {
		c.GOP = 50
	}
	if c.FrameBytes == 0 {
		c.FrameBytes = 2000
	}
	if c.AudioFramesPerUnit == 0 {
		c.AudioFramesPerUnit = 1
	}
	return c
}

// Tracks returns the tracks of the channel: video first.
func (c Channel) Tracks() []muxer.Track {
	var t []muxer.Track
	if c.Video != 0 {
		t = append(t, muxer.Track{PID: VideoPID, Codec: c.Video})
	}
	switch c.Audio {
	case muxer.CodecAAC:
		t = append(t, muxer.Track{PID: AudioPID, Codec: c.Audio, SampleRate: 48000, ChannelCount: 2, Language: "eng"})
	case muxer.CodecOpus:
		t = append(t, muxer.Track{PID: AudioPID, Codec: c.Audio, SampleRate: 48000, ChannelCount: 2})
	case muxer.CodecAC3:
		t = append(t, muxer.Track{PID: AudioPID, Codec: c.Audio, SampleRate: 48000, ChannelCount: 2})
	}
	return t
}

// AudioDuration returns the duration of one audio unit in 90 kHz ticks.
func (c Channel) AudioDuration() int64 {
	c = c.norm()
	switch c.Audio {
	case muxer.CodecAAC:
		return 1920 * int64(c.AudioFramesPerUnit) // 1024 samples at 48 kHz
	case muxer.CodecOpus:
		return 1800 // 20 ms
	case muxer.CodecAC3:
		return 2880 // 1536 samples at 48 kHz
	}
	return 0
}

// Units returns the units whose DTS is in [from, to), in DTS order (video
// first at equal DTS).
func (c Channel) Units(from, to int64) []muxer.Unit {
	c = c.norm()
	var units []muxer.Unit
	audioTrack := 0
	if c.Video != 0 {
		audioTrack = 1
		for i := ceilDiv(from-c.Epoch, c.FrameDuration); c.Epoch+i*c.FrameDuration < to; i++ {
			units = append(units, c.videoUnit(i))
		}
	}
	if c.Audio != 0 {
		d := c.AudioDuration()
		for j := ceilDiv(from-c.Epoch, d); c.Epoch+j*d < to; j++ {
			units = append(units, c.audioUnit(audioTrack, j, d))
		}
	}
	slices.SortStableFunc(units, func(a, b muxer.Unit) int {
		switch {
		case a.DTS < b.DTS:
			return -1
		case a.DTS > b.DTS:
			return 1
		}
		return a.Track - b.Track
	})
	return units
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// fill returns n non-zero pseudo-random bytes after the given header.
func fill(r *rand.Rand, n int, header ...byte) []byte {
	b := make([]byte, n)
	copy(b, header)
	for i := len(header); i < n; i++ {
		b[i] = byte(1 + r.IntN(255))
	}
	return b
}

func (c Channel) videoUnit(i int64) muxer.Unit {
	r := rand.New(rand.NewPCG(uint64(i), 1))
	dts := c.Epoch + i*c.FrameDuration
	u := muxer.Unit{Track: 0, DTS: dts, PTS: dts, Key: i%int64(c.GOP) == 0}
	if c.Reorder {
		u.PTS += c.FrameDuration
	}
	size := c.FrameBytes/2 + r.IntN(c.FrameBytes+1)
	if c.Video == muxer.CodecH265 {
		if u.Key {
			u.Data = [][]byte{
				fill(r, 24, 0x40, 0x01), // VPS
				fill(r, 40, 0x42, 0x01), // SPS
				fill(r, 8, 0x44, 0x01),  // PPS
				fill(r, 4*size, 0x26, 0x01),
			}
		} else {
			u.Data = [][]byte{fill(r, size, 0x02, 0x01)}
		}
		return u
	}
	if u.Key {
		u.Data = [][]byte{
			fill(r, 12, 0x67, 0x64, 0x00, 0x1F), // SPS
			fill(r, 4, 0x68),                    // PPS
			fill(r, 4*size, 0x65, 0x88),         // IDR slice
		}
	} else {
		u.Data = [][]byte{fill(r, size, 0x41, 0x9A)}
	}
	return u
}

func (c Channel) audioUnit(track int, j, d int64) muxer.Unit {
	r := rand.New(rand.NewPCG(uint64(j), 2))
	ts := c.Epoch + j*d
	u := muxer.Unit{Track: track, DTS: ts, PTS: ts, Key: true}
	switch c.Audio {
	case muxer.CodecAAC:
		for range c.AudioFramesPerUnit {
			u.Data = append(u.Data, fill(r, 200+r.IntN(300)))
		}
	case muxer.CodecOpus:
		u.Data = [][]byte{fill(r, 100+r.IntN(300), 0xFC)}
	case muxer.CodecAC3:
		u.Data = [][]byte{AC3Frame(r)}
	}
	return u
}

// AC3Frame returns a 128-byte AC-3 sync frame header and filler: 48 kHz,
// frmsizecod 0 (32 kbit/s), bsid 8, stereo.
func AC3Frame(r *rand.Rand) []byte {
	f := fill(r, 128, 0x0B, 0x77, 0x12, 0x34, 0x00, 0x40, 0x40)
	return f
}
