package muxer_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"onair/muxer"
	"onair/muxer/internal/synth"
)

type channelCase struct {
	name   string
	ch     synth.Channel
	cfg    func(*muxer.Config)
	segDur int64
	noEnd  bool // leave Config.EndDTS unset
}

var channelCases = []channelCase{
	{name: "h264 aac", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC}},
	{name: "h264 aac without end", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC}, noEnd: true},
	{name: "aac only without end", ch: synth.Channel{Audio: muxer.CodecAAC, AudioFramesPerUnit: 3}, noEnd: true},
	{name: "h264 aac reordered", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Reorder: true}},
	{name: "h264 only", ch: synth.Channel{Video: muxer.CodecH264}},
	{name: "aac only", ch: synth.Channel{Audio: muxer.CodecAAC, AudioFramesPerUnit: 3}},
	{name: "h265 opus", ch: synth.Channel{Video: muxer.CodecH265, Audio: muxer.CodecOpus}},
	{name: "h264 ac3", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAC3}},
	{name: "tiny frames", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 10}},
	{name: "one-byte slices", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecOpus, FrameBytes: 2}},
	{name: "big frames", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameBytes: 40000}},
	{
		// 5 fps: PCR-only packets fill the gaps between video frames
		name: "sparse video", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, FrameDuration: 18000, GOP: 10},
	},
	{
		// a slate at 2 fps without audio: PCR-only packets alone
		name: "slate 2 fps", ch: synth.Channel{Video: muxer.CodecH264, FrameDuration: 45000, GOP: 1},
	},
	{
		name: "pcr on its own pid", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC},
		cfg: func(c *muxer.Config) { c.PCRPID = 0x1FF0 },
	},
	{
		name: "slow psi and pcr", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC},
		cfg: func(c *muxer.Config) {
			c.PSIInterval, c.PCRInterval, c.MuxDelay = muxer.MaxPSIInterval, muxer.MaxPCRInterval, 45000
		},
	},
	{
		name: "across the 33-bit wrap", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Reorder: true, Epoch: 1<<33 - 3*180000 - 7},
	},
	{
		name: "negative pcr at the channel epoch", ch: synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Epoch: 0},
	},
}

func (c channelCase) config() muxer.Config {
	cfg := muxer.Config{Tracks: c.ch.Tracks()}
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	return cfg
}

func (c channelCase) segmentDuration() int64 {
	if c.segDur != 0 {
		return c.segDur
	}
	gop := c.ch.GOP
	if gop == 0 {
		gop = 50
	}
	fd := c.ch.FrameDuration
	if fd == 0 {
		fd = 3600
	}
	if c.ch.Video == 0 {
		return 180000
	}
	return int64(gop) * fd * max(1, 180000/(int64(gop)*fd))
}

// TestSegmentsConcatenate writes consecutive segments independently and
// checks that each one and their concatenation pass TR 101 290 priority 1
// and 2, with the configured PSI and PCR intervals.
func TestSegmentsConcatenate(t *testing.T) {
	for _, c := range channelCases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.config()
			segs := writeSegments(t, c.ch, cfg, c.segmentDuration(), 0, 5, !c.noEnd)
			psi := cfg.PSIInterval
			if psi == 0 {
				psi = muxer.DefaultPSIInterval
			}
			pcr := cfg.PCRInterval
			if pcr == 0 {
				pcr = muxer.DefaultPCRInterval
			}
			for k, seg := range segs {
				rep := analyze(t, seg)
				requireClean(t, "segment alone", rep)
				if rep.Stats.MaxPCRInterval > pcr {
					t.Fatalf("segment %d: pcr interval %d > %d", k, rep.Stats.MaxPCRInterval, pcr)
				}
				checkSegmentLayout(t, seg, cfg)
			}
			all := bytes.Join(segs, nil)
			rep := analyze(t, all)
			requireClean(t, "concatenation", rep)
			if rep.Packets != int64(len(all)/188) {
				t.Fatalf("analyzer read %d packets of %d", rep.Packets, len(all)/188)
			}
			// without EndDTS, the gaps at segment boundaries also cover the
			// DTS step between the segments' adjacent units
			step := int64(0)
			if c.noEnd {
				step = max(c.ch.AudioDuration(), 3600)
			}
			if c.ch.Video == 0 {
				// and audio units do not start at the segment start
				step = max(step, c.ch.AudioDuration())
			}
			if rep.Stats.MaxPATInterval > psi+step || rep.Stats.MaxPMTInterval > psi+step {
				t.Fatalf("psi interval %d/%d > %d", rep.Stats.MaxPATInterval, rep.Stats.MaxPMTInterval, psi+step)
			}
			if rep.Stats.MaxPCRInterval > pcr+step {
				t.Fatalf("pcr interval %d > %d", rep.Stats.MaxPCRInterval, pcr+step)
			}
			if rep.Stats.MaxPTSInterval > 63000 {
				t.Fatalf("pts interval %d > 700 ms", rep.Stats.MaxPTSInterval)
			}

			// the same segment written again, by a fresh writer, is identical
			again := writeSegments(t, c.ch, cfg, c.segmentDuration(), 3, 3, !c.noEnd)[0]
			if !bytes.Equal(again, segs[3]) {
				t.Fatal("segment 3 written twice differs")
			}
		})
	}
}

