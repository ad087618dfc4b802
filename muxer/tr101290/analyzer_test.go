package tr101290_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"onair/muxer"
	"onair/muxer/internal/synth"
	"onair/muxer/tr101290"
)

// stream returns seconds of a clean synthetic H.264 + AAC channel as
// consecutive 2 s segments.
func stream(t testing.TB, seconds int) []byte {
	t.Helper()
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 800}
	var buf bytes.Buffer
	for from := int64(0); from < int64(seconds)*90000; from += 180000 {
		to := min(from+180000, int64(seconds)*90000)
		cfg := muxer.Config{Tracks: ch.Tracks(), EndDTS: to}
		if _, err := muxer.WriteSegment(&buf, cfg, ch.Units(from, to)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// packets splits a stream into its packets (sharing memory).
func packets(ts []byte) [][]byte {
	var p [][]byte
	for i := 0; i+188 <= len(ts); i += 188 {
		p = append(p, ts[i:i+188])
	}
	return p
}

func join(pkts [][]byte) []byte {
	return bytes.Join(pkts, nil)
}

func pid(p []byte) uint16 { return uint16(p[1]&0x1F)<<8 | uint16(p[2]) }

func hasPCR(p []byte) bool { return p[3]&0x20 != 0 && p[4] >= 7 && p[5]&0x10 != 0 }

func pcrBase(p []byte) int64 {
	return int64(p[6])<<25 | int64(p[7])<<17 | int64(p[8])<<9 | int64(p[9])<<1 | int64(p[10]>>7)
}

func setPCRBase(p []byte, v int64) {
	v &= 1<<33 - 1
	p[6], p[7], p[8], p[9] = byte(v>>25), byte(v>>17), byte(v>>9), byte(v>>1)
	p[10] = p[10]&0x7F | byte(v&1)<<7
}

// nth returns the index of the n-th packet (from 0) matching f.
func nth(pkts [][]byte, n int, f func([]byte) bool) int {
	for i, p := range pkts {
		if f(p) {
			if n == 0 {
				return i
			}
			n--
		}
	}
	panic("no such packet")
}

func isVideoHead(p []byte) bool {
	return pid(p) == synth.VideoPID && p[1]&0x40 != 0 && hasPCR(p)
}

type corruption struct {
	name string
	// mutate returns the broken stream made from a fresh clean one.
	mutate func(t *testing.T, ts []byte) []byte
	// want are the counters that must be exactly these values; others 0.
	want map[string]int64
	// atLeast are counters that must be at least these values; others are
	// not checked.
	atLeast map[string]int64
}

var corruptions = []corruption{
	{
		name:   "clean",
		mutate: func(_ *testing.T, ts []byte) []byte { return ts },
		want:   map[string]int64{},
	},
	{
		name: "dropped packet",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			i := nth(pkts, 40, func(p []byte) bool { return pid(p) == synth.VideoPID && p[3]&0x10 != 0 })
			return join(append(pkts[:i:i], pkts[i+1:]...))
		},
		want: map[string]int64{tr101290.ContinuityCountError: 1},
	},
	{
		name: "duplicate packet is allowed",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			i := nth(pkts, 40, func(p []byte) bool { return pid(p) == synth.AudioPID })
			return join(append(pkts[:i+1:i+1], pkts[i:]...))
		},
		want: map[string]int64{},
	},
	{
		name: "packet three times",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			i := nth(pkts, 40, func(p []byte) bool { return pid(p) == synth.AudioPID })
			out := append([][]byte{}, pkts[:i+1]...)
			out = append(out, pkts[i], pkts[i])
			return join(append(out, pkts[i+1:]...))
		},
		want: map[string]int64{tr101290.ContinuityCountError: 1},
	},
	{
		name: "packets out of order",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			i := nth(pkts, 30, func(p []byte) bool { return pid(p) == synth.VideoPID && p[3]&0x10 != 0 })
			j := nth(pkts, 31, func(p []byte) bool { return pid(p) == synth.VideoPID && p[3]&0x10 != 0 })
			pkts[i], pkts[j] = pkts[j], pkts[i]
			return join(pkts)
		},
		atLeast: map[string]int64{tr101290.ContinuityCountError: 2},
	},
	{
		name: "corrupted PAT CRC",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			p := pkts[nth(pkts, 5, func(p []byte) bool { return pid(p) == 0 })]
			p[5+15] ^= 0x01 // last CRC byte of the 16-byte section
			return ts
		},
		want: map[string]int64{tr101290.CRCError: 1},
	},
	{
		name: "corrupted PMT",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			p := pkts[nth(pkts, 5, func(p []byte) bool { return pid(p) == muxer.DefaultPMTPID })]
			p[5+13] ^= 0x10 // inside the elementary stream loop
			return ts
		},
		want: map[string]int64{tr101290.CRCError: 1},
	},
	{
		name: "wrong table_id on PID 0",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			pkts[nth(pkts, 5, func(p []byte) bool { return pid(p) == 0 })][5] = 0x02
			return ts
		},
		want: map[string]int64{tr101290.PATError: 1},
	},
	{
		name: "scrambled PAT packet",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			pkts[nth(pkts, 5, func(p []byte) bool { return pid(p) == 0 })][3] |= 0x80
			return ts
		},
		want: map[string]int64{tr101290.PATError: 1},
	},
	{
		name: "no PAT for a second",
		mutate: func(_ *testing.T, ts []byte) []byte {
			return dropBetween(ts, 90000, 180000, func(p []byte) bool { return pid(p) == 0 })
		},
		atLeast: map[string]int64{tr101290.PATError: 1, tr101290.ContinuityCountError: 1},
	},
	{
		name: "no PMT for a second",
		mutate: func(_ *testing.T, ts []byte) []byte {
			return dropBetween(ts, 90000, 180000, func(p []byte) bool { return pid(p) == muxer.DefaultPMTPID })
		},
		atLeast: map[string]int64{tr101290.PMTError: 1, tr101290.ContinuityCountError: 1},
	},
	{
		name: "audio gone for 6 s",
		mutate: func(_ *testing.T, ts []byte) []byte {
			return dropBetween(ts, 90000, 7*90000, func(p []byte) bool { return pid(p) == synth.AudioPID })
		},
		atLeast: map[string]int64{tr101290.PIDError: 1, tr101290.PTSError: 1, tr101290.ContinuityCountError: 1},
	},
	{
		name: "audio gone for 1 s",
		mutate: func(_ *testing.T, ts []byte) []byte {
			return dropBetween(ts, 90000, 180000, func(p []byte) bool { return pid(p) == synth.AudioPID })
		},
		want: map[string]int64{tr101290.PTSError: 1, tr101290.ContinuityCountError: 1},
	},
	{
		name: "removed PCR stretch",
		mutate: func(_ *testing.T, ts []byte) []byte {
			for _, p := range packets(ts) {
				if hasPCR(p) && pcrBase(p) >= 90000 && pcrBase(p) < 90000+27000 {
					p[5] &^= 0x10
				}
			}
			return ts
		},
		want: map[string]int64{
			tr101290.PCRRepetitionError: 1, tr101290.PCRDiscontinuityIndicatorError: 1, tr101290.PCRError: 1,
		},
	},
	{
		name: "PCR goes back",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			for _, p := range pkts[nth(pkts, 60, isVideoHead):] {
				if hasPCR(p) {
					setPCRBase(p, pcrBase(p)-5*90000)
				}
			}
			return ts
		},
		want: map[string]int64{tr101290.PCRDiscontinuityIndicatorError: 1, tr101290.PCRError: 1},
	},
	{
		name: "discontinuity_indicator excuses a PCR and CC jump",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			x := nth(pkts, 60, isVideoHead)
			for _, p := range pkts[x:] {
				if hasPCR(p) {
					setPCRBase(p, pcrBase(p)-5*90000)
				}
			}
			pkts[x][5] |= 0x80
			prev := x - 1
			for pid(pkts[prev]) != synth.VideoPID || pkts[prev][3]&0x10 == 0 {
				prev--
			}
			return join(append(pkts[:prev:prev], pkts[prev+1:]...))
		},
		want: map[string]int64{},
	},
	{
		name: "PCR and CC jump without discontinuity_indicator",
		mutate: func(_ *testing.T, ts []byte) []byte {
			pkts := packets(ts)
			x := nth(pkts, 60, isVideoHead)
			for _, p := range pkts[x:] {
				if hasPCR(p) {
					setPCRBase(p, pcrBase(p)-5*90000)
				}
			}
			prev := x - 1
			for pid(pkts[prev]) != synth.VideoPID || pkts[prev][3]&0x10 == 0 {
				prev--
			}
			return join(append(pkts[:prev:prev], pkts[prev+1:]...))
		},
		want: map[string]int64{
			tr101290.ContinuityCountError: 1, tr101290.PCRDiscontinuityIndicatorError: 1, tr101290.PCRError: 1,
		},
	},
	{
		name: "sync byte flipped",
		mutate: func(_ *testing.T, ts []byte) []byte {
			ts[100*188] = 0x46
			return ts
		},
		// the packet is discarded, so its PID also loses a packet
		atLeast: map[string]int64{tr101290.SyncByteError: 1},
		want:    map[string]int64{tr101290.TSSyncLoss: 0},
	},
	{
		name: "three sync bytes flipped",
		mutate: func(_ *testing.T, ts []byte) []byte {
			for i := 100; i < 103; i++ {
				ts[i*188] = 0x00
			}
			return ts
		},
		atLeast: map[string]int64{tr101290.TSSyncLoss: 1, tr101290.SyncByteError: 2},
	},
	{
		name: "garbage inserted",
		mutate: func(_ *testing.T, ts []byte) []byte {
			junk := bytes.Repeat([]byte{0x12, 0x47, 0x00}, 300)
			return append(append(append([]byte{}, ts[:100*188+50]...), junk...), ts[100*188+50:]...)
		},
		atLeast: map[string]int64{tr101290.TSSyncLoss: 1, tr101290.SyncByteError: 2},
	},
	{
		name: "transport_error_indicator",
		mutate: func(_ *testing.T, ts []byte) []byte {
			ts[200*188+1] |= 0x80
			return ts
		},
		atLeast: map[string]int64{tr101290.TransportError: 1},
	},
}

