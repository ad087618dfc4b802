// Package tr101290 checks an MPEG transport stream against the first and
// second priority indicators of ETSI TR 101 290.
//
// Time is measured on the stream's own timeline, not the wall clock, so a
// file is analysed faster than real time: the analyzer's clock advances by
// the differences between consecutive PCRs of the program's PCR PID (the
// first PID seen carrying a PCR until a PMT names one). A PCR with the
// discontinuity_indicator set, one that goes back, or one that jumps ahead
// by more than a second does not advance the clock. Without any PCR, PTS
// repetition is measured on PTS values instead and the timeouts of PAT, PMT
// and PIDs are not checked.
//
// Indicators and how they are measured:
//
//   - 1.1 TS_sync_loss: sync is acquired on 5 consecutive sync bytes and lost
//     after 2 consecutive corrupted ones; also counted once for a stream in
//     which sync is never found.
//   - 1.2 Sync_byte_error: a packet whose sync byte is not 0x47.
//   - 1.3 PAT_error: no PAT section for more than 500 ms, a section other
//     than table_id 0x00 on PID 0, or a scrambled packet on PID 0.
//   - 1.4 Continuity_count_error: a payload packet whose continuity_counter
//     is neither the next value nor a single repetition (a duplicate packet),
//     or a packet without payload whose counter changed; excused by the
//     discontinuity_indicator.
//   - 1.5 PMT_error: no PMT section for more than 500 ms on a PID the PAT
//     names, or a scrambled packet on it.
//   - 1.6 PID_error: a PID the PMT names absent for more than
//     Options.PIDTimeout (default 5 s).
//   - 2.1 Transport_error: transport_error_indicator set.
//   - 2.2 CRC_error: a PAT or PMT section whose CRC_32 is wrong.
//   - 2.3a PCR_repetition_error: two consecutive PCRs of a PID more than
//     100 ms apart.
//   - 2.3b PCR_discontinuity_indicator_error: two consecutive PCRs of a PID
//     whose difference is outside 0 to 100 ms without the
//     discontinuity_indicator set. (With time taken from the PCRs, a gap
//     longer than 100 ms raises both 2.3a and 2.3b; a PCR that goes back
//     only 2.3b.)
//   - 2.3 PCR_error: PCRs that raised 2.3a or 2.3b.
//   - 2.5 PTS_error: a PID that carried a PTS carries none for more than
//     700 ms.
//
// PCR_accuracy_error (2.4) is not measured.
//
// Specification: ETSI TR 101 290 V1.4.1, 5.2.1 and 5.2.2; ISO/IEC 13818-1.
package tr101290

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"onair/internal/mpegcrc"
)

const (
	packetSize = 188
	syncByte   = 0x47
	nullPID    = 0x1FFF

	// syncLock is the number of consecutive sync bytes that acquire sync;
	// syncLost the number of consecutive corrupted ones that lose it.
	syncLock = 5
	syncLost = 2

	tickMS   = 27000           // 27 MHz ticks per millisecond
	pcrWrap  = (1 << 33) * 300 // PCR modulus in 27 MHz ticks
	ptsWrap  = 1 << 33         // PTS modulus in 90 kHz ticks
	maxStep  = 1000 * tickMS   // a larger PCR step is a discontinuity
	psiLimit = 500 * tickMS    // 1.3, 1.5
	pcrLimit = 100 * tickMS    // 2.3
	ptsLimit = 700 * tickMS    // 2.5

	maxSection = 1024 // 3 + the largest section_length of a PAT or PMT
)

