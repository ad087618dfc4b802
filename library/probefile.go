package library

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// ProbeFile probes one file outside any library (for onair remux): its media
// description and keyframe index, without hashing it or deriving a kind or
// names. A file that cannot be played comes back with StatusUnplayable and the
// reason; the error is for a file that cannot be opened or read.
func ProbeFile(path string) (a Asset, idx KeyframeIndex, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return a, idx, err
	}
	f, err := openMedia(abs)
	if err != nil {
		return a, idx, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return a, idx, err
	}
	if !fi.Mode().IsRegular() {
		return a, idx, fmt.Errorf("%s: not a regular file", path)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: probe failed: panic: %v", path, r)
		}
	}()
	var res probeResult
	switch strings.ToLower(filepath.Ext(abs)) {
	case ".ts", ".m2ts", ".mts":
		res, _, err = probeTS(f, io.Discard)
	case ".mp4", ".m4v", ".mov":
		res, err = probeMP4(f, fi.Size())
	default:
		return a, idx, fmt.Errorf("%s: unsupported container (want .ts, .m2ts, .mp4, .m4v or .mov)", path)
	}
	if err != nil {
		return a, idx, fmt.Errorf("%s: %w", path, err)
	}
	a = Asset{
		Path: abs, Container: res.container, Size: fi.Size(), MTime: fi.ModTime(),
		Duration: ticksToDuration(res.duration), Video: res.video, Audio: res.audio,
		KeyframeCount: res.index.Len(), Status: StatusOK, Title: strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs)),
	}
	if res.problem != "" {
		a.Status, a.Reason = StatusUnplayable, res.problem
	}
	return a, res.index, nil
}