// dropBetween removes the packets matching f whose position lies between
// two PCRs in [from, to) (90 kHz, on the stream's PCR).
func dropBetween(ts []byte, from, to int64, f func([]byte) bool) []byte {
	var out [][]byte
	pcr := int64(-1 << 40)
	for _, p := range packets(ts) {
		if hasPCR(p) {
			pcr = pcrBase(p) + muxer.DefaultMuxDelay
		}
		if pcr >= from && pcr < to && f(p) {
			continue
		}
		out = append(out, p)
	}
	return join(out)
}

func TestAnalyzeCorruptions(t *testing.T) {
	clean := stream(t, 10)
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			ts := c.mutate(t, append([]byte{}, clean...))
			rep, err := tr101290.Analyze(bytes.NewReader(ts))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Packets*188+rep.SkippedBytes != int64(len(ts)) {
				t.Errorf("%d packets and %d skipped bytes of %d", rep.Packets, rep.SkippedBytes, len(ts))
			}
			got := rep.Counters.Map()
			for name, v := range got {
				want, exact := c.want[name]
				least, bounded := c.atLeast[name]
				switch {
				case exact && v != want:
					t.Errorf("%s = %d, want %d", name, v, want)
				case bounded && v < least:
					t.Errorf("%s = %d, want at least %d", name, v, least)
				case !exact && c.atLeast == nil && v != 0:
					t.Errorf("%s = %d, want 0", name, v)
				}
			}
			if t.Failed() {
				for _, e := range rep.Errors {
					t.Logf("%s packet %d pid 0x%x t=%d: %s", e.Indicator, e.Packet, e.PID, e.Time, e.Detail)
				}
			}
			for _, e := range rep.Errors {
				if got[e.Indicator] == 0 {
					t.Errorf("listed error %s is not counted", e.Indicator)
				}
			}
		})
	}
}

