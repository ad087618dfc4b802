package library

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Keyframe is one random-access point of an asset's video track.
type Keyframe struct {
	// PTS is the presentation time at 90 kHz. For MPEG-TS it is the file's PTS, unwrapped across
	// the 33-bit wrap (so it can exceed 2^33); for MP4 it is the composition time after the edit
	// list, starting near 0.
	PTS int64
	// Offset is the byte offset in the file: for MPEG-TS the start of the transport packet
	// (including the 4-byte prefix of 192-byte M2TS packets) that starts the keyframe's PES;
	// for MP4 the first byte of the sample.
	Offset int64
}

// KeyframeIndex lists an asset's keyframes (H.264 IDR pictures, H.265 IRAP pictures) in
// file order, which for these codecs is also ascending PTS order.
type KeyframeIndex struct {
	// StartPTS is the PTS of the asset's first presented picture, in the same time base as
	// Keyframes[i].PTS; PTS - StartPTS is the time from the asset's start.
	StartPTS  int64
	Keyframes []Keyframe
}

// keyframeIndexVersion is the first byte of an encoded KeyframeIndex.
const keyframeIndexVersion = 1

// Len returns the number of keyframes.
func (k KeyframeIndex) Len() int { return len(k.Keyframes) }

// Encode returns the compact form stored in the database: a version byte, the count and
// StartPTS, then for each keyframe the zigzag varint deltas of PTS and Offset from the
// previous one. A 90-minute file with a keyframe every 2 s takes about 15 KB.
func (k KeyframeIndex) Encode() []byte {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(k.Keyframes)*6)
	buf = append(buf, keyframeIndexVersion)
	buf = binary.AppendUvarint(buf, uint64(len(k.Keyframes)))
	buf = binary.AppendVarint(buf, k.StartPTS)
	var prev Keyframe
	for _, kf := range k.Keyframes {
		buf = binary.AppendVarint(buf, kf.PTS-prev.PTS)
		buf = binary.AppendVarint(buf, kf.Offset-prev.Offset)
		prev = kf
	}
	return buf
}

// errKeyframeIndexCorrupt is wrapped by every DecodeKeyframeIndex error.
var errKeyframeIndexCorrupt = errors.New("corrupt keyframe index")

// DecodeKeyframeIndex decodes the output of KeyframeIndex.Encode. An empty input is an
// empty index.
func DecodeKeyframeIndex(b []byte) (KeyframeIndex, error) {
	var k KeyframeIndex
	if len(b) == 0 {
		return k, nil
	}
	if b[0] != keyframeIndexVersion {
		return k, fmt.Errorf("%w: version %d", errKeyframeIndexCorrupt, b[0])
	}
	b = b[1:]
	n, l := binary.Uvarint(b)
	if l <= 0 {
		return k, fmt.Errorf("%w: count", errKeyframeIndexCorrupt)
	}
	b = b[l:]
	// Every entry takes at least two bytes: refuse counts the input cannot hold.
	if n > uint64(len(b)/2) {
		return k, fmt.Errorf("%w: count %d for %d bytes", errKeyframeIndexCorrupt, n, len(b))
	}
	start, l := binary.Varint(b)
	if l <= 0 {
		return k, fmt.Errorf("%w: start", errKeyframeIndexCorrupt)
	}
	b = b[l:]
	k.StartPTS = start
	k.Keyframes = make([]Keyframe, n)
	var prev Keyframe
	for i := range k.Keyframes {
		dp, l1 := binary.Varint(b)
		if l1 <= 0 {
			return KeyframeIndex{}, fmt.Errorf("%w: entry %d", errKeyframeIndexCorrupt, i)
		}
		b = b[l1:]
		do, l2 := binary.Varint(b)
		if l2 <= 0 {
			return KeyframeIndex{}, fmt.Errorf("%w: entry %d", errKeyframeIndexCorrupt, i)
		}
		b = b[l2:]
		prev = Keyframe{PTS: prev.PTS + dp, Offset: prev.Offset + do}
		k.Keyframes[i] = prev
	}
	if len(b) != 0 {
		return KeyframeIndex{}, fmt.Errorf("%w: %d trailing bytes", errKeyframeIndexCorrupt, len(b))
	}
	return k, nil
}

// AtOrBefore returns the last keyframe whose PTS is at or before pts, and false when pts is
// before the first keyframe (or the index is empty).
func (k KeyframeIndex) AtOrBefore(pts int64) (Keyframe, bool) {
	i := sort.Search(len(k.Keyframes), func(i int) bool { return k.Keyframes[i].PTS > pts })
	if i == 0 {
		return Keyframe{}, false
	}
	return k.Keyframes[i-1], true
}

// AtOrAfter returns the first keyframe whose PTS is at or after pts, and false when there is
// none.
func (k KeyframeIndex) AtOrAfter(pts int64) (Keyframe, bool) {
	i := sort.Search(len(k.Keyframes), func(i int) bool { return k.Keyframes[i].PTS >= pts })
	if i == len(k.Keyframes) {
		return Keyframe{}, false
	}
	return k.Keyframes[i], true
}
