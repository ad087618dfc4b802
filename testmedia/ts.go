package testmedia

import (
	"fmt"
	"io"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// TSStartPTS is the PTS of the first video frame and the first audio frame of
// every MPEG-TS clip: one second, so that the PCR (written 100 ms before the
// DTS) and every timestamp stay positive.
const TSStartPTS = 90000

// aacFramesPerPES is how many AAC frames share one PES packet (107 ms), which
// with their ADTS headers fit in one or two TS packets instead of one each.
const aacFramesPerPES = 5

// Repetition targets, in 90 kHz ticks, kept well inside ETSI TR 101 290
// (PAT and PMT at least every 500 ms, priority 1; PCR at least every 100 ms,
// priority 2).
const (
	tsTablesInterval = 36000 // 400 ms
	tsPCRInterval    = 4500  // 50 ms: a longer gap gets a PCR-only packet
	// tsPCRDelay is how far the writer's PCR runs behind the DTS (100 ms).
	tsPCRDelay = 9000
)

// writeTS writes c as MPEG-TS: video on PID 256, audio (ADTS, added by the
// writer) on PID 257, PES packets in timestamp order, video first on ties.
//
// The mediacommon writer prepends an access unit delimiter to every access
// unit, sets random_access_indicator on keyframes and writes PAT and PMT
// before each of them, and puts a PCR on the video PID at every keyframe and
// every third frame: 120 ms apart at 25 fps. Between those, this function adds
// PAT and PMT at least every 400 ms, and a PCR-only packet on the video PID
// whenever the next PCR would come more than 50 ms after the last.
func writeTS(w io.Writer, c *clip) error {
	tap := &tsTap{w: w, lastPCR: -1}
	vt := &mpegts.Track{Codec: &tscodecs.H264{}}
	tracks := []*mpegts.Track{vt}
	var at *mpegts.Track
	if c.audio != nil {
		at = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
			Type:          mpeg4audio.ObjectTypeAACLC,
			SampleRate:    aacSampleRate,
			ChannelConfig: aacChannels,
			ChannelCount:  aacChannels,
		}}}
		tracks = append(tracks, at)
	}
	mw := &mpegts.Writer{W: tap, Tracks: tracks}
	if err := mw.Initialize(); err != nil {
		return err
	}
	tap.videoPID = vt.PID

	lastTables := int64(0)
	// beforePES keeps the tables frequent; t is the PES's time on the PCR clock.
	beforePES := func(t int64) error {
		if t-lastTables >= tsTablesInterval {
			if _, err := mw.WriteTables(); err != nil {
				return err
			}
			lastTables = t
		}
		return nil
	}
	afterPES := func(t int64) {
		if tap.sawPAT {
			lastTables = t
			tap.sawPAT = false
		}
	}

	aus := make([][]byte, 0, aacFramesPerPES)
	nextAudio := 0
	for i := 0; i < c.frames || nextAudio < c.audioFrames; {
		if i < c.frames && (nextAudio >= c.audioFrames || c.videoPTS(i) <= c.audioPTS(nextAudio)) {
			pts := TSStartPTS + c.videoPTS(i)
			t := pts - tsPCRDelay
			if err := beforePES(t); err != nil {
				return err
			}
			// The writer puts a PCR on every keyframe itself.
			if !c.isIDR(i) && tap.lastPCR >= 0 && t-tap.lastPCR > tsPCRInterval {
				if err := tap.writePCR(t); err != nil {
					return err
				}
			}
			if err := mw.WriteH264(vt, pts, pts, c.videoNALUs(i, true)); err != nil {
				return err
			}
			afterPES(t)
			i++
			continue
		}
		aus = aus[:0]
		for n := nextAudio; n < nextAudio+aacFramesPerPES && n < c.audioFrames; n++ {
			aus = append(aus, c.audio.frame(n))
		}
		pts := TSStartPTS + c.audioPTS(nextAudio)
		if err := beforePES(pts - tsPCRDelay); err != nil {
			return err
		}
		if err := mw.WriteMPEG4Audio(at, pts, aus); err != nil {
			return err
		}
		afterPES(pts - tsPCRDelay)
		nextAudio += len(aus)
	}
	if tap.n != 0 {
		return fmt.Errorf("mpegts: stream ends inside a packet")
	}
	return nil
}

// tsPacketSize is the size of a transport stream packet.
const tsPacketSize = 188

// tsTap passes the writer's transport stream through and follows what is
// needed to add packets between its writes: the video PID's last continuity
// counter and PCR, and whether a PAT went by.
// Specification: ISO/IEC 13818-1, 2.4.3.2 and 2.4.3.4.
type tsTap struct {
	w        io.Writer
	pkt      [tsPacketSize]byte
	n        int // bytes of pkt filled
	videoPID uint16
	videoCC  byte
	lastPCR  int64 // PCR base of the last PCR on the video PID; -1 before the first
	sawPAT   bool
}

func (t *tsTap) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	for q := p[:n]; len(q) > 0; {
		k := copy(t.pkt[t.n:], q)
		t.n += k
		q = q[k:]
		if t.n == tsPacketSize {
			t.inspect()
			t.n = 0
		}
	}
	return n, err
}

// inspect reads the header and adaptation field of the packet in t.pkt.
func (t *tsTap) inspect() {
	p := t.pkt[:]
	pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
	if pid == 0 {
		t.sawPAT = true
		return
	}
	if pid != t.videoPID {
		return
	}
	afc := p[3] >> 4 & 0x3
	if afc&0x1 != 0 { // has payload
		t.videoCC = p[3] & 0x0f
	}
	if afc&0x2 != 0 && p[4] >= 7 && p[5]&0x10 != 0 {
		t.lastPCR = int64(p[6])<<25 | int64(p[7])<<17 | int64(p[8])<<9 | int64(p[9])<<1 | int64(p[10]>>7)
	}
}

// writePCR writes a packet on the video PID with only an adaptation field
// holding a PCR. Such a packet repeats the PID's continuity counter.
func (t *tsTap) writePCR(base int64) error {
	if t.n != 0 {
		return fmt.Errorf("mpegts: PCR packet inside a packet")
	}
	var p [tsPacketSize]byte
	p[0] = 0x47
	p[1] = byte(t.videoPID >> 8 & 0x1f)
	p[2] = byte(t.videoPID)
	p[3] = 0x20 | t.videoCC // adaptation_field_control 10: adaptation field only
	p[4] = tsPacketSize - 5 // adaptation_field_length
	p[5] = 0x10             // PCR_flag
	p[6] = byte(base >> 25)
	p[7] = byte(base >> 17)
	p[8] = byte(base >> 9)
	p[9] = byte(base >> 1)
	p[10] = byte(base&1)<<7 | 0x7e // 6 reserved bits, extension 0
	p[11] = 0
	for i := 12; i < tsPacketSize; i++ {
		p[i] = 0xff // stuffing
	}
	if _, err := t.w.Write(p[:]); err != nil {
		return err
	}
	t.lastPCR = base
	return nil
}