// Options tune an Analyzer.
type Options struct {
	// MaxErrors is how many Errors a Report lists. Defaults to 100; negative
	// lists none.
	MaxErrors int
	// PIDTimeout is how long a PID named by a PMT may be absent before a
	// PID_error, in 90 kHz ticks. Defaults to 450000 (5 s).
	PIDTimeout int64
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("analyzer is closed")

// pidState is what the analyzer keeps per PID.
type pidState struct {
	seen bool
	cc   uint8
	dup  bool // the last payload packet repeated its predecessor

	hasPCR  bool
	lastPCR int64 // 27 MHz, modulo pcrWrap

	hasPTS    bool
	lastPTS   int64 // 90 kHz
	lastPTSAt int64 // clock at the last PTS
	ptsRef    int64 // clock PTS_error is measured from

	isPMT     bool
	pmtSeen   bool
	lastPMTAt int64
	pmtRef    int64
	esPIDs    []uint16 // PIDs this PMT names

	isES    bool
	seenRef int64 // clock PID_error is measured from

	secOn bool
	sec   []byte
}

// Analyzer checks a transport stream written to it, in pieces of any size.
// It is safe for concurrent use: a live channel can feed it from one
// goroutine while another reads the Report.
type Analyzer struct {
	mu     sync.Mutex
	opts   Options
	closed bool

	buf        []byte
	synced     bool
	everSynced bool
	badRun     int

	rep  Report
	pids [nullPID]*pidState

	clockOK      bool
	clockPID     int // -1 until a PCR is seen
	clockFromPMT bool
	clockLast    int64
	now          int64 // 27 MHz ticks since the first PCR

	patSeen   bool
	lastPATAt int64
	patRef    int64
	pmtPIDs   []uint16
	esPIDs    []uint16
}

// NewAnalyzer returns an Analyzer.
func NewAnalyzer(opts Options) *Analyzer {
	if opts.MaxErrors == 0 {
		opts.MaxErrors = 100
	}
	if opts.PIDTimeout <= 0 {
		opts.PIDTimeout = 5 * 90000
	}
	return &Analyzer{opts: opts, clockPID: -1}
}

// Analyze reads a whole stream and reports on it. Only an error reading r
// is returned.
func Analyze(r io.Reader) (Report, error) {
	a := NewAnalyzer(Options{})
	buf := make([]byte, 256*packetSize)
	var rerr error
	for {
		n, err := r.Read(buf)
		_, _ = a.Write(buf[:n])
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rerr = fmt.Errorf("reading transport stream: %w", err)
			}
			break
		}
	}
	_ = a.Close()
	return a.Report(), rerr
}

// Write analyses p. It always consumes all of p.
func (a *Analyzer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, ErrClosed
	}
	a.buf = append(a.buf, p...)
	a.process(false)
	return len(p), nil
}

// Close ends the stream: a truncated last packet is counted as skipped
// bytes, and a stream in which sync was never found as a TS_sync_loss.
func (a *Analyzer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.process(true)
	if !a.everSynced && a.rep.SkippedBytes >= packetSize {
		a.add(TSSyncLoss, &a.rep.Counters.TSSyncLoss, nullPID, "no sync byte pattern found in %d bytes", a.rep.SkippedBytes)
	}
	a.closed = true
	a.buf = nil
	return nil
}

// Report returns what was found so far.
func (a *Analyzer) Report() Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rep
	r.Errors = slices.Clone(a.rep.Errors)
	return r
}

// process consumes whole packets from a.buf, keeping what cannot be judged
// yet. final consumes everything.
func (a *Analyzer) process(final bool) {
	b := a.buf
	pos := 0
	for {
		if !a.synced {
			i, ok := findSync(b[pos:], final)
			if !ok {
				keep := 0
				if !final {
					keep = (syncLock-1)*packetSize + 1
				}
				if n := len(b) - pos - keep; n > 0 {
					a.rep.SkippedBytes += int64(n)
					pos += n
				}
				break
			}
			a.rep.SkippedBytes += int64(i)
			pos += i
			a.synced, a.everSynced, a.badRun = true, true, 0
		}
		if len(b)-pos < packetSize {
			if final {
				a.rep.SkippedBytes += int64(len(b) - pos)
				pos = len(b)
			}
			break
		}
		p := b[pos : pos+packetSize]
		if p[0] != syncByte {
			a.badRun++
			if a.badRun >= syncLost {
				// these bytes are no packet: search for sync from the next one
				a.add(SyncByteError, &a.rep.Counters.SyncByteError, nullPID, "sync byte 0x%02x", p[0])
				a.add(TSSyncLoss, &a.rep.Counters.TSSyncLoss, nullPID, "%d consecutive corrupted sync bytes", a.badRun)
				a.synced = false
				a.rep.SkippedBytes++
				pos++
				continue
			}
			a.rep.Packets++
			a.add(SyncByteError, &a.rep.Counters.SyncByteError, nullPID, "sync byte 0x%02x", p[0])
			pos += packetSize
			continue
		}
		a.badRun = 0
		a.packet(p)
		pos += packetSize
	}
	n := copy(a.buf, b[pos:])
	a.buf = a.buf[:n]
}