// TestAnalyzerStreaming feeds the stream in pieces of many sizes and expects
// the same report as one Analyze.
func TestAnalyzerStreaming(t *testing.T) {
	ts := stream(t, 4)
	ts[50*188] = 0x00 // something to find
	want, err := tr101290.Analyze(bytes.NewReader(ts))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 187, 188, 189, 1000, 65536} {
		a := tr101290.NewAnalyzer(tr101290.Options{})
		for rest := ts; len(rest) > 0; {
			n := min(size, len(rest))
			if w, err := a.Write(rest[:n]); err != nil || w != n {
				t.Fatalf("Write: %d, %v", w, err)
			}
			rest = rest[n:]
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		got := a.Report()
		if got.Counters != want.Counters || got.Packets != want.Packets || got.Stats != want.Stats {
			t.Fatalf("pieces of %d: %+v, want %+v", size, got, want)
		}
		if _, err := a.Write([]byte{0x47}); !errors.Is(err, tr101290.ErrClosed) {
			t.Fatalf("Write after Close: %v", err)
		}
	}
}

func TestAnalyzeEdges(t *testing.T) {
	clean := stream(t, 2)
	cases := []struct {
		name     string
		in       []byte
		packets  int64
		skipped  int64
		syncLoss int64
	}{
		{"empty", nil, 0, 0, 0},
		{"one packet", clean[:188], 1, 0, 0},
		{"three packets", clean[:3*188], 3, 0, 0},
		{"truncated last packet", clean[:10*188+100], 10, 100, 0},
		{"junk before the first packet", append(bytes.Repeat([]byte{0xAB}, 1000), clean[:20*188]...), 20, 1000, 0},
		{"no transport stream", bytes.Repeat([]byte("not a transport stream"), 100), 0, 2200, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := tr101290.Analyze(bytes.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Packets*188+rep.SkippedBytes != int64(len(c.in)) {
				t.Fatalf("%d packets and %d skipped bytes of %d", rep.Packets, rep.SkippedBytes, len(c.in))
			}
			if rep.Packets != c.packets || rep.SkippedBytes != c.skipped || rep.Counters.TSSyncLoss != c.syncLoss {
				t.Fatalf("packets %d skipped %d sync loss %d, want %d %d %d",
					rep.Packets, rep.SkippedBytes, rep.Counters.TSSyncLoss, c.packets, c.skipped, c.syncLoss)
			}
		})
	}
}

