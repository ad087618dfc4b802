package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"onair/engine"
)

// Override is an emergency or break-in override of a channel,
// channels.d/<channel>.override.yaml: Asset plays (looped when it is
// shorter) from when the override is applied for Duration or until Until,
// whichever comes first, then the channel's schedule resumes.
type Override struct {
	// Channel is the channel id. Defaults to the file name without .override.yaml.
	Channel string `yaml:"channel,omitempty"`
	// Asset is a file relative to a library root.
	Asset string `yaml:"asset"`
	// Title is the guide title. Defaults to the asset's.
	Title string `yaml:"title,omitempty"`
	// Duration is how long the override lasts. Defaults to the asset's length
	// when Until is not set either.
	Duration Duration `yaml:"duration,omitempty"`
	// Until is when the override ends, RFC 3339 (2026-05-01T20:00:00Z).
	Until string `yaml:"until,omitempty"`

	// File is the path the override was read from.
	File string `yaml:"-"`
	// UntilTime is Until parsed (zero when not set).
	UntilTime time.Time `yaml:"-"`
}

// maxOverride bounds an override's length.
const maxOverride = 7 * 24 * time.Hour

// ParseOverride reads an override file's bytes; file names it in errors.
// Errors are Errors (FILE:LINE:COL: message).
func ParseOverride(file string, data []byte) (*Override, error) {
	if len(data) > maxFileSize {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}
	}
	o := &Override{File: file}
	if err := yaml.UnmarshalWithOptions(data, o, yaml.Strict()); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	loc := newLocator(file, data)
	var errs Errors
	at := func(path, format string, args ...any) { errs = append(errs, loc.errorAt(path, format, args...)) }
	if o.Channel == "" {
		o.Channel = strings.TrimSuffix(filepath.Base(file), ".override.yaml")
	}
	if o.Asset == "" {
		at("$", "asset: required")
	} else if filepath.IsAbs(o.Asset) || strings.HasPrefix(filepath.Clean(o.Asset), "..") {
		at("$.asset", "asset: must be a path relative to a library root")
	}
	if err := o.Duration.Err(); err != nil {
		at("$.duration", "duration: %v", err)
	} else if d := o.Duration.D(); d < 0 || d > maxOverride {
		at("$.duration", "duration: must be at most %s", maxOverride)
	} else if o.Duration.D() == 0 && hasKey(loc, "$.duration") {
		at("$.duration", "duration: must be more than 0")
	}
	if o.Until != "" {
		t, err := time.Parse(time.RFC3339, o.Until)
		if err != nil {
			at("$.until", "until: want an RFC 3339 time such as 2026-05-01T20:00:00Z")
		} else {
			o.UntilTime = t
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return o, nil
}

// hasKey reports whether the file sets the key at path.
func hasKey(l *locator, path string) bool {
	if l.f == nil {
		return false
	}
	yp, err := yaml.PathString(path)
	if err != nil {
		return false
	}
	n, err := yp.FilterFile(l.f)
	return err == nil && n != nil
}

// LoadOverride reads channels.d/<id>.override.yaml; (nil, nil) when there is none.
func LoadOverride(dir, id string) (*Override, error) {
	name := filepath.Join(dir, id+".override.yaml")
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	return ParseOverride(name, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
}

// End is when an override applied at start ends.
func (o *Override) End(start time.Time, assetLen time.Duration) time.Time {
	d := o.Duration.D()
	if d == 0 && o.UntilTime.IsZero() {
		d = assetLen
	}
	end := start.Add(d)
	if !o.UntilTime.IsZero() && (d == 0 || o.UntilTime.Before(end)) {
		end = o.UntilTime
	}
	return end
}

// ErrOverrideAsset is returned when an override's asset is not a playable
// file of the library.
var ErrOverrideAsset = errors.New("override asset is not a playable file of the library")

// Override returns the entries of override o applied at the cursor: its asset
// looped (the last pass cut at the keyframe the engine snaps to) until the
// override ends, then the slate for what a cut leaves, all of kind override
// in one EPG group. Nothing is returned when the override is already over.
// The planner's state is untouched: after the override, planning continues
// from the cursor's state.
func (p *Planner) Override(ctx context.Context, o *Override, at engine.Cursor) ([]engine.Entry, error) {
	a := p.byPath(o.Asset)
	if a == nil {
		return nil, fmt.Errorf("%s: %q: %w", o.File, o.Asset, ErrOverrideAsset)
	}
	end := o.End(at.Wall, a.Duration)
	total := engine.DurationToTicks(end.Sub(at.Wall))
	title := o.Title
	if title == "" {
		title = assetTitle(a)
	}
	group := fmt.Sprintf("%s-override-%d", p.ch.ID, at.Wall.Unix())
	dur := engine.DurationToTicks(a.Duration)
	if dur <= 0 {
		return nil, fmt.Errorf("%s: %q: %w", o.File, o.Asset, ErrOverrideAsset)
	}
	var out []engine.Entry
	var done int64
	for total-done >= dur && len(out) < maxFillEntries {
		out = append(out, engine.Entry{AssetID: a.ID, Kind: engine.KindOverride, Title: title, EPGGroup: group})
		done += dur
	}
	if left := total - done; left > 0 && len(out) < maxFillEntries {
		// The last pass ends at a keyframe at or before the end.
		cut := p.snapOut(ctx, a, left)
		for t, k := left, 0; cut > left && k < 16; k++ {
			t -= cut - left + 1
			cut = p.snapOut(ctx, a, t)
		}
		if cut > 0 && cut <= left {
			out = append(out, engine.Entry{AssetID: a.ID, Out: cut, Kind: engine.KindOverride, Title: title, EPGGroup: group})
			done += cut
		}
		for left := total - done; left > 0 && len(out) < maxFillEntries; left = total - done {
			d := min(left, maxSlate)
			out = append(out, engine.SlateEntry(engine.KindOverride, title, d))
			done += d
		}
	}
	return out, nil
}
