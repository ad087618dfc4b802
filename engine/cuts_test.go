package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCuts(t *testing.T) {
	s := int64(Hz)
	every := func(step, n int64) []int64 {
		var k []int64
		for i := int64(0); i < n; i++ {
			k = append(k, i*step)
		}
		return k
	}
	cases := []struct {
		name          string
		keyframes     []int64
		in, out       int64
		target, slack int64
		want          []int64
	}{
		{"2s gop 4s target", every(2*s, 10), 0, 20 * s, 4 * s, s / 2, []int64{0, 4 * s, 8 * s, 12 * s, 16 * s}},
		{"remainder kept", every(2*s, 10), 0, 15 * s, 4 * s, s / 2, []int64{0, 4 * s, 8 * s, 12 * s}},
		{"in mid file", every(2*s, 10), 6 * s, 14 * s, 4 * s, s / 2, []int64{0, 4 * s}},
		{"short item one segment", every(2*s, 10), 0, 3 * s, 4 * s, s / 2, []int64{0}},
		{"exactly target", every(2*s, 10), 0, 4 * s, 4 * s, s / 2, []int64{0}},
		{"within slack", every(2*s, 10), 0, 4*s + s/2, 4 * s, s / 2, []int64{0}},
		{"gop longer than target", every(10*s, 5), 0, 30 * s, 4 * s, s / 2, []int64{0, 10 * s, 20 * s}},
		{"3s gop", every(3*s, 20), 0, 30 * s, 4 * s, s / 2, []int64{0, 3 * s, 6 * s, 9 * s, 12 * s, 15 * s, 18 * s, 21 * s, 24 * s, 27 * s}},
		{"tiny remainder merged", every(2*s, 10), 0, 4*s + s/10, 4 * s, s / 2, []int64{0}},
		{"empty", every(2*s, 10), 5 * s, 5 * s, 4 * s, s / 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Cuts(tc.keyframes, tc.in, tc.out, tc.target, tc.slack)
			require.Equal(t, tc.want, got)
			for i := 1; i < len(got); i++ {
				require.Greater(t, got[i], got[i-1])
			}
		})
	}
}

func TestParamsPicture(t *testing.T) {
	w, h, n, d := paramsPicture("h264/High/4.0/1280x720/30000/1001/bfalse|aac/48000/2")
	require.Equal(t, []int{1280, 720, 30000, 1001}, []int{w, h, n, d})
	w, h, n, d = paramsPicture("novideo|noaudio")
	require.Equal(t, []int{0, 0, 0, 0}, []int{w, h, n, d})
}
