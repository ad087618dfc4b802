package h264gen

// level is one row of the level limits that matter for these streams.
// Specification: ITU-T H.264, A.3.1 and Table A-1.
type level struct {
	idc   byte   // level_idc: ten times the level number
	mbps  uint64 // MaxMBPS, macroblocks per second
	fs    int    // MaxFS, macroblocks per frame
	dpbMb int    // MaxDpbMbs
}

// levels lists Table A-1 in increasing order, without level 1b (which
// Baseline signals with constraint_set3_flag; level 1.1 is used instead).
var levels = []level{
	{10, 1485, 99, 396},
	{11, 3000, 396, 900},
	{12, 6000, 396, 2376},
	{13, 11880, 396, 2376},
	{20, 11880, 396, 2376},
	{21, 19800, 792, 4752},
	{22, 20250, 1620, 8100},
	{30, 40500, 1620, 8100},
	{31, 108000, 3600, 18000},
	{32, 216000, 5120, 20480},
	{40, 245760, 8192, 32768},
	{41, 245760, 8192, 32768},
	{42, 522240, 8704, 34816},
	{50, 589824, 22080, 110400},
	{51, 983040, 36864, 184320},
	{52, 2073600, 36864, 184320},
	{60, 4177920, 139264, 696320},
	{61, 8355840, 139264, 696320},
	{62, 16711680, 139264, 696320},
}

// chooseLevel returns the lowest level_idc whose frame size, frame width and
// height and macroblock rate admit a picture of mbW x mbH macroblocks at
// num/den frames per second with one reference frame. Beyond the table it
// returns the highest level.
// Specification: ITU-T H.264, A.3.1 items a), f) and g), Table A-1.
func chooseLevel(mbW, mbH, num, den int) byte {
	fs := mbW * mbH
	for _, l := range levels {
		maxSide := 8 * l.fs // PicWidthInMbs and FrameHeightInMbs <= Sqrt(MaxFS*8)
		if fs > l.fs || mbW*mbW > maxSide || mbH*mbH > maxSide || fs > l.dpbMb {
			continue
		}
		// fs*num/den <= MaxMBPS, in integers.
		if uint64(fs)*uint64(num) > l.mbps*uint64(den) {
			continue
		}
		return l.idc
	}
	return levels[len(levels)-1].idc
}
