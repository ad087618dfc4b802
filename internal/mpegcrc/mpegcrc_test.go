package mpegcrc

import "testing"

func TestChecksum(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want uint32
	}{
		{"empty", nil, 0xFFFFFFFF},
		// CRC-32/MPEG-2 check value.
		{"check", []byte("123456789"), 0x0376E6E7},
		// A PAT written by ffmpeg (program 1 on PMT PID 0x1000) and its CRC.
		{"pat", []byte{0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00}, 0x2AB104B2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Checksum(c.in); got != c.want {
				t.Fatalf("got %08x, want %08x", got, c.want)
			}
		})
	}
}

func TestChecksumOfSectionWithCRCIsZero(t *testing.T) {
	sec := []byte{0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00}
	c := Checksum(sec)
	sec = append(sec, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
	if got := Checksum(sec); got != 0 {
		t.Fatalf("got %08x, want 0", got)
	}
}
