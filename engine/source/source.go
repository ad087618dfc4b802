// Package source reads the access units of a time range of a library asset, for the splicer.
//
// A playout log item says "asset X from source PTS a to b". The splicer asks a Reader for the
// frames of one segment of that range, rebases them onto the channel clock and hands them to
// the muxer. Segments are made on request and independently of each other, so a Reader never
// scans a file from its start: it seeks with the asset's keyframe index (library.KeyframeIndex)
// and reads only the bytes of the range, and the same range always yields the same frames.
//
// MPEG-TS files go through a light demuxer of this package (188-byte and 192-byte M2TS packets);
// MP4 files through sample tables built once from the moov box (parsed with mp4ff) and ReadAt of
// exactly the needed samples. A Cache keeps the parsed headers of recently used files.
//
// # Which frames a range holds
//
// Range(from, to) starts at the keyframe K at or before from (the first keyframe when from is
// before it) and returns the video frames in decode order from K up to, not including, the
// first frame whose PTS is at or after to. For closed GOPs and a keyframe-aligned to this is
// exactly the frames whose PTS is in [K.PTS, to): consecutive ranges [k_i, k_i+1) of the
// keyframe index partition the file's frames, each range beginning with a keyframe. With
// B-frames and a to that is not keyframe-aligned, the cut is still a decode-order prefix (so
// it decodes), which leaves out the B-frames before to that are decoded after a later P-frame.
//
// Open GOPs (H.265 CRA keyframes with RASL pictures, MP4 sync samples that are not IDR): the
// leading pictures of a keyframe, decoded after it but presented before it, belong to the
// keyframe's range, because the split is made in decode order. So a range can hold frames whose
// PTS is before from (right after its first frame), and the range before it holds no frame at
// or after its end; consecutive ranges still hold every frame exactly once. RASL pictures
// reference the previous GOP: they decode only when the range follows the previous range of the
// same asset. A splicer that starts an item (or resumes after a discontinuity) at an open-GOP
// keyframe should drop the frames of the range whose PTS is below the keyframe's.
//
// Audio: the frames whose PTS is in [K.PTS - 2 frames, to + 2 frames) (with a keyframe-aligned
// from, K.PTS is from); the splicer trims them to its splice points.
//
// Timestamps are those of the keyframe index: MPEG-TS ones unwrapped across the 33-bit wrap
// (relative to the index, so they can exceed 2^33), MP4 ones converted exactly to 90 kHz after
// the first entry of the edit list.
//
// # Errors
//
// Open and Range return errors that name the file and wrap ErrCorrupt, ErrTruncated,
// ErrIndexMismatch or ErrUnsupported (or the os error of a missing file), so the caller can
// play a slate for the segment. Damage in the middle of a MPEG-TS file fails the ranges that
// read it, not the others; an MP4 file whose sample tables point past its end (truncated)
// fails to open. Nothing read from a file is trusted: sizes and offsets are checked, decoders that
// might panic are recovered, and every loop ends at the end of the data.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"onair/library"
)

// Frame is one access unit.
type Frame struct {
	Video bool
	// PTS and DTS are at 90 kHz, in the time base of the asset's KeyframeIndex. DTS equals PTS
	// for audio and for video without a DTS in the file.
	PTS, DTS int64
	// Key marks a video random access point (H.264 IDR, H.265 IRAP picture).
	Key bool
	// Data is, for video, the NAL units without start codes or length prefixes, access unit
	// delimiters removed, with the parameter sets (VPS for H.265, SPS, PPS) in front of every
	// keyframe even when the file carries them only out of band (avcC/hvcC). For audio it is
	// exactly one raw codec frame: AAC without ADTS header, an Opus packet without the MPEG-TS
	// control header, or an AC-3 sync frame.
	//
	// Data aliases buffers shared by the frames of one Range call; treat it as read-only.
	Data [][]byte
	// AnnexB is set for a video frame whose Data is one element: the access unit as the
	// file's byte stream has it (start codes, an access unit delimiter when the file has one).
	// Only frames between keyframes of MPEG-TS files read with Buffers.AnnexB are given so.
	AnnexB bool
}

// Info describes the tracks of an asset as the Reader found them in the file.
type Info struct {
	// VideoCodec is "h264" or "h265".
	VideoCodec string
	// SPS, PPS and VPS (H.265 only) are the first ones seen in the stream, or those of avcC/hvcC.
	SPS, PPS, VPS []byte
	Width, Height int
	// FrameDuration is the most common distance of consecutive presentation times at the start
	// of the file, in 90 kHz ticks; from the SPS timing information when the file does not tell.
	FrameDuration int64
	// AudioCodec is "aac", "opus", "ac3", or "" when there is no supported audio track.
	AudioCodec string
	// AudioConfig is the AAC AudioSpecificConfig, from esds or rebuilt from the first ADTS
	// header; nil for other codecs.
	AudioConfig          []byte
	SampleRate, Channels int
	// AudioFrameSamples is the number of samples of one audio frame at SampleRate: 1024 for
	// AAC-LC, 1536 for AC-3, the duration of the first packet for Opus.
	AudioFrameSamples int
}

