package library

import (
	"errors"
	"reflect"
	"testing"
)

var keyframeIndexCases = []struct {
	name string
	idx  KeyframeIndex
}{
	{"empty", KeyframeIndex{}},
	{"one", KeyframeIndex{StartPTS: 126000, Keyframes: []Keyframe{{126000, 564}}}},
	{"gop", KeyframeIndex{StartPTS: 90000, Keyframes: []Keyframe{{90000, 376}, {270000, 90992}, {450000, 190444}}}},
	{"past the 33-bit wrap", KeyframeIndex{StartPTS: 1<<33 - 90000, Keyframes: []Keyframe{
		{1<<33 - 90000, 0}, {1<<33 + 90000, 1 << 40},
	}}},
	{"negative start", KeyframeIndex{StartPTS: -3600, Keyframes: []Keyframe{{-3600, 48}, {176400, 1000}}}},
}

func TestKeyframeIndexRoundTrip(t *testing.T) {
	for _, tc := range keyframeIndexCases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.idx.Encode()
			got, err := DecodeKeyframeIndex(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.StartPTS != tc.idx.StartPTS || got.Len() != tc.idx.Len() ||
				(tc.idx.Len() > 0 && !reflect.DeepEqual(got.Keyframes, tc.idx.Keyframes)) {
				t.Fatalf("decoded %+v, want %+v", got, tc.idx)
			}
		})
	}
}

func TestKeyframeIndexCompact(t *testing.T) {
	// 90 minutes, a keyframe every 2 s, about 1.25 MB between keyframes.
	var idx KeyframeIndex
	for i := range 2700 {
		idx.Keyframes = append(idx.Keyframes, Keyframe{PTS: int64(i) * 180000, Offset: int64(i) * 1250000})
	}
	if n := len(idx.Encode()); n > 2700*8 {
		t.Fatalf("encoded %d keyframes in %d bytes, want at most 8 per keyframe", idx.Len(), n)
	}
}

func TestDecodeKeyframeIndexCorrupt(t *testing.T) {
	good := keyframeIndexCases[2].idx.Encode()
	for name, b := range map[string][]byte{
		"version":    append([]byte{9}, good[1:]...),
		"cut":        good[:len(good)-1],
		"trailing":   append(append([]byte{}, good...), 0),
		"huge count": {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0},
		"no count":   {1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeKeyframeIndex(b); !errors.Is(err, errKeyframeIndexCorrupt) {
				t.Fatalf("err = %v, want corrupt", err)
			}
		})
	}
}

func TestKeyframeIndexLookup(t *testing.T) {
	idx := keyframeIndexCases[2].idx
	tests := []struct {
		pts           int64
		before, after int64 // -1: none
	}{
		{0, -1, 90000},
		{89999, -1, 90000},
		{90000, 90000, 90000},
		{90001, 90000, 270000},
		{269999, 90000, 270000},
		{270000, 270000, 270000},
		{450000, 450000, 450000},
		{1 << 40, 450000, -1},
	}
	for _, tc := range tests {
		kf, ok := idx.AtOrBefore(tc.pts)
		if (tc.before < 0) == ok || (ok && kf.PTS != tc.before) {
			t.Errorf("AtOrBefore(%d) = %+v %v, want %d", tc.pts, kf, ok, tc.before)
		}
		kf, ok = idx.AtOrAfter(tc.pts)
		if (tc.after < 0) == ok || (ok && kf.PTS != tc.after) {
			t.Errorf("AtOrAfter(%d) = %+v %v, want %d", tc.pts, kf, ok, tc.after)
		}
	}
	if _, ok := (KeyframeIndex{}).AtOrBefore(0); ok {
		t.Error("empty index found a keyframe")
	}
}

func FuzzDecodeKeyframeIndex(f *testing.F) {
	for _, tc := range keyframeIndexCases {
		f.Add(tc.idx.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := DecodeKeyframeIndex(b)
		if err != nil {
			return
		}
		again, err := DecodeKeyframeIndex(idx.Encode())
		if err != nil || again.StartPTS != idx.StartPTS || again.Len() != idx.Len() {
			t.Fatalf("re-encoding changed the index: %v", err)
		}
	})
}
