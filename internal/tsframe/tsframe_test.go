package tsframe

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	ts := make([]byte, 3*188)
	for i := 0; i < len(ts); i += 188 {
		ts[i] = SyncByte
	}
	m2ts := make([]byte, 3*192)
	for i := 4; i < len(m2ts); i += 192 {
		m2ts[i] = SyncByte
	}
	cases := []struct {
		name string
		b    []byte
		want Layout
		ok   bool
	}{
		{"ts", ts, TS, true},
		{"m2ts", m2ts, M2TS, true},
		{"one packet", ts[:188], TS, true},
		{"short", ts[:100], Layout{}, false},
		{"empty", nil, Layout{}, false},
		{"text", []byte("not a transport stream at all, just some text that is long enough to fill a packet or two of bytes ............................................................................................................"), Layout{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, ok := Detect(tc.b)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, l)
		})
	}
}

func TestTimestamp(t *testing.T) {
	// PTS 0x1_2345_6789 with '0010' prefix and marker bits.
	v := int64(0x123456789)
	b := []byte{0x21 | byte(v>>29)&0x0e, byte(v >> 22), byte(v>>14) | 1, byte(v >> 7), byte(v<<1) | 1}
	got, ok := Timestamp(b)
	require.True(t, ok)
	require.Equal(t, v, got)
	b[4] &^= 1
	_, ok = Timestamp(b)
	require.False(t, ok)
}
