package library

import (
	"fmt"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Codec names used in VideoInfo.Codec and AudioInfo.Codec.
const (
	codecH264 = "h264"
	codecH265 = "h265"
	codecAAC  = "aac"
	codecOpus = "opus"
	codecAC3  = "ac3"
)

// videoParams is what a sequence parameter set tells about a video track.
type videoParams struct {
	info VideoInfo
	// reorder is the maximum number of reordered pictures, -1 when the SPS does not say.
	reorder int
}

// h264Params parses an H.264 SPS NAL unit (with its header byte).
// Specification: ITU-T Rec. H.264, 7.3.2.1.1 and Annex A (profiles, levels), E.2.1 (VUI).
func h264Params(nalu []byte) (videoParams, error) {
	var sps h264.SPS
	if err := sps.Unmarshal(nalu); err != nil {
		return videoParams{}, fmt.Errorf("invalid H.264 SPS: %w", err)
	}
	p := videoParams{reorder: -1}
	p.info.Codec = codecH264
	p.info.Profile = h264ProfileName(sps)
	if sps.LevelIdc == 11 && sps.ConstraintSet3Flag && (sps.ProfileIdc == 66 || sps.ProfileIdc == 77) {
		p.info.Level = "1b"
	} else {
		p.info.Level = fmt.Sprintf("%d.%d", sps.LevelIdc/10, sps.LevelIdc%10)
	}
	p.info.Width = sps.Width()
	p.info.Height = sps.Height()
	if sps.VUI != nil && sps.VUI.TimingInfo != nil && sps.VUI.TimingInfo.NumUnitsInTick != 0 &&
		sps.VUI.TimingInfo.TimeScale != 0 {
		// One frame is two ticks (E.2.1: time_scale / num_units_in_tick is the field rate).
		p.info.FrameRate = Rational{
			Num: int(sps.VUI.TimingInfo.TimeScale),
			Den: 2 * int(sps.VUI.TimingInfo.NumUnitsInTick),
		}.reduced()
	}
	switch {
	case sps.VUI != nil && sps.VUI.BitstreamRestriction != nil:
		p.reorder = int(min(sps.VUI.BitstreamRestriction.MaxNumReorderFrames, 16))
	case sps.ProfileIdc == 66 || sps.ProfileIdc == 44:
		// Baseline and CAVLC 4:4:4 Intra have no B slices.
		p.reorder = 0
	}
	if p.info.Width <= 0 || p.info.Height <= 0 || p.info.Width > 16384 || p.info.Height > 16384 {
		return videoParams{}, fmt.Errorf("invalid H.264 SPS: picture size %dx%d", p.info.Width, p.info.Height)
	}
	return p, nil
}

func h264ProfileName(sps h264.SPS) string {
	switch sps.ProfileIdc {
	case 66:
		if sps.ConstraintSet1Flag {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	case 44:
		return "CAVLC 4:4:4 Intra"
	default:
		return fmt.Sprintf("profile %d", sps.ProfileIdc)
	}
}

// h265Params parses an H.265 SPS NAL unit (with its two header bytes).
// Specification: ITU-T Rec. H.265, 7.3.2.2 and Annex A (profiles, levels), E.2.1 (VUI).
func h265Params(nalu []byte) (videoParams, error) {
	var sps h265.SPS
	if err := sps.Unmarshal(nalu); err != nil {
		return videoParams{}, fmt.Errorf("invalid H.265 SPS: %w", err)
	}
	p := videoParams{reorder: -1}
	p.info.Codec = codecH265
	ptl := sps.ProfileTierLevel
	switch ptl.GeneralProfileIdc {
	case 1:
		p.info.Profile = "Main"
	case 2:
		p.info.Profile = "Main 10"
	case 3:
		p.info.Profile = "Main Still Picture"
	case 4:
		p.info.Profile = "Format Range Extensions"
	default:
		p.info.Profile = fmt.Sprintf("profile %d", ptl.GeneralProfileIdc)
	}
	// general_level_idc is 30 times the level number.
	p.info.Level = fmt.Sprintf("%d.%d", ptl.GeneralLevelIdc/30, ptl.GeneralLevelIdc%30/3)
	p.info.Width = sps.Width()
	p.info.Height = sps.Height()
	if sps.VUI != nil && sps.VUI.TimingInfo != nil && sps.VUI.TimingInfo.NumUnitsInTick != 0 &&
		sps.VUI.TimingInfo.TimeScale != 0 {
		p.info.FrameRate = Rational{
			Num: int(sps.VUI.TimingInfo.TimeScale),
			Den: int(sps.VUI.TimingInfo.NumUnitsInTick),
		}.reduced()
	}
	if n := len(sps.MaxNumReorderPics); n > 0 {
		p.reorder = int(min(sps.MaxNumReorderPics[n-1], 16))
	}
	if p.info.Width <= 0 || p.info.Height <= 0 || p.info.Width > 16384 || p.info.Height > 16384 {
		return videoParams{}, fmt.Errorf("invalid H.265 SPS: picture size %dx%d", p.info.Width, p.info.Height)
	}
	return p, nil
}

// aacChannels returns the channel count of an AudioSpecificConfig (ISO/IEC 14496-3, 1.6.3.5).
func aacChannels(c *mpeg4audio.AudioSpecificConfig) int {
	switch {
	case c.ChannelConfig >= 1 && c.ChannelConfig <= 6:
		return int(c.ChannelConfig)
	case c.ChannelConfig == 7:
		return 8
	default:
		return c.ChannelCount //nolint:staticcheck // filled from ADTS when there is no configuration
	}
}

// commonFrameRates are the rates a measured frame duration is snapped to.
var commonFrameRates = []Rational{
	{24000, 1001},
	{24, 1},
	{25, 1},
	{30000, 1001},
	{30, 1},
	{48, 1},
	{50, 1},
	{60000, 1001},
	{60, 1},
	{100, 1},
	{120000, 1001},
	{120, 1},
}

// frameRateFromDuration turns an average frame duration in 90 kHz ticks into a frame rate,
// snapping to a common rate within 0.2%.
func frameRateFromDuration(ticks float64) Rational {
	if ticks <= 0 || math.IsNaN(ticks) || math.IsInf(ticks, 0) {
		return Rational{}
	}
	fps := 90000 / ticks
	for _, r := range commonFrameRates {
		if math.Abs(fps-r.Float()) <= r.Float()*0.002 {
			return r
		}
	}
	if fps > 1000 || fps < 0.01 {
		return Rational{}
	}
	return Rational{Num: int(math.Round(fps * 1000)), Den: 1000}.reduced()
}

// frameDurationFromPTS returns the typical distance between consecutive presentation times
// (sorted ascending, at 90 kHz), 0 when there are fewer than two.
func frameDurationFromPTS(sorted []int64) float64 {
	if len(sorted) < 2 {
		return 0
	}
	// The average over the whole range absorbs 1501/1502-tick alternation (59.94 Hz) and
	// does not need a histogram; gaps are rare in files meant for playout.
	return float64(sorted[len(sorted)-1]-sorted[0]) / float64(len(sorted)-1)
}