// checkSegmentLayout checks that a segment starts with PAT and PMT, that each
// PID's payload packets are a multiple of 16 starting at continuity counter
// 0, and that its PES headers are what the units asked for.
func checkSegmentLayout(t *testing.T, seg []byte, cfg muxer.Config) {
	t.Helper()
	pkts := parsePackets(t, seg)
	pmtPID := cfg.PMTPID
	if pmtPID == 0 {
		pmtPID = muxer.DefaultPMTPID
	}
	if pkts[0].pid != 0 || pkts[1].pid != pmtPID {
		t.Fatalf("segment starts with pids 0x%x 0x%x", pkts[0].pid, pkts[1].pid)
	}
	count := map[uint16]int{}
	for _, p := range pkts {
		if p.payload == nil {
			continue
		}
		if int(p.cc) != count[p.pid]%16 {
			t.Fatalf("pid 0x%x: packet %d has cc %d", p.pid, count[p.pid], p.cc)
		}
		count[p.pid]++
	}
	for pid, n := range count {
		if n%16 != 0 {
			t.Fatalf("pid 0x%x: %d packets, not a multiple of 16", pid, n)
		}
	}
	pcrPID := cfg.PCRPID
	if pcrPID == 0 {
		pcrPID = cfg.Tracks[0].PID
	}
	for _, e := range parsePES(t, seg) {
		tr := cfg.Tracks[0]
		if len(cfg.Tracks) > 1 && e.pid == cfg.Tracks[1].PID {
			tr = cfg.Tracks[1]
		}
		if e.pid == pcrPID && !e.pcr {
			t.Fatalf("pid 0x%x: pes without pcr on the pcr pid", e.pid)
		}
		switch tr.Codec {
		case muxer.CodecH264:
			if !bytes.HasPrefix(e.data, []byte{0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1}) {
				t.Fatalf("h264 pes does not start with an aud: % x", e.data[:10])
			}
			if e.rai != (e.data[10]&0x1F == 7) {
				t.Fatalf("random_access_indicator %v on nal type %d", e.rai, e.data[10]&0x1F)
			}
			if e.length != 0 || e.streamID != 0xE0 {
				t.Fatalf("video pes length %d stream id %x", e.length, e.streamID)
			}
		case muxer.CodecH265:
			if !bytes.HasPrefix(e.data, []byte{0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 0, 1}) {
				t.Fatalf("h265 pes does not start with an aud: % x", e.data[:11])
			}
		case muxer.CodecAAC:
			if e.data[0] != 0xFF || e.data[1] != 0xF1 || e.length == 0 || !e.rai || e.streamID != 0xC0 {
				t.Fatalf("aac pes: % x length %d rai %v", e.data[:7], e.length, e.rai)
			}
		case muxer.CodecOpus, muxer.CodecAC3:
			if e.length == 0 || e.streamID != 0xBD {
				t.Fatalf("%v pes: length %d stream id %x", tr.Codec, e.length, e.streamID)
			}
		}
	}
}

