package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"onair/engine"
	"onair/library"
)

// blockState is the planner state of a channel with blocks, stored as JSON
// with every log step. Times are Unix seconds.
type blockState struct {
	// N counts programs and fills, for unique EPG groups.
	N int64 `json:"n"`
	// B is the airing block (index+1; 0: none).
	B int `json:"b,omitempty"`
	// S is the scheduled start of the airing.
	S int64 `json:"s,omitempty"`
	// E is when the airing ends (duration and until blocks).
	E int64 `json:"e,omitempty"`
	// P is how many programs the airing played.
	P int `json:"p,omitempty"`
	// Last is the latest block start already taken.
	Last int64 `json:"last"`
	// A asks for padding to the next alignment mark from where the log ends.
	A bool `json:"a,omitempty"`
	// Align is the alignment mark filler pads to (0: none).
	Align int64 `json:"align,omitempty"`
	// Ptr counts plays per pool (shuffle, random, rotation).
	Ptr map[string]int64 `json:"ptr,omitempty"`
	// Prev is the last asset played per pool: the chronological resume pointer.
	Prev map[string]int64 `json:"prev,omitempty"`
	// Recent are the latest assets per pool played in random order.
	Recent map[string][]int64 `json:"recent,omitempty"`
	// Rest is when each ad's cooldown ends, by asset id.
	Rest map[string]int64 `json:"rest,omitempty"`
}

// maxFillEntries bounds the filler items of one planner step; maxSlate
// bounds one slate entry.
const (
	maxFillEntries = 200
	maxSlate       = 10 * 60 * engine.Hz
	// lookback bounds how far back a new channel looks for the block it
	// joins.
	lookback = 48 * time.Hour
)

// blockPlan is one planner step being built.
type blockPlan struct {
	p   *Planner
	ctx context.Context
	at  engine.Cursor
	st  *blockState
	now time.Time
	// cur is the block whose program is being planned (-1: none).
	cur int
}

func (p *Planner) nextBlocks(ctx context.Context, at engine.Cursor) ([]engine.Entry, string, error) {
	st := &blockState{}
	if at.State != "" {
		if err := json.Unmarshal([]byte(at.State), st); err != nil {
			return nil, "", fmt.Errorf("channel %s: planner state: %w", p.ch.ID, err)
		}
	}
	if st.B < 0 || st.B > len(p.ch.Blocks) {
		st.B = 0
	}
	now := at.Wall.In(p.ch.Location())
	if at.State == "" {
		p.join(st, now)
	}
	bp := &blockPlan{p: p, ctx: ctx, at: at, st: st, now: now, cur: -1}
	entries := bp.step()
	if len(entries) == 0 {
		return nil, "", fmt.Errorf("channel %s: %w", p.ch.ID, ErrNothingToPlay)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, "", err
	}
	return entries, string(b), nil
}

// join sets up a new log at now: a block that started before now and still
// runs (until and duration blocks) is joined; others wait for their next start.
func (p *Planner) join(st *blockState, now time.Time) {
	st.Last = now.Unix()
	var best time.Time
	bestIdx := -1
	for i, b := range p.ch.Blocks {
		if b.sched == nil {
			continue
		}
		var last time.Time
		for f := b.sched.Next(now.Add(-lookback)); !f.IsZero() && !f.After(now); f = b.sched.Next(f) {
			last = f
		}
		if !last.IsZero() && last.After(best) {
			best, bestIdx = last, i
		}
	}
	if bestIdx < 0 {
		return
	}
	b := p.ch.Blocks[bestIdx]
	if best.Equal(now) || (b.Until != "" && p.nextFire(best).After(now)) || (b.Duration.D() > 0 && best.Add(b.Duration.D()).After(now)) {
		st.Last = best.Unix() - 1
	}
}

// nextFire is the first block start after t (zero without cron blocks).
func (p *Planner) nextFire(t time.Time) time.Time {
	f, _ := p.nextFireBlock(t, false)
	return f
}

// nextFireBlock is the first start after t (of a hard-start block only, when
// hard) and its block index.
func (p *Planner) nextFireBlock(t time.Time, hard bool) (time.Time, int) {
	var best time.Time
	idx := -1
	for i, b := range p.ch.Blocks {
		if b.sched == nil || (hard && !b.HardStart) {
			continue
		}
		if f := b.sched.Next(t); !f.IsZero() && (best.IsZero() || f.Before(best)) {
			best, idx = f, i
		}
	}
	return best, idx
}

