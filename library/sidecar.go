package library

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Sidecar files sit beside a media file NAME.EXT and describe it:
//
//	NAME.meta.yaml: kind, title, show, season, episode, tags, rating, description (unknown keys are errors)
//	NAME.cue.yaml:  cues: [1m0s, 2m10.5s] (Go durations from the asset's start)
//
// They are not assets; a change to one is a change to its asset.
const (
	cueSuffix  = ".cue.yaml"
	metaSuffix = ".meta.yaml"
	// sidecarMaxSize bounds what is read of a sidecar.
	sidecarMaxSize = 1 << 20
	// maxCues bounds the number of cue points of an asset.
	maxCues = 10000
)

// isSidecar reports whether a file name is a sidecar's.
func isSidecar(name string) bool {
	l := strings.ToLower(name)
	return strings.HasSuffix(l, cueSuffix) || strings.HasSuffix(l, metaSuffix)
}

// metaSidecar is the content of NAME.meta.yaml. Pointers tell a missing key from a zero value.
type metaSidecar struct {
	Kind    *string  `yaml:"kind"`
	Title   *string  `yaml:"title"`
	Show    *string  `yaml:"show"`
	Season  *int     `yaml:"season"`
	Episode *int     `yaml:"episode"`
	Tags    []string `yaml:"tags"`
	// Rating is a content rating as the operator writes it (TV-PG, PG-13, 12, ...).
	Rating *string `yaml:"rating"`
	// Description is a sentence or two for the guide.
	Description *string `yaml:"description"`
}

// cueSidecar is the content of NAME.cue.yaml.
type cueSidecar struct {
	Cues []any `yaml:"cues"`
}

// readSidecarFile reads a small sidecar file.
func readSidecarFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, sidecarMaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > sidecarMaxSize {
		return nil, fmt.Errorf("larger than %d bytes", sidecarMaxSize)
	}
	return b, nil
}

// decodeSidecar decodes YAML strictly into v, reporting errors as "FILE:LINE:COL: message".
func decodeSidecar(p string, b []byte, v any) error {
	err := yaml.UnmarshalWithOptions(b, v, yaml.DisallowUnknownField())
	if err == nil {
		return nil
	}
	name := filepath.Base(p)
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		pos := ye.GetToken().Position
		return fmt.Errorf("%s:%d:%d: %s", name, pos.Line, pos.Column, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", name, err)
}

// parseMetaSidecar parses the content of a NAME.meta.yaml file.
func parseMetaSidecar(p string, b []byte) (metaSidecar, error) {
	var m metaSidecar
	if err := decodeSidecar(p, b, &m); err != nil {
		return metaSidecar{}, err
	}
	name := filepath.Base(p)
	if m.Kind != nil && !Kind(*m.Kind).Valid() {
		return metaSidecar{}, fmt.Errorf("%s: kind: %q is not one of %v", name, *m.Kind, Kinds)
	}
	if m.Season != nil && (*m.Season < 0 || *m.Season > 10000) {
		return metaSidecar{}, fmt.Errorf("%s: season: %d is out of range", name, *m.Season)
	}
	if m.Episode != nil && (*m.Episode < 0 || *m.Episode > 100000) {
		return metaSidecar{}, fmt.Errorf("%s: episode: %d is out of range", name, *m.Episode)
	}
	return m, nil
}

// parseCueSidecar parses the content of a NAME.cue.yaml file into ascending, distinct cues.
func parseCueSidecar(p string, b []byte) ([]time.Duration, error) {
	var c cueSidecar
	if err := decodeSidecar(p, b, &c); err != nil {
		return nil, err
	}
	name := filepath.Base(p)
	if len(c.Cues) > maxCues {
		return nil, fmt.Errorf("%s: cues: more than %d", name, maxCues)
	}
	out := make([]time.Duration, 0, len(c.Cues))
	for i, v := range c.Cues {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: cues[%d]: %v is not a Go duration such as 1m30s", name, i, v)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%s: cues[%d]: %q is not a Go duration such as 1m30s", name, i, s)
		}
		if d < 0 {
			return nil, fmt.Errorf("%s: cues[%d]: %s is negative", name, i, s)
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// assetMeta is the descriptive part of an asset: from its path, then its sidecars.
type assetMeta struct {
	kind     Kind
	show     string
	season   int
	episode  int
	title    string
	tags     []string
	rating   string
	desc     string
	cues     []time.Duration
	warnings []string
}

// deriveMeta parses an entry's path and reads its sidecars. Sidecar problems become warnings
// and leave that sidecar unused.
func deriveMeta(e *walkEntry) assetMeta {
	pn := ParseName(e.rel)
	m := assetMeta{kind: pn.Kind, show: pn.Show, season: pn.Season, episode: pn.Episode, title: pn.Title}
	if e.metaPath != "" {
		b, err := readSidecarFile(e.metaPath)
		var ms metaSidecar
		if err == nil {
			ms, err = parseMetaSidecar(e.metaPath, b)
		} else {
			err = fmt.Errorf("%s: %w", filepath.Base(e.metaPath), err)
		}
		if err != nil {
			m.warnings = append(m.warnings, err.Error())
		} else {
			if ms.Kind != nil {
				m.kind = Kind(*ms.Kind)
			}
			if ms.Title != nil {
				m.title = *ms.Title
			}
			if ms.Show != nil {
				m.show = *ms.Show
			}
			if ms.Season != nil {
				m.season = *ms.Season
			}
			if ms.Episode != nil {
				m.episode = *ms.Episode
			}
			m.tags = ms.Tags
			if ms.Rating != nil {
				m.rating = strings.TrimSpace(*ms.Rating)
			}
			if ms.Description != nil {
				m.desc = strings.TrimSpace(*ms.Description)
			}
		}
	}
	if e.cuePath != "" {
		b, err := readSidecarFile(e.cuePath)
		var cues []time.Duration
		if err == nil {
			cues, err = parseCueSidecar(e.cuePath, b)
		} else {
			err = fmt.Errorf("%s: %w", filepath.Base(e.cuePath), err)
		}
		if err != nil {
			m.warnings = append(m.warnings, err.Error())
		} else {
			m.cues = cues
		}
	}
	return m
}