// TestStartCC chains segments through Config.StartCC and NextCC instead of
// padding.
func TestStartCC(t *testing.T) {
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC}
	var all []byte
	next := map[uint16]uint8{}
	padded := 0
	for k := range 6 {
		var buf bytes.Buffer
		cfg := muxer.Config{Tracks: ch.Tracks(), StartCC: next}
		w, err := muxer.NewSegmentWriter(&buf, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ch.Units(int64(k)*180000, int64(k+1)*180000) {
			if err = w.WriteUnit(u); err != nil {
				t.Fatal(err)
			}
		}
		if err = w.Close(); err != nil {
			t.Fatal(err)
		}
		next = w.NextCC()
		for _, cc := range next {
			if cc == 0 {
				padded++
			}
		}
		all = append(all, buf.Bytes()...)
	}
	requireClean(t, "chained segments", analyze(t, all))
	if padded == len(next)*6 {
		t.Fatal("every pid ended on a multiple of 16: StartCC did not turn padding off")
	}
}

func TestNextCCAligned(t *testing.T) {
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC}
	w, err := muxer.NewSegmentWriter(io.Discard, muxer.Config{Tracks: ch.Tracks()})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ch.Units(0, 90000) {
		if err = w.WriteUnit(u); err != nil {
			t.Fatal(err)
		}
	}
	if err = w.Close(); err != nil {
		t.Fatal(err)
	}
	for pid, cc := range w.NextCC() {
		if cc != 0 {
			t.Fatalf("pid 0x%x: next cc %d after an aligned segment", pid, cc)
		}
	}
	if !errors.Is(w.WriteUnit(ch.Units(90000, 93600)[0]), muxer.ErrClosed) {
		t.Fatal("WriteUnit after Close did not fail")
	}
}

func TestEmptySegment(t *testing.T) {
	var buf bytes.Buffer
	n, err := muxer.WriteSegment(&buf, muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecH264}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 32*188 {
		t.Fatalf("empty segment is %d bytes, want 16 PAT and 16 PMT packets", n)
	}
	pkts := parsePackets(t, buf.Bytes())
	for i, p := range pkts {
		want := uint16(0)
		if i%2 == 1 {
			want = muxer.DefaultPMTPID
		}
		if p.pid != want || int(p.cc) != i/2 {
			t.Fatalf("packet %d on pid 0x%x cc %d", i, p.pid, p.cc)
		}
	}
}

// TestPTSWrap writes units whose DTS crosses 2^33 and reads the PES headers
// and PCRs back.
func TestPTSWrap(t *testing.T) {
	const wrap = 1 << 33
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC, Reorder: true, Epoch: wrap - 10*3600}
	units := ch.Units(ch.Epoch, ch.Epoch+20*3600)
	var buf bytes.Buffer
	if _, err := muxer.WriteSegment(&buf, muxer.Config{Tracks: ch.Tracks()}, units); err != nil {
		t.Fatal(err)
	}
	got := parsePES(t, buf.Bytes())
	if len(got) != len(units) {
		t.Fatalf("%d pes for %d units", len(got), len(units))
	}
	// the writer keeps each track's order; match units per pid
	byPID := map[uint16][]pes{}
	for _, e := range got {
		byPID[e.pid] = append(byPID[e.pid], e)
	}
	crossed := false
	tracks := ch.Tracks()
	idx := map[uint16]int{}
	for _, u := range units {
		pid := tracks[u.Track].PID
		e := byPID[pid][idx[pid]]
		idx[pid]++
		if e.pts != u.PTS%wrap || e.dts != u.DTS%wrap {
			t.Fatalf("pid 0x%x: pts/dts %d/%d, want %d/%d", pid, e.pts, e.dts, u.PTS%wrap, u.DTS%wrap)
		}
		if u.Track == 0 && e.hasDTS != (u.PTS != u.DTS) {
			t.Fatalf("dts present %v for pts %d dts %d", e.hasDTS, u.PTS, u.DTS)
		}
		crossed = crossed || u.DTS >= wrap
	}
	if !crossed {
		t.Fatal("units did not cross 2^33")
	}
	var pcrs []int64
	for _, p := range parsePackets(t, buf.Bytes()) {
		if p.hasPCR {
			pcrs = append(pcrs, p.pcr)
		}
	}
	for i, v := range pcrs {
		want := (units[0].DTS - muxer.DefaultMuxDelay + int64(i)*3600) % wrap
		if v != want {
			t.Fatalf("pcr %d is %d, want %d", i, v, want)
		}
	}
	requireClean(t, "wrapped segment", analyze(t, buf.Bytes()))
}

