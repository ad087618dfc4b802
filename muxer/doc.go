// Package muxer writes MPEG transport stream segments from access units.
//
// A channel's segments are generated on request, in any order, and must be
// byte-identical on every request while their concatenation stays one valid,
// continuous transport stream. The SegmentWriter achieves this without knowing
// earlier segments: every segment starts with continuity_counter 0 on every PID
// and, when it is closed, brings each PID's packet count to a multiple of 16,
// so the last packet of a PID always carries continuity_counter 15.
//
// PES PIDs are padded by spreading the tail of their last PES over more
// packets with adaptation-field stuffing; PAT and PMT are padded by repeating
// them. To do that the writer holds back the last packet's worth of payload of
// each PES (never less than 16 bytes) until it knows whether that PES is the
// last one of its PID: everything else is written at once, so the packets that
// carry a PCR are written in DTS order and the writer never retains the
// caller's buffers.
//
// Callers that know the continuity counters a segment must start with can set
// Config.StartCC instead; the writer then pads nothing and reports the
// counters of the next segment with SegmentWriter.NextCC.
//
// The writer never reads the clock: PCR is derived from DTS (DTS - MuxDelay),
// PSI and PCR repetition are scheduled on that timeline.
//
// Specification: ISO/IEC 13818-1 (transport stream, PES, PSI);
// ETSI TR 101 290 priority 1 and 2 (repetition rates);
// ISO/IEC 14496-3, 1.A.2 (ADTS); ETSI TS 102 366 / ATSC A/52 (AC-3);
// ETSI TS Opus 0.1.3-draft (Opus in MPEG-TS).
package muxer
