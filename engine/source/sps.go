package source

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

var errNoSPS = errors.New("no sequence parameter set")

// spsParams sets info.Width and info.Height from info.SPS and returns the frame rate the SPS
// timing information gives (0 when it has none).
func spsParams(info *Info, kind nalKind) (fps float64, err error) {
	if len(info.SPS) == 0 {
		return 0, errNoSPS
	}
	defer func() {
		if r := recover(); r != nil {
			fps, err = 0, fmt.Errorf("invalid %s SPS: parser panic: %v", info.VideoCodec, r)
		}
	}()
	if kind.h265 {
		var sps h265.SPS
		if err := sps.Unmarshal(info.SPS); err != nil {
			return 0, fmt.Errorf("invalid H.265 SPS: %w", err)
		}
		info.Width, info.Height = sps.Width(), sps.Height()
		return sps.FPS(), nil
	}
	var sps h264.SPS
	if err := sps.Unmarshal(info.SPS); err != nil {
		return 0, fmt.Errorf("invalid H.264 SPS: %w", err)
	}
	info.Width, info.Height = sps.Width(), sps.Height()
	return sps.FPS(), nil
}