// findSync returns the offset of the first run of syncLock sync bytes a
// packet apart. At the end of the stream any offset from which every
// remaining packet starts with a sync byte will do.
func findSync(b []byte, final bool) (int, bool) {
	for i := range b {
		if b[i] != syncByte {
			continue
		}
		k := 1
		for ; k < syncLock && i+k*packetSize < len(b); k++ {
			if b[i+k*packetSize] != syncByte {
				break
			}
		}
		if k == syncLock {
			return i, true
		}
		if final && i+packetSize <= len(b) && i+k*packetSize >= len(b) {
			return i, true
		}
		if !final && i+(syncLock-1)*packetSize >= len(b) {
			return 0, false // not enough bytes to decide
		}
	}
	return 0, false
}

func (a *Analyzer) state(pid uint16) *pidState {
	st := a.pids[pid]
	if st == nil {
		st = &pidState{}
		a.pids[pid] = st
	}
	return st
}

// add counts an error and lists it while the list has room.
func (a *Analyzer) add(indicator string, counter *int64, pid uint16, format string, args ...any) {
	*counter++
	if len(a.rep.Errors) < a.opts.MaxErrors {
		a.rep.Errors = append(a.rep.Errors, Error{
			Indicator: indicator,
			Packet:    a.rep.Packets - 1,
			PID:       pid,
			Time:      a.now / 300,
			Detail:    fmt.Sprintf(format, args...),
		})
	}
}

// packet analyses one packet that starts with a sync byte.
func (a *Analyzer) packet(p []byte) {
	a.rep.Packets++
	if p[1]&0x80 != 0 {
		a.add(TransportError, &a.rep.Counters.TransportError, nullPID, "transport_error_indicator set")
		return
	}
	pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
	if pid == nullPID {
		return
	}
	scrambled := p[3]>>6 != 0
	afc := p[3] >> 4 & 3
	cc := p[3] & 0x0F
	if afc == 0 {
		return // reserved: decoders discard the packet
	}
	st := a.state(pid)
	off := 4
	disc, hasPCR := false, false
	var pcr int64
	if afc&2 != 0 {
		afl := int(p[4])
		if afl > 183 || (afc == 3 && afl > 182) {
			return // malformed adaptation field
		}
		off = 5 + afl
		if afl > 0 {
			disc = p[5]&0x80 != 0
			if p[5]&0x10 != 0 && afl >= 7 {
				hasPCR = true
				pcr = parsePCR(p[6:12])
			}
		}
	}
	hasPayload := afc&1 != 0

	dup := a.continuity(st, pid, cc, hasPayload, disc)
	if hasPCR {
		a.pcr(st, pid, pcr, disc)
	}
	st.seenRef = a.now
	if pid == 0 && scrambled {
		a.add(PATError, &a.rep.Counters.PATError, pid, "scrambled packet on the PAT pid")
	}
	if st.isPMT && scrambled {
		a.add(PMTError, &a.rep.Counters.PMTError, pid, "scrambled packet on a PMT pid")
	}
	if !hasPayload || dup || scrambled {
		return
	}
	payload := p[off:]
	pusi := p[1]&0x40 != 0
	if pid == 0 || st.isPMT {
		a.feedSection(st, pid, payload, pusi)
		return
	}
	if pusi {
		a.pes(st, pid, payload)
	}
}

