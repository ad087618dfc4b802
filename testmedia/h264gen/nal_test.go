package h264gen

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

var emulationPreventionCases = []struct {
	name      string
	rbsp, nal []byte
}{
	{"empty", []byte{}, []byte{}},
	{"no zeros", []byte{1, 2, 3}, []byte{1, 2, 3}},
	{"one zero", []byte{0, 1}, []byte{0, 1}},
	{"000000", []byte{0, 0, 0, 5}, []byte{0, 0, 3, 0, 5}},
	{"000001", []byte{0, 0, 1}, []byte{0, 0, 3, 1}},
	{"000002", []byte{0, 0, 2}, []byte{0, 0, 3, 2}},
	{"000003", []byte{0, 0, 3}, []byte{0, 0, 3, 3}},
	{"000004", []byte{0, 0, 4}, []byte{0, 0, 4}},
	{"run of zeros", []byte{0, 0, 0, 0, 0, 1}, []byte{0, 0, 3, 0, 0, 3, 0, 1}},
	{"twice", []byte{9, 0, 0, 1, 0, 0, 2, 9}, []byte{9, 0, 0, 3, 1, 0, 0, 3, 2, 9}},
	{"ends with 0000", []byte{0x80, 0, 0}, []byte{0x80, 0, 0, 3}},
	{"ends with a zero after 03", []byte{0x80, 0, 0, 0}, []byte{0x80, 0, 0, 3, 0}},
	{"pcm-like", []byte{0x10, 0, 0, 0xFF, 0, 0, 0, 0x10}, []byte{0x10, 0, 0, 0xFF, 0, 0, 3, 0, 0x10}},
}

func TestAddEmulationPrevention(t *testing.T) {
	for _, tc := range emulationPreventionCases {
		t.Run(tc.name, func(t *testing.T) {
			got := AddEmulationPrevention(tc.rbsp)
			if !bytes.Equal(got, tc.nal) {
				t.Fatalf("got % x, want % x", got, tc.nal)
			}
			if back := h264.EmulationPreventionRemove(got); !bytes.Equal(back, tc.rbsp) {
				t.Fatalf("removing gives % x, want % x", back, tc.rbsp)
			}
		})
	}
}

func FuzzAddEmulationPrevention(f *testing.F) {
	for _, tc := range emulationPreventionCases {
		f.Add(tc.rbsp)
	}
	f.Fuzz(func(t *testing.T, rbsp []byte) {
		nal := AddEmulationPrevention(rbsp)
		for i := 2; i < len(nal); i++ {
			if nal[i-2] == 0 && nal[i-1] == 0 && nal[i] < 3 {
				t.Fatalf("start code emulation at %d in % x", i, nal)
			}
		}
		if back := h264.EmulationPreventionRemove(nal); !bytes.Equal(back, rbsp) {
			t.Fatalf("round trip of % x gives % x", rbsp, back)
		}
	})
}

func TestNALUnitHeader(t *testing.T) {
	nal := nalUnit(refIdcP, nalTypeNonIDR, []byte{0, 0, 1})
	if want := []byte{0x41, 0, 0, 3, 1}; !bytes.Equal(nal, want) {
		t.Fatalf("got % x, want % x", nal, want)
	}
}