func TestMaxErrors(t *testing.T) {
	ts := stream(t, 4)
	for i := 10; i < 400; i += 2 {
		ts[i*188+1] |= 0x80
	}
	rep, err := tr101290.Analyze(bytes.NewReader(ts))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counters.TransportError != 195 || len(rep.Errors) != 100 {
		t.Fatalf("%d transport errors, %d listed", rep.Counters.TransportError, len(rep.Errors))
	}
	a := tr101290.NewAnalyzer(tr101290.Options{MaxErrors: -1})
	_, _ = a.Write(ts)
	if r := a.Report(); len(r.Errors) != 0 || r.Counters.TransportError != 195 {
		t.Fatalf("MaxErrors -1: %d listed, %d counted", len(r.Errors), r.Counters.TransportError)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestAnalyzeReadError(t *testing.T) {
	if _, err := tr101290.Analyze(errReader{}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v", err)
	}
}

func FuzzAnalyze(f *testing.F) {
	clean := stream(f, 4)
	for _, c := range corruptions {
		ts := c.mutate(nil, append([]byte{}, clean...))
		f.Add(ts[:min(len(ts), 300*188)])
	}
	f.Add([]byte{0x47})
	f.Add(bytes.Repeat([]byte{0x47, 0x1F, 0xFF, 0x10}, 47*10))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := tr101290.Analyze(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Packets*188+rep.SkippedBytes != int64(len(data)) {
			t.Fatalf("%d packets, %d skipped of %d bytes", rep.Packets, rep.SkippedBytes, len(data))
		}
		if len(rep.Errors) > 100 {
			t.Fatalf("%d errors listed", len(rep.Errors))
		}
		// the same bytes in odd pieces
		a := tr101290.NewAnalyzer(tr101290.Options{})
		for rest, n := data, 1; len(rest) > 0; n = n*3 + 1 {
			k := min(n, len(rest))
			_, _ = a.Write(rest[:k])
			rest = rest[k:]
		}
		_ = a.Close()
		if a.Report().Counters != rep.Counters {
			t.Fatalf("pieces: %+v, whole: %+v", a.Report().Counters, rep.Counters)
		}
	})
}
