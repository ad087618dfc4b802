package muxer_test

import (
	"bytes"
	"fmt"
	"testing"

	"onair/muxer"
	"onair/muxer/internal/synth"
	"onair/muxer/tr101290"
)

// tsPacket is a parsed transport packet.
type tsPacket struct {
	pid     uint16
	pusi    bool
	afc     byte
	cc      byte
	rai     bool
	hasPCR  bool
	pcr     int64 // 90 kHz base
	payload []byte
}

func parsePackets(t testing.TB, ts []byte) []tsPacket {
	t.Helper()
	if len(ts)%188 != 0 {
		t.Fatalf("stream of %d bytes is not a whole number of packets", len(ts))
	}
	var out []tsPacket
	for off := 0; off < len(ts); off += 188 {
		b := ts[off : off+188]
		if b[0] != 0x47 {
			t.Fatalf("packet %d: sync byte 0x%02x", off/188, b[0])
		}
		p := tsPacket{
			pid:  uint16(b[1]&0x1F)<<8 | uint16(b[2]),
			pusi: b[1]&0x40 != 0,
			afc:  b[3] >> 4 & 3,
			cc:   b[3] & 0x0F,
		}
		pos := 4
		if p.afc&2 != 0 {
			afl := int(b[4])
			if afl > 0 {
				p.rai = b[5]&0x40 != 0
				if b[5]&0x10 != 0 {
					p.hasPCR = true
					p.pcr = int64(b[6])<<25 | int64(b[7])<<17 | int64(b[8])<<9 | int64(b[9])<<1 | int64(b[10]>>7)
					if b[10]&0x7E != 0x7E {
						t.Fatalf("packet %d: pcr reserved bits %02x", off/188, b[10])
					}
				}
				// everything after the optional fields must be stuffing
				end := 6
				if p.hasPCR {
					end = 12
				}
				for i := end; i < 5+afl; i++ {
					if b[i] != 0xFF {
						t.Fatalf("packet %d: adaptation field byte %d is 0x%02x, not stuffing", off/188, i, b[i])
					}
				}
			}
			pos = 5 + afl
		}
		if p.afc&1 != 0 {
			p.payload = b[pos:]
		}
		out = append(out, p)
	}
	return out
}

// pes is a reassembled PES packet.
type pes struct {
	pid      uint16
	streamID byte
	length   int // PES_packet_length
	hdrLen   int // PES_header_data_length
	pts, dts int64
	hasDTS   bool
	rai      bool
	pcr      bool
	data     []byte
}

// readTimestamp decodes a PTS/DTS and checks its prefix and marker bits.
func readTimestamp(t testing.TB, b []byte, prefix byte) int64 {
	t.Helper()
	if b[0]>>4 != prefix || b[0]&1 != 1 || b[2]&1 != 1 || b[4]&1 != 1 {
		t.Fatalf("timestamp % x: bad prefix or marker bits (prefix %x)", b[:5], prefix)
	}
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// parsePES reassembles the PES packets of the stream's elementary PIDs.
func parsePES(t testing.TB, ts []byte) []pes {
	t.Helper()
	var out []pes
	var raw [][]byte
	open := map[uint16]int{}
	for _, p := range parsePackets(t, ts) {
		if p.pid == 0 || p.pid == muxer.DefaultPMTPID || p.payload == nil {
			continue
		}
		if p.pusi {
			b := p.payload
			if !bytes.HasPrefix(b, []byte{0, 0, 1}) || len(b) < 14 || len(b) < 9+5*int(b[7]>>6-1) {
				t.Fatalf("pid 0x%x: pes start without start code and timestamps: % x", p.pid, b)
			}
			out = append(out, pes{pid: p.pid, rai: p.rai, pcr: p.hasPCR})
			raw = append(raw, nil)
			open[p.pid] = len(out) - 1
		}
		i, ok := open[p.pid]
		if !ok {
			t.Fatalf("pid 0x%x: payload before any pes start", p.pid)
		}
		raw[i] = append(raw[i], p.payload...)
	}
	for i := range out {
		e, b := &out[i], raw[i]
		e.streamID, e.length, e.hdrLen = b[3], int(b[4])<<8|int(b[5]), int(b[8])
		if b[6]&0xC0 != 0x80 {
			t.Fatalf("pid 0x%x: pes header marker bits %02x", e.pid, b[6])
		}
		switch b[7] >> 6 {
		case 2:
			e.pts = readTimestamp(t, b[9:], 2)
			e.dts = e.pts
		case 3:
			e.pts = readTimestamp(t, b[9:], 3)
			e.dts = readTimestamp(t, b[14:], 1)
			e.hasDTS = true
		default:
			t.Fatalf("pid 0x%x: pes without pts", e.pid)
		}
		ts := 5
		if e.hasDTS {
			ts = 10
		}
		for _, v := range b[9+ts : 9+e.hdrLen] {
			if v != 0xFF {
				t.Fatalf("pid 0x%x: pes header stuffing byte 0x%02x", e.pid, v)
			}
		}
		e.data = b[9+e.hdrLen:]
		if e.length != 0 && e.length != 3+len(e.data)+e.hdrLen {
			t.Fatalf("pid 0x%x: pes_packet_length %d, but %d bytes follow", e.pid, e.length, 3+len(e.data)+e.hdrLen)
		}
	}
	return out
}

// With end set, each segment's Config.EndDTS is the next one's start.
func writeSegments(t testing.TB, ch synth.Channel, cfg muxer.Config, segDur int64, first, last int, end bool) [][]byte {
	t.Helper()
	var segs [][]byte
	for k := first; k <= last; k++ {
		from := ch.Epoch + int64(k)*segDur
		if end {
			cfg.EndDTS = from + segDur
		}
		var buf bytes.Buffer
		n, err := muxer.WriteSegment(&buf, cfg, ch.Units(from, from+segDur))
		if err != nil {
			t.Fatalf("segment %d: %v", k, err)
		}
		if n != buf.Len() {
			t.Fatalf("segment %d: WriteSegment returned %d, wrote %d", k, n, buf.Len())
		}
		segs = append(segs, buf.Bytes())
	}
	return segs
}

func analyze(t testing.TB, ts []byte) tr101290.Report {
	t.Helper()
	rep, err := tr101290.Analyze(bytes.NewReader(ts))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func requireClean(t testing.TB, what string, rep tr101290.Report) {
	t.Helper()
	if !rep.OK() || rep.SkippedBytes != 0 {
		t.Fatalf("%s: not clean: skipped %d, counters %+v, errors %s", what, rep.SkippedBytes, rep.Counters, fmtErrors(rep.Errors))
	}
}

func fmtErrors(errs []tr101290.Error) string {
	var b bytes.Buffer
	for i, e := range errs {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... %d more", len(errs)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s packet %d pid 0x%x: %s", e.Indicator, e.Packet, e.PID, e.Detail)
	}
	return b.String()
}
