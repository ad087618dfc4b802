// Package scheduler reads the channel files of channels.d and turns their rules
// into playout log entries. It never reads media bytes: what it knows of the
// library comes through the Library interface.
package scheduler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Channel is one channel file, channels.d/<id>.yaml.
type Channel struct {
	// ID is the file name without .yaml.
	ID string `yaml:"-"`
	// File is the path the channel was read from.
	File string `yaml:"-"`
	// Number is what IPTV players show, e.g. "101" or "4.1".
	Number string `yaml:"number"`
	// Name is the channel's display name.
	Name string `yaml:"name"`
	// Group is the IPTV group title. Optional.
	Group string `yaml:"group,omitempty"`
	// Logo is a path or URL. Optional.
	Logo string `yaml:"logo,omitempty"`
	// Language is the channel's main language (BCP 47, e.g. "en"), for the guide. Optional.
	Language string `yaml:"language,omitempty"`
	// TimeZone is the IANA time zone that block start times (cron
	// expressions) and filler alignment are read in. Defaults to UTC.
	TimeZone string `yaml:"timezone,omitempty"`
	// Profile is what the channel's stream looks like. Optional.
	Profile *Profile `yaml:"profile,omitempty"`
	// Segment is the target segment duration. Defaults to 4s (or profile.segment).
	Segment Duration `yaml:"segment,omitempty"`
	// Playlist is the simple form of a channel: its steps are played in
	// order, then again from the top, forever. A channel has either a
	// playlist or blocks.
	Playlist []Step `yaml:"playlist,omitempty"`
	// Pools are named collections of library assets that blocks, breaks and
	// filler draw from.
	Pools map[string]*Pool `yaml:"pools,omitempty"`
	// Blocks are the channel's schedule: blocks that start at cron times and
	// at most one flood block that fills the time between them.
	Blocks []*Block `yaml:"blocks,omitempty"`
	// Filler pads to hard starts and to the alignment grid.
	Filler *Filler `yaml:"filler,omitempty"`

	// loc is the parsed TimeZone.
	loc *time.Location

	// src is the file's text, for positions in later checks.
	src []byte
}

// Step is one step of a playlist; exactly one of Asset, Show and Kind is set.
type Step struct {
	// Asset is a file, relative to a library root, played from In to Out.
	Asset string `yaml:"asset,omitempty"`
	// In is where Asset starts. Defaults to its start.
	In Duration `yaml:"in,omitempty"`
	// Out is where Asset ends. Defaults to its end.
	Out Duration `yaml:"out,omitempty"`
	// Show plays the show's next episode (in season and episode order, resuming
	// across passes and restarts), split at its cue points with Breaks between
	// the parts.
	Show string `yaml:"show,omitempty"`
	// Breaks are played at each cue point of a Show episode.
	Breaks []Step `yaml:"breaks,omitempty"`
	// Kind plays the next Count assets of a library kind (ad, bumper, promo,
	// filler, movie, ...), rotating through them in path order.
	Kind string `yaml:"kind,omitempty"`
	// Count is how many assets of Kind to play. Defaults to 1.
	Count int `yaml:"count,omitempty"`
	// As is the log kind of what the step plays (program, ad, bumper, promo,
	// filler). Defaults from the asset's library kind.
	As string `yaml:"as,omitempty"`
	// Title overrides the guide title.
	Title string `yaml:"title,omitempty"`
}

// Version is a short hash of the channel file's text.
func (c *Channel) Version() string {
	sum := sha256.Sum256(c.src)
	return hex.EncodeToString(sum[:8])
}

// TargetDuration is the channel's target segment duration.
func (c *Channel) TargetDuration() time.Duration {
	if c.Profile != nil && c.Profile.Segment.D() > 0 {
		return c.Profile.Segment.D()
	}
	if c.Segment.D() <= 0 {
		return 4 * time.Second
	}
	return c.Segment.D()
}

// FileError is a problem at a place in a channel file; its text is
// FILE:LINE:COL: message.
type FileError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is a list of FileErrors.
type Errors []*FileError

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxFileSize bounds a channel file.
const maxFileSize = 1 << 20

var validAs = map[string]bool{"program": true, "ad": true, "bumper": true, "promo": true, "filler": true, "slate": true}

var validKinds = map[string]bool{
	"program": true, "episode": true, "movie": true, "ad": true, "bumper": true, "promo": true, "filler": true, "slate": true,
}

// Parse reads one channel file's bytes; file names it in errors and gives the id.
func Parse(file string, data []byte) (*Channel, error) {
	if len(data) > maxFileSize {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}
	}
	c := &Channel{File: file, ID: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), src: data}
	if err := yaml.UnmarshalWithOptions(data, c, yaml.Strict()); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	if errs := c.validate(data); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

func yamlError(file string, err error) *FileError {
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe := &FileError{File: file, Msg: strings.TrimSpace(ye.GetMessage())}
		if tok := ye.GetToken(); tok != nil && tok.Position != nil {
			fe.Line, fe.Col = tok.Position.Line, tok.Position.Column
		}
		return fe
	}
	return &FileError{File: file, Msg: err.Error()}
}

// locator finds the line and column of a YAML path in a file's text.
type locator struct {
	file string
	f    *ast.File
}

func newLocator(file string, data []byte) *locator {
	l := &locator{file: file}
	if parsed, err := parser.ParseBytes(data, 0); err == nil {
		l.f = parsed
	}
	return l
}

