package h264gen

// NAL unit types this package writes.
// Specification: ITU-T H.264, 7.4.1, Table 7-1.
const (
	nalTypeNonIDR = 1 // coded slice of a non-IDR picture
	nalTypeIDR    = 5 // coded slice of an IDR picture
	nalTypeSPS    = 7
	nalTypePPS    = 8
)

// nal_ref_idc values: every picture is a reference picture (the P pictures
// predict from the previous one), parameter sets and IDR slices get the
// highest value, as is customary.
const (
	refIdcHighest = 3
	refIdcP       = 2
)

// AddEmulationPrevention returns rbsp with an emulation_prevention_three_byte
// (0x03) inserted wherever two zero bytes are followed by a byte of 0x00 to
// 0x03, so that no start code prefix appears inside a NAL unit. When the
// data ends with two zero bytes (cabac_zero_words), a 0x03 is appended as
// well, so that the end of the NAL unit is not taken for trailing zeros.
// Specification: ITU-T H.264, 7.3.1 and 7.4.1.
func AddEmulationPrevention(rbsp []byte) []byte {
	return appendEscaped(make([]byte, 0, len(rbsp)+len(rbsp)/64+1), rbsp)
}

// appendEscaped appends rbsp to out with emulation prevention, as
// AddEmulationPrevention describes.
func appendEscaped(out, rbsp []byte) []byte {
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	if zeros >= 2 {
		out = append(out, 3)
	}
	return out
}

// nalUnit returns a NAL unit without start code: the one-byte header
// (forbidden_zero_bit 0, nal_ref_idc, nal_unit_type) and the escaped rbsp.
// Specification: ITU-T H.264, 7.3.1.
func nalUnit(refIdc, typ byte, rbsp []byte) []byte {
	out := make([]byte, 1, 1+len(rbsp)+len(rbsp)/64+1)
	out[0] = refIdc<<5 | typ
	return appendEscaped(out, rbsp)
}
