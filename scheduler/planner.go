package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"onair/engine"
	"onair/library"
)

// Library is what the planner needs of the media library. When it also
// implements engine.LibraryStore (library.Store does), planners measure what
// they plan with the engine's keyframe snapping.
type Library interface {
	List(ctx context.Context, f library.Filter) ([]library.Asset, error)
}

// ErrNothingToPlay is returned when a whole pass of a playlist finds nothing
// in the library to play.
var ErrNothingToPlay = errors.New("nothing in the library matches the playlist")

// Planner turns a channel's playlist into playout log entries, one step per
// call. Its state (the playlist position and a resume pointer per show and per
// kind) is JSON the engine stores with the log.
type Planner struct {
	ch     *Channel
	snap   *LibrarySnapshot
	assets []library.Asset
	// pools are the channel's pools resolved over the snapshot, in play order.
	pools map[string][]*library.Asset
}

// NewPlanner returns a planner over a snapshot of the library's playable assets.
func NewPlanner(ctx context.Context, ch *Channel, lib Library) (*Planner, error) {
	snap, err := Snapshot(ctx, lib)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", ch.ID, err)
	}
	return snap.Planner(ch), nil
}

// LibrarySnapshot is the playable assets of the library at one moment, shared
// by the planners of many channels.
type LibrarySnapshot struct {
	assets []library.Asset
	// ea measures placed durations (nil: estimates from the library).
	ea  engine.Assets
	seg engine.Segmenting
}

// Snapshot lists the library's playable assets.
func Snapshot(ctx context.Context, lib Library) (*LibrarySnapshot, error) {
	assets, err := lib.List(ctx, library.Filter{Status: string(library.StatusOK)})
	if err != nil {
		return nil, err
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i].Path < assets[j].Path })
	s := &LibrarySnapshot{assets: assets}
	if ls, ok := lib.(engine.LibraryStore); ok {
		s.ea = &engine.LibraryAssets{Store: ls}
	}
	return s, nil
}

// NewSnapshot is a snapshot over a list of assets; ea, when not nil, gives
// the engine's view of them (keyframes) so that planned ranges are measured
// exactly as the engine will place them.
func NewSnapshot(assets []library.Asset, ea engine.Assets) *LibrarySnapshot {
	var ok []library.Asset
	for _, a := range assets {
		if a.Status == library.StatusOK || a.Status == "" {
			ok = append(ok, a)
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].Path < ok[j].Path })
	return &LibrarySnapshot{assets: ok, ea: ea}
}

// Assets is the engine's view of the snapshot's assets, or nil.
func (s *LibrarySnapshot) Assets() engine.Assets { return s.ea }

// Planner returns a planner for ch over the snapshot.
func (s *LibrarySnapshot) Planner(ch *Channel) *Planner {
	p := &Planner{ch: ch, snap: s, assets: s.assets, pools: map[string][]*library.Asset{}}
	for name, pool := range ch.Pools {
		p.pools[name] = s.resolve(pool)
	}
	return p
}

type plannerState struct {
	// Pos is the next playlist step.
	Pos int `json:"pos"`
	// N counts the steps played, for EPG groups.
	N int64 `json:"n"`
	// Ptr is the resume pointer per "show:NAME" and "kind:KIND".
	Ptr map[string]int64 `json:"ptr,omitempty"`
}

// Next implements engine.Planner.
func (p *Planner) Next(ctx context.Context, at engine.Cursor) ([]engine.Entry, string, error) {
	if len(p.ch.Playlist) == 0 {
		return p.nextBlocks(ctx, at)
	}
	state := at.State
	st := plannerState{Ptr: map[string]int64{}}
	if state != "" {
		if err := json.Unmarshal([]byte(state), &st); err != nil {
			return nil, "", fmt.Errorf("channel %s: planner state: %w", p.ch.ID, err)
		}
		if st.Ptr == nil {
			st.Ptr = map[string]int64{}
		}
	}
	for range p.ch.Playlist {
		if st.Pos < 0 || st.Pos >= len(p.ch.Playlist) {
			st.Pos = 0
		}
		step := &p.ch.Playlist[st.Pos]
		st.Pos = (st.Pos + 1) % len(p.ch.Playlist)
		group := fmt.Sprintf("%s-%d", p.ch.ID, st.N)
		st.N++
		entries := p.play(step, group, &st)
		if len(entries) > 0 {
			b, _ := json.Marshal(st)
			return entries, string(b), nil
		}
	}
	return nil, "", fmt.Errorf("channel %s: %w", p.ch.ID, ErrNothingToPlay)
}