// continuity checks the continuity_counter and reports whether the packet
// is a duplicate. Specification: ISO/IEC 13818-1, 2.4.3.3.
func (a *Analyzer) continuity(st *pidState, pid uint16, cc uint8, hasPayload, disc bool) bool {
	dup := false
	if st.seen && !disc {
		switch {
		case !hasPayload:
			if cc != st.cc {
				a.add(ContinuityCountError, &a.rep.Counters.ContinuityCountError, pid,
					"packet without payload changed continuity_counter from %d to %d", st.cc, cc)
				st.secOn = false
			}
		case cc == (st.cc+1)&0x0F:
			st.dup = false
		case cc == st.cc && !st.dup:
			st.dup, dup = true, true
		default:
			a.add(ContinuityCountError, &a.rep.Counters.ContinuityCountError, pid,
				"continuity_counter %d after %d", cc, st.cc)
			st.dup = false
			st.secOn = false
		}
	} else {
		st.dup = false
	}
	st.seen = true
	st.cc = cc
	return dup
}

func parsePCR(b []byte) int64 {
	base := int64(b[0])<<25 | int64(b[1])<<17 | int64(b[2])<<9 | int64(b[3])<<1 | int64(b[4]>>7)
	ext := int64(b[4]&1)<<8 | int64(b[5])
	return base*300 + ext
}

func parseTimestamp(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// pcr checks a PCR against the previous one of its PID and advances the
// clock when the PID is the clock's.
func (a *Analyzer) pcr(st *pidState, pid uint16, pcr int64, disc bool) {
	if st.hasPCR && !disc {
		d := (pcr - st.lastPCR + pcrWrap) % pcrWrap
		back := d > pcrWrap/2
		if !back {
			a.rep.Stats.MaxPCRInterval = max(a.rep.Stats.MaxPCRInterval, d/300)
		}
		if !back && d > pcrLimit {
			a.add(PCRRepetitionError, &a.rep.Counters.PCRRepetitionError, pid, "pcr interval %d ms", d/tickMS)
		}
		if back || d > pcrLimit {
			detail := fmt.Sprintf("pcr jumped ahead %d ms", d/tickMS)
			if back {
				detail = fmt.Sprintf("pcr went back %d ms", (pcrWrap-d)/tickMS)
			}
			a.add(PCRDiscontinuityIndicatorError, &a.rep.Counters.PCRDiscontinuityIndicatorError, pid,
				"%s without discontinuity_indicator", detail)
			a.rep.Counters.PCRError++
		}
	}
	st.hasPCR, st.lastPCR = true, pcr

	if a.clockPID < 0 {
		a.clockPID = int(pid)
	}
	if int(pid) != a.clockPID {
		return
	}
	if a.clockOK {
		d := (pcr - a.clockLast + pcrWrap) % pcrWrap
		if !disc && d <= maxStep {
			a.now += d
		}
	}
	a.clockOK, a.clockLast = true, pcr
	a.timers()
}

// timers raises the errors of things that have not been seen for too long.
func (a *Analyzer) timers() {
	if a.now-a.patRef > psiLimit {
		a.add(PATError, &a.rep.Counters.PATError, 0, "no pat for %d ms", (a.now-a.patRef)/tickMS)
		a.patRef = a.now
	}
	for _, pid := range a.pmtPIDs {
		st := a.pids[pid]
		if a.now-st.pmtRef > psiLimit {
			a.add(PMTError, &a.rep.Counters.PMTError, pid, "no pmt for %d ms", (a.now-st.pmtRef)/tickMS)
			st.pmtRef = a.now
		}
	}
	for _, pid := range a.esPIDs {
		st := a.pids[pid]
		if a.now-st.seenRef > a.opts.PIDTimeout*300 {
			a.add(PIDError, &a.rep.Counters.PIDError, pid, "pid absent for %d ms", (a.now-st.seenRef)/tickMS)
			st.seenRef = a.now
		}
		if st.hasPTS && a.now-st.ptsRef > ptsLimit {
			a.add(PTSError, &a.rep.Counters.PTSError, pid, "no pts for %d ms", (a.now-st.ptsRef)/tickMS)
			st.ptsRef = a.now
		}
	}
}

// pes reads the PTS of a PES packet that starts in payload.
// Specification: ISO/IEC 13818-1, 2.4.3.6.
func (a *Analyzer) pes(st *pidState, pid uint16, b []byte) {
	if len(b) < 14 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return
	}
	switch b[3] {
	case 0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF:
		return // no optional PES header
	}
	if b[7]&0x80 == 0 {
		return // no PTS
	}
	pts := parseTimestamp(b[9:14])
	if st.hasPTS {
		gap, errGap := int64(-1), int64(-1)
		if a.clockOK {
			gap, errGap = a.now-st.lastPTSAt, a.now-st.ptsRef
		} else if d := (pts - st.lastPTS + ptsWrap) % ptsWrap; d < ptsWrap/2 {
			gap, errGap = d*300, d*300
		}
		if gap >= 0 {
			a.rep.Stats.MaxPTSInterval = max(a.rep.Stats.MaxPTSInterval, gap/300)
		}
		if errGap > ptsLimit {
			a.add(PTSError, &a.rep.Counters.PTSError, pid, "pts repeated after %d ms", errGap/tickMS)
		}
	}
	st.hasPTS, st.lastPTS, st.lastPTSAt, st.ptsRef = true, pts, a.now, a.now
}