// due is the latest block start in (Last, now+tolerance], and its block.
func (bp *blockPlan) due() (time.Time, int) {
	p, st := bp.p, bp.st
	from := time.Unix(st.Last, 0).In(bp.now.Location())
	if bp.now.Sub(from) > lookback {
		from = bp.now.Add(-lookback)
	}
	var best time.Time
	idx := -1
	for i, b := range p.ch.Blocks {
		if b.sched == nil {
			continue
		}
		for f := b.sched.Next(from); !f.IsZero() && bp.reached(f); f = b.sched.Next(f) {
			if f.After(best) {
				best, idx = f, i
			}
		}
	}
	return best, idx
}

// ticksTo is the media time from now to t.
func (bp *blockPlan) ticksTo(t time.Time) int64 {
	return engine.DurationToTicks(t.Sub(bp.now))
}

// reached reports whether t is now or past, to within one frame of the
// slate (a gap the slate cannot fill).
func (bp *blockPlan) reached(t time.Time) bool {
	gap := bp.ticksTo(t)
	if gap <= 0 {
		return true
	}
	// The slate fails only below one frame: a second is enough to ask.
	_, err := engine.SlateAsset(&engine.Item{Params: bp.at.Params}, min(gap, engine.Hz))
	return err != nil
}

// step plans one log step: the next program with its breaks, filler, or
// the slate.
func (bp *blockPlan) step() []engine.Entry {
	p, st := bp.p, bp.st
	for range 4 {
		if st.B > 0 {
			if e := bp.continueAiring(); len(e) > 0 {
				return e
			}
			st.B, st.P, st.E, st.S = 0, 0, 0, 0
			bp.markAlign()
		}
		if f, i := bp.due(); i >= 0 {
			b := p.ch.Blocks[i]
			st.B, st.S, st.Last, st.P, st.E = i+1, f.Unix(), f.Unix(), 0, 0
			switch {
			case b.Duration.D() > 0:
				st.E = f.Add(b.Duration.D()).Unix()
			case b.Until != "":
				st.E = p.nextFire(f).Unix()
			}
			continue
		}
		break
	}
	next, _ := p.nextFireBlock(bp.now, false)
	// Pad to the alignment mark first.
	if st.A {
		st.A = false
		st.Align = bp.alignMark()
	}
	if st.Align != 0 {
		mark := time.Unix(st.Align, 0)
		if !next.IsZero() && next.Before(mark) {
			mark = next
		}
		if !bp.reached(mark) {
			return bp.fill(mark)
		}
		st.Align = 0
	}
	if fi := p.floodIndex(); fi >= 0 {
		// The flood plays programs that end by the next start; filler pads
		// the rest.
		if e := bp.program(fi, next); len(e) > 0 {
			return e
		}
	}
	if next.IsZero() {
		// No block starts ever again and nothing floods.
		return nil
	}
	return bp.fill(next)
}

// floodIndex is the index of the flood block, or -1.
func (p *Planner) floodIndex() int {
	for i, b := range p.ch.Blocks {
		if b.Flood {
			return i
		}
	}
	return -1
}

// markAlign asks for padding to the alignment mark after a block's airing.
func (bp *blockPlan) markAlign() {
	if f := bp.p.ch.Filler; f != nil && f.Align.D() > 0 {
		bp.st.A = true
	}
}

// alignMark is the first alignment mark after now (Unix seconds; 0 when
// now is on one or there is no alignment).
func (bp *blockPlan) alignMark() int64 {
	f := bp.p.ch.Filler
	if f == nil || f.Align.D() <= 0 {
		return 0
	}
	a := f.Align.D()
	// Marks are multiples of Align from the start of the local day.
	y, m, d := bp.now.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, bp.now.Location())
	since := bp.now.Sub(day)
	mark := day.Add((since + a - 1) / a * a)
	if bp.reached(mark) {
		return 0
	}
	return mark.Unix()
}

// continueAiring plays the airing block's next program if the block has one
// to play and it fits.
func (bp *blockPlan) continueAiring() []engine.Entry {
	p, st := bp.p, bp.st
	b := p.ch.Blocks[st.B-1]
	if b.Duration.D() == 0 && b.Until == "" && st.P >= max(b.Count, 1) {
		return nil
	}
	var limit time.Time
	if st.E != 0 {
		limit = time.Unix(st.E, 0)
		if bp.reached(limit) {
			return nil
		}
	}
	// A start of another block that is due ends the airing (until and
	// duration blocks end there; a count block with a soft start plays on).
	if _, i := bp.due(); i >= 0 && (st.E != 0 || p.ch.Blocks[i].HardStart) {
		return nil
	}
	e := bp.program(st.B-1, limit)
	if len(e) > 0 {
		st.P++
	}
	return e
}