func (p *Planner) play(s *Step, group string, st *plannerState) []engine.Entry {
	switch {
	case s.Asset != "":
		a := p.byPath(s.Asset)
		if a == nil {
			return nil
		}
		return []engine.Entry{p.entry(a, s, group, engine.DurationToTicks(s.In.D()), engine.DurationToTicks(s.Out.D()))}
	case s.Kind != "":
		pool := p.ofKind(s.Kind)
		if len(pool) == 0 {
			return nil
		}
		n := max(s.Count, 1)
		key := "kind:" + s.Kind
		var out []engine.Entry
		for i := 0; i < n; i++ {
			a := pool[st.Ptr[key]%int64(len(pool))]
			st.Ptr[key]++
			out = append(out, p.entry(a, s, group, 0, 0))
		}
		return out
	case s.Show != "":
		eps := p.episodes(s.Show)
		if len(eps) == 0 {
			return nil
		}
		key := "show:" + s.Show
		a := eps[st.Ptr[key]%int64(len(eps))]
		st.Ptr[key]++
		var out []engine.Entry
		start := int64(0)
		for _, cue := range a.Cues {
			c := engine.DurationToTicks(cue)
			if c <= start || c >= engine.DurationToTicks(a.Duration) {
				continue
			}
			out = append(out, p.entry(a, s, group, start, c))
			for i := range s.Breaks {
				out = append(out, p.play(&s.Breaks[i], group, st)...)
			}
			start = c
		}
		return append(out, p.entry(a, s, group, start, 0))
	}
	return nil
}

func (p *Planner) entry(a *library.Asset, s *Step, group string, in, out int64) engine.Entry {
	kind := engine.Kind(s.As)
	if kind == "" {
		kind = logKind(a.Kind)
	}
	title := s.Title
	if title == "" {
		title = a.Title
		if a.Show != "" && a.Title != "" {
			title = a.Show + ": " + a.Title
		} else if a.Show != "" {
			title = a.Show
		}
	}
	return engine.Entry{AssetID: a.ID, In: in, Out: out, Kind: kind, Title: title, EPGGroup: group}
}

// logKind maps a library kind to the log kind it plays as.
func logKind(k library.Kind) engine.Kind {
	switch k {
	case library.KindAd:
		return engine.KindAd
	case library.KindBumper:
		return engine.KindBumper
	case library.KindPromo:
		return engine.KindPromo
	case library.KindFiller:
		return engine.KindFiller
	case library.KindSlate:
		return engine.KindSlate
	}
	return engine.KindProgram
}

// byPath finds the asset whose path ends with rel (a path relative to a root).
func (p *Planner) byPath(rel string) *library.Asset {
	return library.FindByRelPath(p.assets, rel)
}

func (p *Planner) ofKind(kind string) []*library.Asset {
	var out []*library.Asset
	for i := range p.assets {
		if string(p.assets[i].Kind) == kind {
			out = append(out, &p.assets[i])
		}
	}
	return out
}

func (p *Planner) episodes(show string) []*library.Asset {
	var out []*library.Asset
	for i := range p.assets {
		if strings.EqualFold(p.assets[i].Show, show) {
			out = append(out, &p.assets[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Season != out[j].Season {
			return out[i].Season < out[j].Season
		}
		if out[i].Episode != out[j].Episode {
			return out[i].Episode < out[j].Episode
		}
		return out[i].Path < out[j].Path
	})
	return out
}

var _ engine.Planner = (*Planner)(nil)

// Check reports the steps of ch that find nothing to play in the snapshot: an
// asset that is not in the library (or not playable), a show without
// episodes, a kind without assets. Each error carries its position.
func (s *LibrarySnapshot) Check(ch *Channel) Errors {
	p := s.Planner(ch)
	loc := newLocator(ch.File, ch.src)
	var errs Errors
	var check func(path string, st *Step)
	check = func(path string, st *Step) {
		switch {
		case st.Asset != "":
			if p.byPath(st.Asset) == nil {
				errs = append(errs, loc.errorAt(path+".asset", "asset: %q is not a playable file of the library", st.Asset))
			}
		case st.Kind != "":
			if len(p.ofKind(st.Kind)) == 0 {
				errs = append(errs, loc.errorAt(path+".kind", "kind: no playable %s in the library (empty pool)", st.Kind))
			}
		case st.Show != "":
			if len(p.episodes(st.Show)) == 0 {
				errs = append(errs, loc.errorAt(path+".show", "show: no playable episode of %q in the library (empty pool)", st.Show))
			}
		}
		for i := range st.Breaks {
			check(fmt.Sprintf("%s.breaks[%d]", path, i), &st.Breaks[i])
		}
	}
	for i := range ch.Playlist {
		check(fmt.Sprintf("$.playlist[%d]", i), &ch.Playlist[i])
	}
	return append(errs, s.checkSchedule(p, loc)...)
}
