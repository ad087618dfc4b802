package tr101290

// Indicator names, as ETSI TR 101 290 spells them.
const (
	TSSyncLoss                     = "TS_sync_loss"                      // 1.1
	SyncByteError                  = "Sync_byte_error"                   // 1.2
	PATError                       = "PAT_error"                         // 1.3
	ContinuityCountError           = "Continuity_count_error"            // 1.4
	PMTError                       = "PMT_error"                         // 1.5
	PIDError                       = "PID_error"                         // 1.6
	TransportError                 = "Transport_error"                   // 2.1
	CRCError                       = "CRC_error"                         // 2.2
	PCRError                       = "PCR_error"                         // 2.3
	PCRRepetitionError             = "PCR_repetition_error"              // 2.3a
	PCRDiscontinuityIndicatorError = "PCR_discontinuity_indicator_error" // 2.3b
	PTSError                       = "PTS_error"                         // 2.5
)

// Counters counts the occurrences of each indicator.
type Counters struct {
	TSSyncLoss                     int64
	SyncByteError                  int64
	PATError                       int64
	ContinuityCountError           int64
	PMTError                       int64
	PIDError                       int64
	TransportError                 int64
	CRCError                       int64
	PCRError                       int64 // PCRs that raised 2.3a or 2.3b
	PCRRepetitionError             int64
	PCRDiscontinuityIndicatorError int64
	PTSError                       int64
}

// Priority1 returns the number of first priority errors.
func (c Counters) Priority1() int64 {
	return c.TSSyncLoss + c.SyncByteError + c.PATError + c.ContinuityCountError + c.PMTError + c.PIDError
}

// Priority2 returns the number of second priority errors. PCR_error is not
// added: it counts the same events as 2.3a and 2.3b.
func (c Counters) Priority2() int64 {
	return c.TransportError + c.CRCError + c.PCRRepetitionError + c.PCRDiscontinuityIndicatorError + c.PTSError
}

// Map returns the counters keyed by indicator name.
func (c Counters) Map() map[string]int64 {
	return map[string]int64{
		TSSyncLoss:                     c.TSSyncLoss,
		SyncByteError:                  c.SyncByteError,
		PATError:                       c.PATError,
		ContinuityCountError:           c.ContinuityCountError,
		PMTError:                       c.PMTError,
		PIDError:                       c.PIDError,
		TransportError:                 c.TransportError,
		CRCError:                       c.CRCError,
		PCRError:                       c.PCRError,
		PCRRepetitionError:             c.PCRRepetitionError,
		PCRDiscontinuityIndicatorError: c.PCRDiscontinuityIndicatorError,
		PTSError:                       c.PTSError,
	}
}

// Error is one occurrence of an indicator.
type Error struct {
	// Indicator is one of the indicator names (TSSyncLoss, ...).
	Indicator string
	// Packet is the index of the packet where it was found, counted from 0.
	Packet int64
	// PID concerned, 0x1FFF when none.
	PID uint16
	// Time on the stream's PCR timeline, in 90 kHz ticks since the first PCR.
	Time int64
	// Detail says what was seen.
	Detail string
}

// Stats are the largest intervals seen, in 90 kHz ticks, measured on the
// stream's PCR timeline (PCR: as PCR value differences on each PID).
// Discontinuities are not counted.
type Stats struct {
	MaxPCRInterval int64
	MaxPATInterval int64
	MaxPMTInterval int64
	MaxPTSInterval int64
}

// Report is the result of an analysis.
type Report struct {
	// Packets is the number of transport packets read.
	Packets int64
	// SkippedBytes were not part of a packet: searched over to find sync, or
	// a truncated last packet.
	SkippedBytes int64
	Counters     Counters
	// Errors lists the first occurrences (Options.MaxErrors, default 100).
	Errors []Error
	Stats  Stats
}

// OK reports whether no priority 1 or 2 error was found.
func (r Report) OK() bool {
	return r.Counters.Priority1() == 0 && r.Counters.Priority2() == 0
}