// audioFrameTicks returns the duration of one audio frame at 90 kHz, 0 without audio.
func (i *Info) audioFrameTicks() int64 {
	if i.AudioCodec == "" || i.SampleRate <= 0 || i.AudioFrameSamples <= 0 {
		return 0
	}
	return scaleTo90k(int64(i.AudioFrameSamples), uint32(i.SampleRate))
}

// Reader reads time ranges of one media file. It is safe for concurrent use; each Range call
// reads with its own buffers.
type Reader interface {
	Info() Info
	// Range returns, in decode order, the video frames whose PTS is in [from, to) — starting at
	// the keyframe at or before from (so the first returned video frame is a keyframe; callers
	// pass keyframe-aligned from), and the audio frames whose PTS is in
	// [from - 2 audio frames, to + 2 audio frames). See the package documentation for the exact
	// rules, B-frames and open GOPs.
	Range(ctx context.Context, from, to int64) (video, audio []Frame, err error)
	// RangeWith is Range reading into b's memory (nil: fresh memory). The frames alias b
	// until the next call that uses it.
	RangeWith(ctx context.Context, from, to int64, b *Buffers) (video, audio []Frame, err error)
	Close() error
}

// Buffers is memory that consecutive Range calls reuse, so that a caller making segment
// after segment allocates nothing in the steady state. The frames of a call alias it until
// the next call with the same Buffers. It is not safe for concurrent use.
type Buffers struct {
	// AnnexB asks MPEG-TS readers to hand the video frames between keyframes over as the
	// file has them (Frame.AnnexB), which spares splitting them into NAL units.
	AnnexB bool

	vdata, adata []byte
	video, audio []Frame
	nals, one    [][]byte
	refs         []sampleRef
	vsamples     [][]byte
	asamples     [][]byte
}

// bytesOf returns a zero-length slice with capacity at least n, from *keep when it is large
// enough (b may be nil).
func bytesOf(keep *[]byte, n int) []byte {
	if keep != nil && cap(*keep) >= n {
		return (*keep)[:0]
	}
	return make([]byte, 0, n)
}

// Errors wrapped by Open and Range; the message also names the file and the byte offset.
var (
	// ErrCorrupt is invalid data in the file: lost packet sync, a broken PES or ADTS header,
	// a continuity error, a NAL unit length beyond its sample.
	ErrCorrupt = errors.New("corrupt")
	// ErrTruncated is a file that ends before the data its headers or keyframe index point to.
	ErrTruncated = errors.New("truncated")
	// ErrIndexMismatch is a keyframe index that does not describe the file (stale or foreign).
	ErrIndexMismatch = errors.New("keyframe index does not match the file")
	// ErrUnsupported is a container or codec this package does not read.
	ErrUnsupported = errors.New("unsupported")
)

// Container names, as in library.Asset.Container.
const (
	containerTS  = library.ContainerTS
	containerMP4 = library.ContainerMP4
)

// header is the parsed, immutable head of a file that a Cache keeps: *tsHeader or *mp4Header.
type header interface {
	info() Info
	newReader(f file, kf library.KeyframeIndex) Reader
}

// file is what Readers read from: an *os.File, or a wrapper in tests.
type file interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
	Name() string
	Size() int64
}

// osFile is an open file with the size it had when it was opened.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// fileKey identifies one version of a file: a file replaced or rewritten in place gets a new
// size or modification time.
type fileKey struct {
	path      string
	container string
	size      int64
	mtime     time.Time
}

// openFile opens path and returns it with its identity, taken from the open descriptor so
// that a rename between the two cannot mix two files.
func openFile(path, container string) (osFile, fileKey, error) {
	if container != containerTS && container != containerMP4 {
		return osFile{}, fileKey{}, fmt.Errorf("%s: %w container %q", path, ErrUnsupported, container)
	}
	f, err := os.Open(path)
	if err != nil {
		return osFile{}, fileKey{}, fmt.Errorf("source: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return osFile{}, fileKey{}, fmt.Errorf("source: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return osFile{}, fileKey{}, fmt.Errorf("source: %s: not a regular file", path)
	}
	return osFile{File: f, size: fi.Size()}, fileKey{path: path, container: container, size: fi.Size(), mtime: fi.ModTime()}, nil
}

// parseHeader reads the head of f (MPEG-TS PSI and first parameter sets, or the MP4 moov box).
func parseHeader(f file, container string) (header, error) {
	if container == containerMP4 {
		return parseMP4Header(f)
	}
	return parseTSHeader(f)
}

// Open opens the media file at path, a container "ts" or "mp4", with its keyframe index, and
// parses its headers. Prefer Cache.Open, which parses each file version once.
func Open(path, container string, kf library.KeyframeIndex) (Reader, error) {
	f, _, err := openFile(path, container)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(f, container)
	if err != nil {
		f.Close()
		return nil, err
	}
	return h.newReader(f, kf), nil
}