// program plans the next program of block i with its breaks, when it ends by
// limit (zero: no limit) and by the next hard start.
func (bp *blockPlan) program(i int, limit time.Time) []engine.Entry {
	p, st := bp.p, bp.st
	b := p.ch.Blocks[i]
	pool := p.pools[b.Pool]
	if len(pool) == 0 {
		return nil
	}
	if hard, _ := p.nextFireBlock(bp.now, true); !hard.IsZero() && (limit.IsZero() || hard.Before(limit)) {
		limit = hard
	}
	a := p.pick(b, st, false)
	if a == nil {
		return nil
	}
	bp.cur = i
	defer func() { bp.cur = -1 }()
	// Plan on a copy of the state: it is kept only if the program fits.
	saved := cloneState(st)
	group := fmt.Sprintf("%s-%d-%d", p.ch.ID, st.N, a.ID)
	entries, total := bp.withBreaks(b, a, group)
	if !limit.IsZero() && total > bp.ticksTo(limit) {
		*st = *saved
		return nil
	}
	p.pick(b, st, true)
	st.N++
	return entries
}

// pick chooses the next asset of block b's pool in the block's order; commit
// advances the pool's pointers.
func (p *Planner) pick(b *Block, st *blockState, commit bool) *library.Asset {
	pool := p.pools[b.Pool]
	n := int64(len(pool))
	if n == 0 {
		return nil
	}
	if st.Ptr == nil {
		st.Ptr = map[string]int64{}
	}
	ptr := st.Ptr[b.Pool]
	seed := uint64(b.Seed)
	if seed == 0 {
		seed = 1
	}
	var a *library.Asset
	switch b.Order {
	case "shuffle":
		perm := rand.New(rand.NewPCG(seed, uint64(ptr/n))).Perm(int(n))
		a = pool[perm[ptr%n]]
	case "random":
		w := b.Window
		if w == 0 {
			w = int(n) / 2
		}
		w = min(w, int(n)-1)
		recent := st.Recent[b.Pool]
		if len(recent) > w {
			recent = recent[len(recent)-w:]
		}
		cands := make([]*library.Asset, 0, n)
		for _, c := range pool {
			if !slices.Contains(recent, c.ID) {
				cands = append(cands, c)
			}
		}
		if len(cands) == 0 {
			cands = pool
		}
		a = cands[rand.New(rand.NewPCG(seed, uint64(ptr))).IntN(len(cands))]
		if commit {
			if st.Recent == nil {
				st.Recent = map[string][]int64{}
			}
			recent = append(slices.Clone(recent), a.ID)
			if len(recent) > w {
				recent = recent[len(recent)-w:]
			}
			st.Recent[b.Pool] = recent
		}
	default:
		idx := ptr % n
		if prev, ok := st.Prev[b.Pool]; ok {
			for j, c := range pool {
				if c.ID == prev {
					idx = (int64(j) + 1) % n
					break
				}
			}
		}
		a = pool[idx]
		if commit {
			if st.Prev == nil {
				st.Prev = map[string]int64{}
			}
			st.Prev[b.Pool] = a.ID
		}
	}
	if commit {
		st.Ptr[b.Pool] = ptr + 1
	}
	return a
}

// withBreaks splits program a at its break points and plays the block's
// breaks there (and before and after it when asked). total is the planned
// duration in ticks.
func (bp *blockPlan) withBreaks(b *Block, a *library.Asset, group string) ([]engine.Entry, int64) {
	p := bp.p
	kind := engine.Kind(b.As)
	if kind == "" {
		kind = logKind(a.Kind)
	}
	title := b.Title
	if title == "" {
		title = assetTitle(a)
	}
	dur := engine.DurationToTicks(a.Duration)
	var out []engine.Entry
	var total int64
	br := b.Breaks
	addBreak := func() {
		e, d := bp.breakEntries(br, total, group)
		out = append(out, e...)
		total += d
	}
	if br != nil && br.PreRoll {
		addBreak()
	}
	points := p.breakPoints(bp.ctx, br, a)
	start := int64(0)
	for _, c := range points {
		out = append(out, engine.Entry{AssetID: a.ID, In: start, Out: c, Kind: kind, Title: title, EPGGroup: group})
		total += c - start
		addBreak()
		start = c
	}
	out = append(out, engine.Entry{AssetID: a.ID, In: start, Kind: kind, Title: title, EPGGroup: group})
	total += dur - start
	if br != nil && br.PostRoll {
		addBreak()
	}
	return out, total
}

