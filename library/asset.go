package library

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kind is what an asset is for in a schedule.
type Kind string

// Asset kinds. The kind comes from the top-level folder under a library root
// (see KindForFolder) or from a NAME.meta.yaml sidecar.
const (
	KindProgram Kind = "program"
	KindEpisode Kind = "episode"
	KindMovie   Kind = "movie"
	KindAd      Kind = "ad"
	KindBumper  Kind = "bumper"
	KindPromo   Kind = "promo"
	KindFiller  Kind = "filler"
	KindSlate   Kind = "slate"
)

// Kinds lists every valid Kind.
var Kinds = []Kind{KindProgram, KindEpisode, KindMovie, KindAd, KindBumper, KindPromo, KindFiller, KindSlate}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Status says whether an asset can be played.
type Status string

// Asset statuses.
const (
	// StatusOK is a probed file with a supported video (and audio) codec and a keyframe index.
	StatusOK Status = "ok"
	// StatusUnplayable is a file that exists but cannot be played as it is; Reason says why.
	StatusUnplayable Status = "unplayable"
	// StatusMissing is a file that was in the library and is no longer found under its root.
	StatusMissing Status = "missing"
)

// Container names.
const (
	ContainerTS  = "ts"
	ContainerMP4 = "mp4"
)

// Rational is an exact ratio such as a frame rate (30000/1001).
// It encodes to JSON as the string "NUM/DEN".
type Rational struct {
	Num int
	Den int
}

// Float returns the value as a float64, 0 when Den is 0.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// String returns "NUM/DEN".
func (r Rational) String() string {
	return strconv.Itoa(r.Num) + "/" + strconv.Itoa(r.Den)
}

// MarshalJSON implements json.Marshaler.
func (r Rational) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Rational) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("rational %q: want NUM/DEN", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return fmt.Errorf("rational %q: %w", s, err)
	}
	d, err := strconv.Atoi(den)
	if err != nil {
		return fmt.Errorf("rational %q: %w", s, err)
	}
	r.Num, r.Den = n, d
	return nil
}

// reduced returns r with num and den divided by their greatest common divisor.
func (r Rational) reduced() Rational {
	a, b := r.Num, r.Den
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	if a <= 1 {
		return r
	}
	return Rational{r.Num / a, r.Den / a}
}

// VideoInfo describes an asset's video track.
type VideoInfo struct {
	// Codec is "h264" or "h265" for playable assets; for an unplayable one it names what was found.
	Codec string `json:"codec"`
	// Profile is the codec profile name, e.g. "High", "Main 10".
	Profile string `json:"profile,omitempty"`
	// Level is the codec level, e.g. "4.0".
	Level     string   `json:"level,omitempty"`
	Width     int      `json:"width"`
	Height    int      `json:"height"`
	FrameRate Rational `json:"frame_rate"`
	// BFrames is true when pictures are reordered (PTS differs from DTS, or the SPS allows reordering).
	BFrames bool `json:"b_frames"`
}

// AudioInfo describes an asset's first supported audio track.
type AudioInfo struct {
	// Codec is "aac", "opus" or "ac3" for playable assets.
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// Asset is one media file of the library.
type Asset struct {
	// ID is stable across rescans and moves (a moved file with the same SHA-256 keeps it).
	ID int64 `json:"id"`
	// Path is the absolute, cleaned path of the file.
	Path    string   `json:"path"`
	Kind    Kind     `json:"kind"`
	Show    string   `json:"show,omitempty"`
	Season  int      `json:"season,omitempty"`
	Episode int      `json:"episode,omitempty"`
	Title   string   `json:"title"`
	Tags    []string `json:"tags"`
	// Rating and Description come from the NAME.meta.yaml sidecar.
	Rating      string `json:"rating,omitempty"`
	Description string `json:"description,omitempty"`
	// Duration is the presentation duration of the video track.
	Duration  time.Duration `json:"-"`
	Container string        `json:"container"`
	Size      int64         `json:"size"`
	// SHA256 is the hex digest of the whole file; empty for files that were never read.
	SHA256 string     `json:"sha256"`
	Video  *VideoInfo `json:"video,omitempty"`
	Audio  *AudioInfo `json:"audio,omitempty"`
	// Cues are break points from the NAME.cue.yaml sidecar and MP4 chapters, from the start of
	// the asset, ascending.
	Cues []time.Duration `json:"-"`
	// KeyframeCount is the number of entries in the keyframe index (see Store.Keyframes).
	KeyframeCount int    `json:"keyframe_count"`
	Status        Status `json:"status"`
	// Reason says why an asset is unplayable or missing.
	Reason string `json:"reason,omitempty"`
	// Warnings are non-fatal problems, such as an invalid sidecar.
	Warnings []string  `json:"warnings,omitempty"`
	MTime    time.Time `json:"mtime"`
}

// assetFields has Asset's plain fields, so that MarshalJSON does not recurse.
type assetFields Asset

type assetJSON struct {
	assetFields
	DurationSeconds float64   `json:"duration_seconds"`
	CuesSeconds     []float64 `json:"cues_seconds"`
}

// MarshalJSON implements json.Marshaler: durations become seconds (duration_seconds,
// cues_seconds), and empty lists are [] rather than null.
func (a Asset) MarshalJSON() ([]byte, error) {
	j := assetJSON{assetFields: assetFields(a), DurationSeconds: a.Duration.Seconds()}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	j.CuesSeconds = make([]float64, len(a.Cues))
	for i, c := range a.Cues {
		j.CuesSeconds[i] = c.Seconds()
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler, the inverse of MarshalJSON.
func (a *Asset) UnmarshalJSON(b []byte) error {
	var j assetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Asset(j.assetFields)
	a.Duration = secondsToDuration(j.DurationSeconds)
	a.Cues = nil
	for _, s := range j.CuesSeconds {
		a.Cues = append(a.Cues, secondsToDuration(s))
	}
	return nil
}

func secondsToDuration(s float64) time.Duration {
	return time.Duration(s*float64(time.Second) + 0.5)
}

// ticksToDuration converts 90 kHz ticks to a time.Duration.
func ticksToDuration(t int64) time.Duration {
	return time.Duration(t/90000)*time.Second + time.Duration(t%90000)*time.Second/90000
}

// durationToTicks converts a time.Duration to 90 kHz ticks, rounding down.
func durationToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*90000 + int64(d%time.Second)*90000/int64(time.Second)
}

// FindByRelPath returns the asset of assets whose path is rel relative to a
// library root (its path ends with /rel), or nil.
func FindByRelPath(assets []Asset, rel string) *Asset {
	suffix := string(filepath.Separator) + filepath.Clean(rel)
	for i := range assets {
		if strings.HasSuffix(assets[i].Path, suffix) {
			return &assets[i]
		}
	}
	return nil
}
