package muxer_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"onair/muxer"
)

func TestAppendNALUs(t *testing.T) {
	annexB := muxer.Unit{AnnexB: true, Data: [][]byte{{0, 0, 0, 1, 9, 0xF0, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4, 5}}}
	require.Equal(t, [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 4, 5}}, muxer.AppendNALUs(nil, &annexB, muxer.CodecH264))
	plain := muxer.Unit{Data: [][]byte{{9, 0xF0}, {0x41, 1}}}
	require.Equal(t, [][]byte{{0x41, 1}}, muxer.AppendNALUs(nil, &plain, muxer.CodecH264))
	// H.265: the delimiter is type 35; an H.264 type-9 byte is not one.
	hevc := muxer.Unit{Data: [][]byte{{35 << 1, 1, 0x50}, {32 << 1, 1}, {19 << 1, 1, 7}}}
	require.Equal(t, [][]byte{{32 << 1, 1}, {19 << 1, 1, 7}}, muxer.AppendNALUs(nil, &hevc, muxer.CodecH265))
	// Appending keeps what dst had.
	got := muxer.AppendNALUs([][]byte{{1}}, &plain, muxer.CodecH264)
	require.Equal(t, [][]byte{{1}, {0x41, 1}}, got)
}
