package testmedia

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNormalizeDefaults(t *testing.T) {
	o, err := Options{Duration: time.Second, Container: ".TS"}.normalize()
	require.NoError(t, err)
	require.Equal(t, 640, o.Width)
	require.Equal(t, 360, o.Height)
	require.Equal(t, 25, o.FrameRateNum)
	require.Equal(t, 1, o.FrameRateDen)
	require.Equal(t, 50, o.GOPFrames)
	require.Equal(t, "ts", o.Container)

	o, err = Options{Duration: time.Second, Container: "mp4", FrameRateNum: 30000, FrameRateDen: 1001}.normalize()
	require.NoError(t, err)
	require.Equal(t, 60, o.GOPFrames)

	o, err = Options{Duration: time.Second, Container: "mp4", FrameRateNum: 24000, FrameRateDen: 1001}.normalize()
	require.NoError(t, err)
	require.Equal(t, 48, o.GOPFrames)
}

func TestFrameCount(t *testing.T) {
	for _, ca := range []struct {
		d        time.Duration
		num, den int
		want     int
	}{
		{10 * time.Second, 25, 1, 250},
		{10 * time.Second, 30000, 1001, 300},       // 299.7
		{3100 * time.Millisecond, 30000, 1001, 93}, // 92.9
		{20 * time.Millisecond, 25, 1, 1},          // half a frame rounds up
		{19 * time.Millisecond, 25, 1, 1},          // at least one frame
		{time.Hour, 30000, 1001, 107892},           // 107892.1
		{24 * time.Hour, 240, 1, 20736000},
	} {
		require.Equal(t, ca.want, FrameCount(ca.d, ca.num, ca.den), "%s at %d/%d", ca.d, ca.num, ca.den)
	}
}

func TestFramePTS(t *testing.T) {
	require.Equal(t, int64(3600), FramePTS(1, 25, 1))
	require.Equal(t, int64(3003*1000), FramePTS(1000, 30000, 1001))
	require.Equal(t, int64(3003), FramePTS(1, 30000, 1001))
	// 24 fps: 3750 ticks exactly; 60000/1001: 1501.5 floors.
	require.Equal(t, int64(3750), FramePTS(1, 24, 1))
	require.Equal(t, int64(1501), FramePTS(1, 60000, 1001))
	require.Equal(t, int64(3003), FramePTS(2, 60000, 1001))
}

func TestAudioFrameCount(t *testing.T) {
	require.Equal(t, 94, AudioFrameCount(50, 25, 1))     // 2 s = 93.75 frames
	require.Equal(t, 47, AudioFrameCount(25, 25, 1))     // 1 s = 46.875
	require.Equal(t, 2, AudioFrameCount(1, 25, 1))       // 40 ms = 1.875 frames
	require.Equal(t, 1875, AudioFrameCount(1000, 25, 1)) // 40 s exactly
}

func TestTimecode(t *testing.T) {
	for _, ca := range []struct {
		i, num, den int
		hours       bool
		want        string
	}{
		{0, 25, 1, false, "00:00.00"},
		{24, 25, 1, false, "00:00.24"},
		{25, 25, 1, false, "00:01.00"},
		{1500, 25, 1, false, "01:00.00"},
		{1501, 25, 1, true, "00:01:00.01"},
		{90000, 25, 1, true, "01:00:00.00"},
		{30, 30000, 1001, false, "00:01.00"}, // frame 30 is at 1.001 s
		{29, 30000, 1001, false, "00:00.29"},
		{60, 30000, 1001, false, "00:02.00"}, // 2.002 s; frame 60 is the first at or after 2 s
		{90, 30000, 1001, false, "00:03.00"},
	} {
		require.Equal(t, ca.want, Timecode(ca.i, ca.num, ca.den, ca.hours), "frame %d at %d/%d", ca.i, ca.num, ca.den)
	}
}

func TestContainerFromPath(t *testing.T) {
	require.Equal(t, "ts", containerFromPath("a/b.TS"))
	require.Equal(t, "mp4", containerFromPath("b.mp4"))
	require.Equal(t, "", containerFromPath("b.mkv"))
}