// feedSection assembles PSI sections from a packet's payload.
// Specification: ISO/IEC 13818-1, 2.4.4.
func (a *Analyzer) feedSection(st *pidState, pid uint16, b []byte, pusi bool) {
	if !pusi {
		if st.secOn {
			st.sec = append(st.sec, b...)
			a.completeSection(st, pid)
		}
		return
	}
	ptr := int(b[0])
	b = b[1:]
	if ptr > len(b) {
		st.secOn = false
		return
	}
	if st.secOn {
		st.sec = append(st.sec, b[:ptr]...)
		a.completeSection(st, pid)
	}
	st.secOn = false
	b = b[ptr:]
	for len(b) > 0 && b[0] != 0xFF {
		if len(b) < 3 {
			st.sec, st.secOn = append(st.sec[:0], b...), true
			return
		}
		l := 3 + (int(b[1]&0x0F)<<8 | int(b[2]))
		if l > len(b) {
			st.sec, st.secOn = append(st.sec[:0], b...), true
			return
		}
		a.section(st, pid, b[:l])
		b = b[l:]
	}
}

// completeSection hands over the section being assembled once it is whole.
func (a *Analyzer) completeSection(st *pidState, pid uint16) {
	if len(st.sec) < 3 {
		return
	}
	l := 3 + (int(st.sec[1]&0x0F)<<8 | int(st.sec[2]))
	if len(st.sec) < l {
		if len(st.sec) > maxSection+packetSize {
			st.secOn = false
		}
		return
	}
	st.secOn = false
	a.section(st, pid, st.sec[:l])
}

// section handles a complete PAT or PMT section.
func (a *Analyzer) section(st *pidState, pid uint16, sec []byte) {
	tableID := sec[0]
	if pid == 0 && tableID != 0x00 {
		a.add(PATError, &a.rep.Counters.PATError, pid, "table_id 0x%02x on the PAT pid", tableID)
		return
	}
	if pid != 0 && tableID != 0x02 {
		return
	}
	if len(sec) > maxSection || len(sec) < 12 || sec[1]&0x80 == 0 {
		a.add(CRCError, &a.rep.Counters.CRCError, pid, "malformed section of %d bytes", len(sec))
		return
	}
	if mpegcrc.Checksum(sec) != 0 {
		a.add(CRCError, &a.rep.Counters.CRCError, pid, "crc_32 mismatch on table_id 0x%02x", tableID)
		return
	}
	if sec[5]&1 == 0 {
		return // not yet applicable
	}
	body := sec[8 : len(sec)-4]
	if pid == 0 {
		a.pat(body)
	} else {
		a.pmt(st, pid, body)
	}
}

