package rtsp

import (
	"github.com/pion/rtp"
)

// h264PayloadMax is the largest RTP payload the packetizer makes: a
// 1500-byte MTU less the IP, UDP, RTP and SRTP overheads (as gortsplib's
// own encoder).
const h264PayloadMax = 1450

// NAL unit types of RFC 6184 payloads.
const (
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Packetizer turns H.264 access units into RTP packets (RFC 6184,
// packetization mode 1): runs of small NAL units share a STAP-A packet, a
// unit that fits alone is a single NAL unit packet, a larger one is split
// into FU-A fragments; the last packet of an access unit has the marker
// bit. It keeps one packet and one payload buffer and hands each packet to
// emit, which must copy what it keeps (ServerStream.WritePacketRTP marshals
// the packet before it returns), so it allocates nothing per packet; at
// 5 Mbit/s that is some 450 packets a second a channel.
type h264Packetizer struct {
	payloadType uint8
	seq         uint16 // sequence number of the next packet
	max         int    // largest payload
	pkt         rtp.Packet
	buf         []byte
}

func newH264Packetizer(payloadType uint8, firstSeq uint16) *h264Packetizer {
	return &h264Packetizer{
		payloadType: payloadType, seq: firstSeq, max: h264PayloadMax,
		buf: make([]byte, 0, h264PayloadMax),
	}
}

// packetize sends access unit au (NAL units without start codes, none
// empty, as muxer.AppendNALUs gives them) with RTP timestamp ts as packets
// through emit, and stops at emit's first error.
func (p *h264Packetizer) packetize(au [][]byte, ts uint32, emit func(*rtp.Packet) error) error {
	for i := 0; i < len(au); {
		// The longest run from i whose STAP-A fits (1 byte of header, and
		// 2 bytes of size before each unit).
		j, size := i, 1
		for j < len(au) && size+2+len(au[j]) <= p.max {
			size += 2 + len(au[j])
			j++
		}
		var err error
		switch {
		case j-i >= 2:
			err = p.stapA(au[i:j], ts, j == len(au), emit)
			i = j
		case len(au[i]) <= p.max:
			err = p.send(au[i], ts, i+1 == len(au), emit)
			i++
		default:
			err = p.fuA(au[i], ts, i+1 == len(au), emit)
			i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// send emits one packet with payload b.
func (p *h264Packetizer) send(b []byte, ts uint32, marker bool, emit func(*rtp.Packet) error) error {
	p.pkt.Header = rtp.Header{
		Version: 2, Marker: marker, PayloadType: p.payloadType,
		SequenceNumber: p.seq, Timestamp: ts,
	}
	p.pkt.Payload = b
	p.seq++
	return emit(&p.pkt)
}

// stapA emits nalus as one aggregation packet (RFC 6184, 5.7.1): its F bit
// is set when any unit's is, its NRI is the largest of the units'.
func (p *h264Packetizer) stapA(nalus [][]byte, ts uint32, marker bool, emit func(*rtp.Packet) error) error {
	var f, nri byte
	p.buf = append(p.buf[:0], 0)
	for _, n := range nalus {
		f |= n[0] & 0x80
		nri = max(nri, n[0]&0x60)
		p.buf = append(p.buf, byte(len(n)>>8), byte(len(n)))
		p.buf = append(p.buf, n...)
	}
	p.buf[0] = f | nri | naluSTAPA
	return p.send(p.buf, ts, marker, emit)
}

// fuA emits nalu as fragmentation units (RFC 6184, 5.8): the FU indicator
// keeps the unit's F and NRI bits, the FU header its type with the start
// bit on the first fragment and the end bit on the last.
func (p *h264Packetizer) fuA(nalu []byte, ts uint32, marker bool, emit func(*rtp.Packet) error) error {
	indicator := nalu[0]&0xE0 | naluFUA
	typ := nalu[0] & 0x1F
	rest := nalu[1:]
	start := true
	for len(rest) > 0 {
		n := min(len(rest), p.max-2)
		h := typ
		if start {
			h |= 0x80
		}
		end := n == len(rest)
		if end {
			h |= 0x40
		}
		p.buf = append(p.buf[:0], indicator, h)
		p.buf = append(p.buf, rest[:n]...)
		if err := p.send(p.buf, ts, marker && end, emit); err != nil {
			return err
		}
		rest = rest[n:]
		start = false
	}
	return nil
}