func assetTitle(a *library.Asset) string {
	switch {
	case a.Show != "" && a.Title != "":
		return a.Show + ": " + a.Title
	case a.Show != "":
		return a.Show
	}
	return a.Title
}

// breakPoints are the mid-roll points of a (ticks, ascending, on keyframes
// as the engine snaps them), at most br.Max.
func (p *Planner) breakPoints(ctx context.Context, br *Breaks, a *library.Asset) []int64 {
	if br == nil || br.At == "none" {
		return nil
	}
	dur := engine.DurationToTicks(a.Duration)
	var want []int64
	if br.At == "every" {
		every := engine.DurationToTicks(br.Every.D())
		for c := every; c < dur; c += every {
			want = append(want, c)
		}
	} else {
		for _, c := range a.Cues {
			want = append(want, engine.DurationToTicks(c))
		}
	}
	var out []int64
	last := int64(0)
	for _, c := range want {
		c = p.snapOut(ctx, a, c)
		// A part shorter than a second, or a break in the last second, is no break.
		if c-last < engine.Hz || c > dur-engine.Hz {
			continue
		}
		out = append(out, c)
		last = c
		if br.Max > 0 && len(out) >= br.Max {
			break
		}
	}
	return out
}

// snapOut is where the engine ends a range of a that is asked to end at t:
// engine.PlaceEntry's snapping over the asset's keyframes (t itself when the
// snapshot has no engine view).
func (p *Planner) snapOut(ctx context.Context, a *library.Asset, t int64) int64 {
	if p.snap == nil || p.snap.ea == nil {
		return t
	}
	ea, err := p.snap.ea.Asset(ctx, a.ID)
	if err != nil {
		return t
	}
	it, err := engine.PlaceEntry(nil, ea, engine.Entry{AssetID: a.ID, Out: t}, p.snap.seg)
	if err != nil {
		return t
	}
	return it.Out
}

// breakEntries composes one break at offset (ticks after the step's start):
// bumper in, ads in rotation up to the ad duration (none twice, none in its
// cooldown), promos for upcoming programs, bumper out.
func (bp *blockPlan) breakEntries(br *Breaks, offset int64, group string) ([]engine.Entry, int64) {
	p, st := bp.p, bp.st
	var out []engine.Entry
	var total int64
	add := func(a *library.Asset) {
		out = append(out, engine.Entry{AssetID: a.ID, Kind: logKind(a.Kind), Title: assetTitle(a), EPGGroup: group})
		total += engine.DurationToTicks(a.Duration)
	}
	if a := p.rotate(br.BumperIn, st, nil); a != nil {
		add(a)
	}
	if ads := p.pools[br.Ads]; len(ads) > 0 {
		budget := engine.DurationToTicks(60 * time.Second)
		if br.AdDuration.D() > 0 {
			budget = engine.DurationToTicks(br.AdDuration.D())
		}
		key := "ads:" + br.Ads
		if st.Ptr == nil {
			st.Ptr = map[string]int64{}
		}
		ptr := st.Ptr[key]
		n := int64(len(ads))
		nowS := bp.now.Unix() + (offset+total)/engine.Hz
		for k, taken := int64(0), int64(0); k < n; k++ {
			a := ads[(ptr+k)%n]
			d := engine.DurationToTicks(a.Duration)
			id := strconv.FormatInt(a.ID, 10)
			if d > budget-taken || st.Rest[id] > nowS {
				continue
			}
			add(a)
			taken += d
			st.Ptr[key] = ptr + k + 1
			if br.Cooldown.D() > 0 {
				if st.Rest == nil {
					st.Rest = map[string]int64{}
				}
				st.Rest[id] = nowS + int64(br.Cooldown.D()/time.Second)
			}
		}
		// Forget cooldowns that are over.
		for id, until := range st.Rest {
			if until <= nowS {
				delete(st.Rest, id)
			}
		}
	}
	if br.Promos != "" {
		upcoming := bp.upcomingShows()
		for range max(br.PromoCount, 1) {
			if a := p.rotate(br.Promos, st, func(a *library.Asset) bool {
				return slices.ContainsFunc(upcoming, func(s string) bool { return promotes(a, s) })
			}); a != nil {
				add(a)
			}
		}
	}
	if a := p.rotate(br.BumperOut, st, nil); a != nil {
		add(a)
	}
	return out, total
}

