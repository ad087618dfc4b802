package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Duration is a duration in a channel file: a Go duration ("1m30s", "4s") or
// a clock offset ("01:30", "00:01:30.5"). A value that does not parse is kept
// as an error that validation reports with its position.
type Duration struct {
	d   time.Duration
	err error
}

// Dur returns a Duration of d.
func Dur(d time.Duration) Duration { return Duration{d: d} }

// UnmarshalYAML implements yaml.BytesUnmarshaler.
func (d *Duration) UnmarshalYAML(b []byte) error {
	var s string
	if yaml.Unmarshal(b, &s) != nil {
		// Kept, not returned: validation reports it with its line and column.
		d.err = fmt.Errorf("want a duration like 1m30s or 00:01:30")
		return nil //nolint:nilerr // see above
	}
	d.d, d.err = ParseDuration(s)
	return nil
}

// MarshalYAML implements yaml.BytesMarshaler.
func (d Duration) MarshalYAML() ([]byte, error) {
	return []byte(d.d.String()), nil
}

// Err is the parse error of a value that is not a duration.
func (d Duration) Err() error { return d.err }

// ParseDuration reads "1m30s" or "[[HH:]MM:]SS[.fff]"; negative values are errors.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("duration %q: want HH:MM:SS", s)
		}
		var total float64
		for i, p := range parts {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || v < 0 || (i > 0 && v >= 60) || (i < len(parts)-1 && v != float64(int64(v))) {
				return 0, fmt.Errorf("duration %q: want HH:MM:SS", s)
			}
			total = total*60 + v
		}
		return time.Duration(total*float64(time.Second) + 0.5), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a duration like 1m30s or 00:01:30", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q: must not be negative", s)
	}
	return v, nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return d.d }