// errorAt returns a FileError at path (or the nearest parent that exists).
func (l *locator) errorAt(path, format string, args ...any) *FileError {
	fe := &FileError{File: l.file, Msg: fmt.Sprintf(format, args...)}
	if l.f == nil {
		return fe
	}
	for p := path; p != ""; p = parentPath(p) {
		yp, err := yaml.PathString(p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(l.f)
		if err == nil && n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
			fe.Line, fe.Col = n.GetToken().Position.Line, n.GetToken().Position.Column
			break
		}
	}
	return fe
}

// validate checks what YAML decoding cannot, with positions from the AST.
func (c *Channel) validate(data []byte) Errors {
	var errs Errors
	loc := newLocator(c.File, data)
	at := func(path, format string, args ...any) {
		errs = append(errs, loc.errorAt(path, format, args...))
	}
	if strings.TrimSpace(c.Number) == "" {
		at("$", "number: required")
	}
	if strings.TrimSpace(c.Name) == "" {
		at("$", "name: required")
	}
	if err := c.Segment.Err(); err != nil {
		at("$.segment", "segment: %v", err)
	} else if c.Segment.D() != 0 && (c.Segment.D() < time.Second || c.Segment.D() > 30*time.Second) {
		at("$.segment", "segment: must be between 1s and 30s")
	}
	switch {
	case len(c.Playlist) > 0 && len(c.Blocks) > 0:
		at("$.blocks", "blocks: a channel has either a playlist or blocks, not both")
	case len(c.Playlist) == 0 && len(c.Blocks) == 0:
		if c.Playlist != nil {
			at("$.playlist", "playlist: needs at least one step")
		} else {
			at("$", "blocks: needs at least one block (or a playlist)")
		}
	}
	c.validateSchedule(at)
	for i := range c.Playlist {
		c.Playlist[i].validate(fmt.Sprintf("$.playlist[%d]", i), true, at)
	}
	return errs
}

func (s *Step) validate(path string, top bool, at func(path, format string, args ...any)) {
	set := 0
	for _, v := range []string{s.Asset, s.Show, s.Kind} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		at(path, "a step needs exactly one of asset, show, kind")
		return
	}
	if s.Kind != "" && !validKinds[s.Kind] {
		at(path+".kind", "kind: unknown kind %q", s.Kind)
	}
	if s.As != "" && !validAs[s.As] {
		at(path+".as", "as: unknown log kind %q (program, ad, bumper, promo, filler, slate)", s.As)
	}
	if s.Count < 0 || s.Count > 100 {
		at(path+".count", "count: must be between 1 and 100")
	}
	if s.Count != 0 && s.Kind == "" {
		at(path+".count", "count: only with kind")
	}
	if err := s.In.Err(); err != nil {
		at(path+".in", "in: %v", err)
	}
	if err := s.Out.Err(); err != nil {
		at(path+".out", "out: %v", err)
	}
	if (s.In.D() != 0 || s.Out.D() != 0) && s.Asset == "" {
		at(path, "in and out: only with asset")
	}
	if s.Out.D() != 0 && s.Out.D() <= s.In.D() {
		at(path+".out", "out: must be after in")
	}
	if len(s.Breaks) > 0 && s.Show == "" {
		at(path+".breaks", "breaks: only with show")
	}
	if !top && s.Show != "" {
		at(path+".show", "show: not allowed inside breaks")
	}
	if s.Asset != "" && (filepath.IsAbs(s.Asset) || strings.HasPrefix(filepath.Clean(s.Asset), "..")) {
		at(path+".asset", "asset: must be a path relative to a library root")
	}
	for i := range s.Breaks {
		s.Breaks[i].validate(fmt.Sprintf("%s.breaks[%d]", path, i), false, at)
	}
}

// parentPath drops the last element of a YAML path: $.a.b[2] → $.a.b → $.a.
func parentPath(p string) string {
	if p == "$" {
		return ""
	}
	if strings.HasSuffix(p, "]") {
		return p[:strings.LastIndex(p, "[")]
	}
	if i := strings.LastIndex(p, "."); i > 0 {
		return p[:i]
	}
	return "$"
}

// LoadDir reads every *.yaml file of dir (not *.override.yaml). Channels that
// fail to parse are left out and their errors returned; two channels with one
// number are both reported. The result is sorted by id.
func LoadDir(dir string) ([]*Channel, Errors) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, Errors{{File: dir, Msg: err.Error()}}
	}
	var chans []*Channel
	var errs Errors
	for _, name := range names {
		if strings.HasSuffix(name, ".override.yaml") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, &FileError{File: name, Msg: err.Error()})
			continue
		}
		c, err := Parse(name, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		if err != nil {
			var fes Errors
			if errors.As(err, &fes) {
				errs = append(errs, fes...)
			} else {
				errs = append(errs, &FileError{File: name, Msg: err.Error()})
			}
			continue
		}
		chans = append(chans, c)
	}
	byNumber := map[string]*Channel{}
	var dup Errors
	for _, c := range chans {
		if o, ok := byNumber[c.Number]; ok {
			dup = append(dup, &FileError{File: c.File, Msg: fmt.Sprintf("number %s is also used by %s", c.Number, o.File)})
			continue
		}
		byNumber[c.Number] = c
	}
	errs = append(errs, dup...)
	sort.Slice(chans, func(i, j int) bool { return chans[i].ID < chans[j].ID })
	return chans, errs
}