// rotate takes the next asset of a pool in rotation, preferring those that
// match prefer (when any does).
func (p *Planner) rotate(pool string, st *blockState, prefer func(*library.Asset) bool) *library.Asset {
	items := p.pools[pool]
	if len(items) == 0 {
		return nil
	}
	if st.Ptr == nil {
		st.Ptr = map[string]int64{}
	}
	key := "rot:" + pool
	ptr := st.Ptr[key]
	n := int64(len(items))
	if prefer != nil {
		for k := int64(0); k < n; k++ {
			if a := items[(ptr+k)%n]; prefer(a) {
				st.Ptr[key] = ptr + k + 1
				return a
			}
		}
	}
	st.Ptr[key] = ptr + 1
	return items[ptr%n]
}

// upcomingShows are the shows the channel plays next: the next program of
// the airing block, of the next block to start and of the flood block.
func (bp *blockPlan) upcomingShows() []string {
	p := bp.p
	var idx []int
	if bp.cur >= 0 {
		idx = append(idx, bp.cur)
	}
	if _, i := p.nextFireBlock(bp.now, false); i >= 0 {
		idx = append(idx, i)
	}
	if fi := p.floodIndex(); fi >= 0 {
		idx = append(idx, fi)
	}
	var shows []string
	for _, i := range idx {
		b := p.ch.Blocks[i]
		probe := cloneState(bp.st)
		// The program that would play after the one being planned.
		if a := p.pick(b, probe, true); a != nil {
			if next := p.pick(b, probe, false); next != nil && next.Show != "" {
				shows = append(shows, next.Show)
			}
			if a.Show != "" && i != bp.cur {
				shows = append(shows, a.Show)
			}
		}
	}
	return shows
}

// fill pads toward target: best-fit items of the filler pool (then its
// fallback) in one step, the slate for what they cannot fill in the next.
func (bp *blockPlan) fill(target time.Time) []engine.Entry {
	p, st := bp.p, bp.st
	gap := bp.ticksTo(target)
	group := fmt.Sprintf("%s-%d-fill", p.ch.ID, st.N)
	st.N++
	if f := p.ch.Filler; f != nil {
		for _, name := range []string{f.Pool, f.Fallback} {
			if e := bestFit(p.pools[name], gap, group); len(e) > 0 {
				return e
			}
		}
	}
	return []engine.Entry{engine.SlateEntry(engine.KindSlate, p.ch.Name, min(gap, maxSlate))}
}

// bestFit fills gap ticks with items of pool, longest first, never the same
// item twice in a row; nil when none fits.
func bestFit(pool []*library.Asset, gap int64, group string) []engine.Entry {
	if len(pool) == 0 {
		return nil
	}
	byLen := slices.Clone(pool)
	slices.SortStableFunc(byLen, func(a, b *library.Asset) int {
		if a.Duration != b.Duration {
			if a.Duration > b.Duration {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Path, b.Path)
	})
	var out []engine.Entry
	var prev int64 = -1
	left := gap
	for len(out) < maxFillEntries {
		var pick *library.Asset
		for _, a := range byLen {
			if d := engine.DurationToTicks(a.Duration); d > 0 && d <= left && a.ID != prev {
				pick = a
				break
			}
		}
		if pick == nil {
			break
		}
		out = append(out, engine.Entry{AssetID: pick.ID, Kind: engine.KindFiller, Title: assetTitle(pick), EPGGroup: group})
		left -= engine.DurationToTicks(pick.Duration)
		prev = pick.ID
	}
	return out
}

func cloneState(st *blockState) *blockState {
	c := *st
	c.Ptr = cloneMap(st.Ptr)
	c.Prev = cloneMap(st.Prev)
	c.Rest = cloneMap(st.Rest)
	if st.Recent != nil {
		c.Recent = make(map[string][]int64, len(st.Recent))
		for k, v := range st.Recent {
			c.Recent[k] = slices.Clone(v)
		}
	}
	return &c
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