func TestConfigErrors(t *testing.T) {
	h264 := muxer.Track{PID: 0x100, Codec: muxer.CodecH264}
	cases := []struct {
		name string
		cfg  muxer.Config
	}{
		{"no tracks", muxer.Config{}},
		{"reserved pid", muxer.Config{Tracks: []muxer.Track{{PID: 0x0001, Codec: muxer.CodecH264}}}},
		{"null pid", muxer.Config{Tracks: []muxer.Track{{PID: 0x1FFF, Codec: muxer.CodecH264}}}},
		{"duplicate pid", muxer.Config{Tracks: []muxer.Track{h264, h264}}},
		{"pid is the pmt's", muxer.Config{Tracks: []muxer.Track{{PID: 0x1000, Codec: muxer.CodecH264}}}},
		{"unknown codec", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: 99}}}},
		{"aac without rate", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecAAC, ChannelCount: 2}}}},
		{"aac odd rate", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecAAC, SampleRate: 47000, ChannelCount: 2}}}},
		{"aac 7 channels", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecAAC, SampleRate: 48000, ChannelCount: 7}}}},
		{"aac bad asc", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecAAC, AudioSpecificConfig: []byte{0x11}}}}},
		{"opus no channels", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecOpus}}}},
		{"language", muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecH264, Language: "english"}}}},
		{"psi interval", muxer.Config{Tracks: []muxer.Track{h264}, PSIInterval: 45001}},
		{"pcr interval", muxer.Config{Tracks: []muxer.Track{h264}, PCRInterval: 9001}},
		{"negative mux delay", muxer.Config{Tracks: []muxer.Track{h264}, MuxDelay: -1}},
		{"pcr pid is the pmt's", muxer.Config{Tracks: []muxer.Track{h264}, PCRPID: 0x1000}},
		{"start cc", muxer.Config{Tracks: []muxer.Track{h264}, StartCC: map[uint16]uint8{0x100: 16}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := muxer.NewSegmentWriter(io.Discard, c.cfg)
			if !errors.Is(err, muxer.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestUnitErrors(t *testing.T) {
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecAAC}
	good := ch.Units(0, 3600)
	cases := []struct {
		name  string
		units []muxer.Unit
		want  error
	}{
		{"no track", []muxer.Unit{{Track: 2, Data: [][]byte{{1, 2, 3}}}}, muxer.ErrInvalidUnit},
		{"empty", []muxer.Unit{{Track: 0}}, muxer.ErrInvalidUnit},
		{"empty nals", []muxer.Unit{{Track: 0, Data: [][]byte{{}, nil}}}, muxer.ErrInvalidUnit},
		{"pts before dts", []muxer.Unit{{Track: 0, PTS: 10, DTS: 20, Data: [][]byte{{0x65, 1}}}}, muxer.ErrInvalidUnit},
		{"one-byte nal", []muxer.Unit{{Track: 0, Data: [][]byte{{0x65}}}}, nil},
		{"huge aac frame", []muxer.Unit{{Track: 1, Data: [][]byte{make([]byte, 9000)}}}, muxer.ErrInvalidUnit},
		{"huge audio pes", []muxer.Unit{{Track: 1, Data: func() [][]byte {
			f := make([][]byte, 10)
			for i := range f {
				f[i] = make([]byte, 8000)
			}
			return f
		}()}}, muxer.ErrInvalidUnit},
		{"dts back", []muxer.Unit{good[0], {Track: 1, DTS: -1, PTS: -1, Data: [][]byte{{1, 2, 3}}}}, muxer.ErrUnitOrder},
		{"dts repeated in a track", []muxer.Unit{good[0], good[0]}, muxer.ErrUnitOrder},
		{"dts jump", []muxer.Unit{good[0], {Track: 1, DTS: muxer.MaxDTSGap + 1, PTS: muxer.MaxDTSGap + 1, Data: [][]byte{{1, 2, 3}}}}, muxer.ErrUnitOrder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := muxer.NewSegmentWriter(io.Discard, muxer.Config{Tracks: ch.Tracks()})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range c.units {
				err = w.WriteUnit(u)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			// a rejected unit leaves the writer usable
			if err = w.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAUDKept(t *testing.T) {
	units := []muxer.Unit{{Track: 0, Key: true, Data: [][]byte{{0x09, 0x10}, {0x67, 1, 2, 3}, {0x68, 1}, {0x65, 1, 2, 3, 4, 5}}}}
	var buf bytes.Buffer
	if _, err := muxer.WriteSegment(&buf, muxer.Config{Tracks: []muxer.Track{{PID: 0x100, Codec: muxer.CodecH264}}}, units); err != nil {
		t.Fatal(err)
	}
	e := parsePES(t, buf.Bytes())[0]
	want := []byte{0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 1, 2, 3, 0, 0, 0, 1, 0x68, 1, 0, 0, 0, 1, 0x65, 1, 2, 3, 4, 5}
	if !bytes.Equal(e.data, want) {
		t.Fatalf("got % x\nwant % x", e.data, want)
	}
}

func TestAudioSpecificConfig(t *testing.T) {
	cases := []struct {
		name string
		asc  []byte
		hdr  byte // third ADTS header byte
	}{
		{"lc 48k stereo", []byte{0x11, 0x90}, 0x4C},
		{"lc 44.1k mono", []byte{0x12, 0x08}, 0x50},
		{"he-aac explicit 24k core", []byte{0x2B, 0x11, 0x88}, 0x58},
		{"explicit frequency 48000", []byte{0x17, 0x80, 0x5D, 0xC0, 0x10}, 0x4C},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := muxer.Config{Tracks: []muxer.Track{{PID: 0x101, Codec: muxer.CodecAAC, AudioSpecificConfig: c.asc}}}
			units := []muxer.Unit{{Track: 0, Data: [][]byte{make([]byte, 100)}}}
			if _, err := muxer.WriteSegment(&buf, cfg, units); err != nil {
				t.Fatal(err)
			}
			e := parsePES(t, buf.Bytes())[0]
			if e.data[2] != c.hdr {
				t.Fatalf("adts byte 2 is %02x, want %02x", e.data[2], c.hdr)
			}
			if l := int(e.data[3]&3)<<11 | int(e.data[4])<<3 | int(e.data[5]>>5); l != 107 {
				t.Fatalf("adts frame_length %d, want 107", l)
			}
		})
	}
}

// TestWriteUnitAllocs checks that writing units does not allocate once the
// writer has warmed up.
func TestWriteUnitAllocs(t *testing.T) {
	ch := synth.Channel{Video: muxer.CodecH264, Audio: muxer.CodecOpus}
	units := ch.Units(0, 60*90000)
	w, err := muxer.NewSegmentWriter(io.Discard, muxer.Config{Tracks: ch.Tracks()})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(units)-1, func() {
		if err := w.WriteUnit(units[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs > 0.01 {
		t.Fatalf("%.2f allocations per unit", allocs)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrorIsSticky(t *testing.T) {
	ch := synth.Channel{Video: muxer.CodecH264, FrameBytes: 20000}
	w, err := muxer.NewSegmentWriter(&failWriter{n: 100000}, muxer.Config{Tracks: ch.Tracks()})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ch.Units(0, 180000) {
		if err = w.WriteUnit(u); err != nil {
			break
		}
	}
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("got %v, want disk full", err)
	}
	if err = w.Close(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Close: got %v", err)
	}
}