// pat records a program association section. Specification: ISO/IEC
// 13818-1, 2.4.4.3.
func (a *Analyzer) pat(body []byte) {
	if a.patSeen {
		a.rep.Stats.MaxPATInterval = max(a.rep.Stats.MaxPATInterval, (a.now-a.lastPATAt)/300)
	}
	if a.now-a.patRef > psiLimit {
		a.add(PATError, &a.rep.Counters.PATError, 0, "pat repeated after %d ms", (a.now-a.patRef)/tickMS)
	}
	a.patSeen, a.lastPATAt, a.patRef = true, a.now, a.now

	var pmts []uint16
	for ; len(body) >= 4; body = body[4:] {
		if body[0] == 0 && body[1] == 0 {
			continue // network_PID
		}
		pid := uint16(body[2]&0x1F)<<8 | uint16(body[3])
		if pid == 0 || pid == nullPID || slices.Contains(pmts, pid) {
			continue
		}
		pmts = append(pmts, pid)
	}
	if slices.Equal(pmts, a.pmtPIDs) {
		return
	}
	for _, pid := range a.pmtPIDs {
		if !slices.Contains(pmts, pid) {
			st := a.pids[pid]
			st.isPMT, st.secOn = false, false
			st.esPIDs = nil
		}
	}
	for _, pid := range pmts {
		st := a.state(pid)
		if !st.isPMT {
			st.isPMT, st.pmtRef, st.secOn = true, a.now, false
		}
	}
	a.pmtPIDs = pmts
	a.updateES()
}

// pmt records a program map section. Specification: ISO/IEC 13818-1,
// 2.4.4.8.
func (a *Analyzer) pmt(st *pidState, pid uint16, body []byte) {
	if st.pmtSeen {
		a.rep.Stats.MaxPMTInterval = max(a.rep.Stats.MaxPMTInterval, (a.now-st.lastPMTAt)/300)
	}
	if a.now-st.pmtRef > psiLimit {
		a.add(PMTError, &a.rep.Counters.PMTError, pid, "pmt repeated after %d ms", (a.now-st.pmtRef)/tickMS)
	}
	st.pmtSeen, st.lastPMTAt, st.pmtRef = true, a.now, a.now

	if len(body) < 4 {
		return
	}
	pcrPID := int(body[0]&0x1F)<<8 | int(body[1])
	infoLen := int(body[2]&0x0F)<<8 | int(body[3])
	if 4+infoLen > len(body) {
		return
	}
	var es []uint16
	for b := body[4+infoLen:]; len(b) >= 5; {
		epid := uint16(b[1]&0x1F)<<8 | uint16(b[2])
		l := 5 + (int(b[3]&0x0F)<<8 | int(b[4]))
		if l > len(b) {
			break
		}
		if epid != nullPID && !slices.Contains(es, epid) {
			es = append(es, epid)
		}
		b = b[l:]
	}
	if !slices.Equal(es, st.esPIDs) {
		st.esPIDs = es
		a.updateES()
	}
	if !a.clockFromPMT && pcrPID != nullPID {
		a.clockFromPMT = true
		if pcrPID != a.clockPID {
			// the clock continues from the new PID's next PCR
			a.clockPID = pcrPID
			if ps := a.pids[pcrPID]; ps != nil && ps.hasPCR {
				a.clockLast = ps.lastPCR
			} else {
				a.clockOK = false
			}
		}
	}
}

// updateES rebuilds the list of PIDs the PMTs name.
func (a *Analyzer) updateES() {
	var all []uint16
	for _, pmt := range a.pmtPIDs {
		for _, pid := range a.pids[pmt].esPIDs {
			if !slices.Contains(all, pid) {
				all = append(all, pid)
			}
		}
	}
	for _, pid := range a.esPIDs {
		if !slices.Contains(all, pid) {
			a.pids[pid].isES = false
		}
	}
	for _, pid := range all {
		st := a.state(pid)
		if !st.isES {
			st.isES, st.seenRef = true, a.now
		}
	}
	a.esPIDs = all
}

var _ io.WriteCloser = (*Analyzer)(nil)
