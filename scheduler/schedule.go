package scheduler

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // channel time zones do not depend on the host's zoneinfo

	"github.com/goccy/go-yaml"
	"github.com/robfig/cron/v3"
)

// Profile is what a channel's stream looks like. The engine conditions
// library files that do not match it; the scheduler only validates it.
type Profile struct {
	// Resolution is WIDTHxHEIGHT, e.g. 1280x720.
	Resolution string `yaml:"resolution,omitempty"`
	// FrameRate is frames per second: 25, 29.97, 30000/1001.
	FrameRate string `yaml:"frame_rate,omitempty"`
	// VideoCodec is h264 or h265. Defaults to h264.
	VideoCodec string `yaml:"video_codec,omitempty"`
	// AudioCodec is aac, opus or ac3. Defaults to aac.
	AudioCodec string `yaml:"audio_codec,omitempty"`
	// Segment is the target segment duration. Defaults to 4s.
	Segment Duration `yaml:"segment,omitempty"`
}

// Names is one name or a list of names ("kind: ad" or "kind: [ad, promo]").
type Names []string

// UnmarshalYAML implements yaml.BytesUnmarshaler.
func (n *Names) UnmarshalYAML(b []byte) error {
	var one string
	if err := yaml.Unmarshal(b, &one); err == nil {
		*n = Names{one}
		return nil
	}
	var list []string
	if err := yaml.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a name or a list of names")
	}
	*n = list
	return nil
}

// Pool is a named collection of library assets: every playable asset that
// matches all the criteria given, or the explicit Assets list.
type Pool struct {
	// Kind is one library kind or a list: episode, movie, ad, bumper, promo, filler, ...
	Kind Names `yaml:"kind,omitempty"`
	// Show is a show name (case-insensitive).
	Show string `yaml:"show,omitempty"`
	// Season limits Show to one season.
	Season int `yaml:"season,omitempty"`
	// Tags are tags the asset must all have (from its meta sidecar).
	Tags []string `yaml:"tags,omitempty"`
	// Rating is one content rating or a list (from the meta sidecar, compared
	// case-insensitively): the asset's must be one of them.
	Rating Names `yaml:"rating,omitempty"`
	// Path is a glob on the path relative to the library root, e.g. "ads/*-15s.ts".
	Path string `yaml:"path,omitempty"`
	// Assets is an explicit list of paths relative to a library root, played
	// in this order; it cannot be combined with the criteria above.
	Assets []string `yaml:"assets,omitempty"`
}

// Block is one part of a channel's schedule.
type Block struct {
	// Name names the block in guides and errors. Optional.
	Name string `yaml:"name,omitempty"`
	// Start is a cron expression (minute hour day-of-month month day-of-week,
	// or @daily, @hourly, ...) read in the channel's time zone. A block
	// without Start must be the flood block.
	Start string `yaml:"start,omitempty"`
	// Flood makes this the block that fills all time no started block covers.
	Flood bool `yaml:"flood,omitempty"`
	// Pool is the name of the pool the block plays.
	Pool string `yaml:"pool"`
	// Order is chronological (season and episode order with a resume pointer
	// per pool, kept across days and restarts), shuffle (a seeded shuffle of
	// the whole pool, then another) or random (seeded, no repeat within
	// Window). Defaults to chronological.
	Order string `yaml:"order,omitempty"`
	// Seed seeds shuffle and random. Defaults to 1.
	Seed int64 `yaml:"seed,omitempty"`
	// Window is how many recent plays random avoids repeating. Defaults to
	// half the pool.
	Window int `yaml:"window,omitempty"`
	// Count is how many programs the block plays. Defaults to 1 unless
	// Duration or Until is set.
	Count int `yaml:"count,omitempty"`
	// Duration is how long the block plays programs (those that fit).
	Duration Duration `yaml:"duration,omitempty"`
	// Until "next" plays programs until the next block starts.
	Until string `yaml:"until,omitempty"`
	// HardStart pads with filler and the slate so that the block starts
	// exactly at its time, and stops what comes before it from running over.
	// A soft start (the default) starts when the program before it ends.
	HardStart bool `yaml:"hard_start,omitempty"`
	// As is the log kind of the programs (program, ad, bumper, promo,
	// filler). Defaults from the asset's library kind.
	As string `yaml:"as,omitempty"`
	// Title overrides the guide title of the programs.
	Title string `yaml:"title,omitempty"`
	// Breaks are the breaks in and around each program.
	Breaks *Breaks `yaml:"breaks,omitempty"`

	sched cron.Schedule
}

// Breaks says where breaks go in a program and what they hold.
type Breaks struct {
	// At is where mid-roll breaks go: cues (the asset's cue points, the
	// default), every (every Every, snapped to keyframes) or none.
	At string `yaml:"at,omitempty"`
	// Every is the spacing of mid-roll breaks when At is every. At least 1m.
	Every Duration `yaml:"every,omitempty"`
	// Max is the most mid-roll breaks per program. Defaults to no limit.
	Max int `yaml:"max,omitempty"`
	// PreRoll plays a break before the program.
	PreRoll bool `yaml:"pre_roll,omitempty"`
	// PostRoll plays a break after the program.
	PostRoll bool `yaml:"post_roll,omitempty"`
	// BumperIn is the pool of the bumper that opens a break. Optional.
	BumperIn string `yaml:"bumper_in,omitempty"`
	// BumperOut is the pool of the bumper that closes a break. Optional.
	BumperOut string `yaml:"bumper_out,omitempty"`
	// Ads is the pool of the break's ads. Optional.
	Ads string `yaml:"ads,omitempty"`
	// AdDuration is how much ad time a break holds at most: ads are taken in
	// rotation while they fit, never one twice in a break. Defaults to 1m.
	AdDuration Duration `yaml:"ad_duration,omitempty"`
	// Cooldown is how long an ad rests after it played. Optional.
	Cooldown Duration `yaml:"cooldown,omitempty"`
	// Promos is the pool of promos; a break's promos are for the channel's
	// upcoming programs when the pool has some. Optional.
	Promos string `yaml:"promos,omitempty"`
	// PromoCount is how many promos a break plays. Defaults to 1 when Promos is set.
	PromoCount int `yaml:"promo_count,omitempty"`
}

// Filler pads the channel's time: up to the next block start when nothing
// else fits, and after each block's airing up to the next multiple of Align.
type Filler struct {
	// Pool is the pool whose items pad, best fit first. Optional: without
	// it only the slate pads.
	Pool string `yaml:"pool,omitempty"`
	// Fallback is the pool used when Pool has nothing that fits. Optional.
	Fallback string `yaml:"fallback,omitempty"`
	// Align pads after each block's airing to the next multiple of Align in the
	// channel's time zone, from the hour: 30m pads to :00 and :30. Optional.
	Align Duration `yaml:"align,omitempty"`
}

var (
	validOrders  = map[string]bool{"": true, "chronological": true, "shuffle": true, "random": true}
	validBreakAt = map[string]bool{"": true, "cues": true, "every": true, "none": true}
	resolutionRe = regexp.MustCompile(`^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$`)
	frameRateRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(/[1-9][0-9]*)?$`)
	poolNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	cronParser   = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// maxBlocks and maxPools bound a channel file.
const (
	maxBlocks = 1000
	maxPools  = 1000
)

// Location is the channel's time zone.
func (c *Channel) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// parseCron reads a block start in loc. Time zone prefixes and @every are
// refused: the zone is the channel's, and starts are wall-clock times.
func parseCron(spec string, loc *time.Location) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, fmt.Errorf("set the time zone with timezone, not in the expression")
	}
	if strings.HasPrefix(s, "@every") {
		return nil, fmt.Errorf("@every is not a wall-clock time; use minute hour fields")
	}
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, err
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported expression")
	}
	ss.Location = loc
	if ss.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("never fires")
	}
	return ss, nil
}

// validateSchedule checks the profile, pools, blocks and filler.
func (c *Channel) validateSchedule(at func(path, format string, args ...any)) {
	c.loc = time.UTC
	if c.TimeZone != "" {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil || c.TimeZone == "Local" {
			at("$.timezone", "timezone: unknown time zone %q (want an IANA name such as Europe/Berlin)", c.TimeZone)
		} else {
			c.loc = loc
		}
	}
	if p := c.Profile; p != nil {
		if p.Resolution != "" && !resolutionRe.MatchString(p.Resolution) {
			at("$.profile.resolution", "profile.resolution: want WIDTHxHEIGHT such as 1280x720")
		}
		if p.FrameRate != "" && !frameRateRe.MatchString(p.FrameRate) {
			at("$.profile.frame_rate", "profile.frame_rate: want a rate such as 25, 29.97 or 30000/1001")
		}
		if p.VideoCodec != "" && p.VideoCodec != "h264" && p.VideoCodec != "h265" {
			at("$.profile.video_codec", "profile.video_codec: want h264 or h265")
		}
		if p.AudioCodec != "" && p.AudioCodec != "aac" && p.AudioCodec != "opus" && p.AudioCodec != "ac3" {
			at("$.profile.audio_codec", "profile.audio_codec: want aac, opus or ac3")
		}
		if err := p.Segment.Err(); err != nil {
			at("$.profile.segment", "profile.segment: %v", err)
		} else if d := p.Segment.D(); d != 0 && (d < time.Second || d > 30*time.Second) {
			at("$.profile.segment", "profile.segment: must be between 1s and 30s")
		}
	}
	if len(c.Pools) > maxPools {
		at("$.pools", "pools: more than %d", maxPools)
	}
	for _, name := range sortedKeys(c.Pools) {
		c.Pools[name].validate(name, at)
	}
	if len(c.Blocks) > maxBlocks {
		at("$.blocks", "blocks: more than %d", maxBlocks)
		return
	}
	if len(c.Blocks) > 0 && len(c.Playlist) == 0 {
		if len(c.Pools) == 0 {
			at("$", "pools: blocks need at least one pool")
		}
	}
	floods := 0
	for i, b := range c.Blocks {
		if b == nil {
			at(fmt.Sprintf("$.blocks[%d]", i), "blocks[%d]: empty block", i)
			continue
		}
		if b.Flood {
			floods++
			if floods > 1 {
				at(fmt.Sprintf("$.blocks[%d].flood", i), "flood: only one flood block per channel")
			}
		}
		c.validateBlock(i, b, at)
	}
	if len(c.Blocks) > 0 && floods == 0 && !c.hasCron() {
		at("$.blocks", "blocks: need a start time or a flood block")
	}
	if f := c.Filler; f != nil {
		c.poolRef("$.filler.pool", "filler.pool", f.Pool, at)
		c.poolRef("$.filler.fallback", "filler.fallback", f.Fallback, at)
		if err := f.Align.Err(); err != nil {
			at("$.filler.align", "filler.align: %v", err)
		} else if a := f.Align.D(); a != 0 && (a < time.Minute || time.Hour%a != 0 && a%time.Hour != 0 || a > 24*time.Hour) {
			at("$.filler.align", "filler.align: must divide an hour (such as 15m or 30m) or be whole hours up to 24h")
		}
	}
}

func (c *Channel) hasCron() bool {
	for _, b := range c.Blocks {
		if b != nil && b.Start != "" {
			return true
		}
	}
	return false
}

// poolRef checks that name, when set, is a pool of the channel.
func (c *Channel) poolRef(ypath, field, name string, at func(path, format string, args ...any)) {
	if name == "" {
		return
	}
	if _, ok := c.Pools[name]; !ok {
		at(ypath, "%s: unknown pool %q", field, name)
	}
}

func (c *Channel) validateBlock(i int, b *Block, at func(path, format string, args ...any)) {
	p := fmt.Sprintf("$.blocks[%d]", i)
	f := fmt.Sprintf("blocks[%d]", i)
	switch {
	case b.Flood && b.Start != "":
		at(p+".start", "%s.start: a flood block has no start time", f)
	case !b.Flood && b.Start == "":
		at(p, "%s: needs start (a cron expression) or flood: true", f)
	case b.Start != "":
		sched, err := parseCron(b.Start, c.Location())
		if err != nil {
			at(p+".start", "%s.start: bad cron expression %q: %v", f, b.Start, err)
		} else {
			b.sched = sched
		}
	}
	if b.Pool == "" {
		at(p, "%s.pool: required", f)
	} else {
		c.poolRef(p+".pool", f+".pool", b.Pool, at)
	}
	if !validOrders[b.Order] {
		at(p+".order", "%s.order: unknown order %q (chronological, shuffle, random)", f, b.Order)
	}
	if b.Window < 0 || b.Window > 1000 {
		at(p+".window", "%s.window: must be between 0 and 1000", f)
	}
	if b.Window != 0 && b.Order != "random" {
		at(p+".window", "%s.window: only with order: random", f)
	}
	if b.Count < 0 || b.Count > 1000 {
		at(p+".count", "%s.count: must be between 1 and 1000", f)
	}
	if err := b.Duration.Err(); err != nil {
		at(p+".duration", "%s.duration: %v", f, err)
	}
	if b.Until != "" && b.Until != "next" {
		at(p+".until", "%s.until: only \"next\" (play until the next block starts)", f)
	}
	amounts := 0
	for _, set := range []bool{b.Count != 0, b.Duration.D() != 0, b.Until != ""} {
		if set {
			amounts++
		}
	}
	if amounts > 1 {
		at(p, "%s: set at most one of count, duration, until", f)
	}
	if b.Flood && amounts > 0 {
		at(p, "%s: a flood block plays until the next block; count, duration and until do not apply", f)
	}
	if b.Flood && b.HardStart {
		at(p+".hard_start", "%s.hard_start: a flood block has no start time", f)
	}
	if b.As != "" && !validAs[b.As] {
		at(p+".as", "%s.as: unknown log kind %q (program, ad, bumper, promo, filler, slate)", f, b.As)
	}
	if b.sched != nil && b.Duration.D() > 0 {
		// The block must end before it starts again.
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, c.Location())
		gap := time.Duration(1<<63 - 1)
		for range 400 {
			n := b.sched.Next(t)
			if n.IsZero() {
				break
			}
			if m := b.sched.Next(n); !m.IsZero() && m.Sub(n) < gap {
				gap = m.Sub(n)
			}
			t = n
		}
		if b.Duration.D() > gap {
			at(p+".duration", "%s.duration: %s cannot fit: the block starts again after %s", f, b.Duration.D(), gap)
		}
	}
	if br := b.Breaks; br != nil {
		bp, bf := p+".breaks", f+".breaks"
		if !validBreakAt[br.At] {
			at(bp+".at", "%s.at: unknown %q (cues, every, none)", bf, br.At)
		}
		if err := br.Every.Err(); err != nil {
			at(bp+".every", "%s.every: %v", bf, err)
		} else if br.At == "every" && br.Every.D() < time.Minute {
			at(bp+".every", "%s.every: must be at least 1m", bf)
		} else if br.At != "every" && br.Every.D() != 0 {
			at(bp+".every", "%s.every: only with at: every", bf)
		}
		if br.Max < 0 || br.Max > 100 {
			at(bp+".max", "%s.max: must be between 0 and 100", bf)
		}
		if br.PromoCount < 0 || br.PromoCount > 10 {
			at(bp+".promo_count", "%s.promo_count: must be between 0 and 10", bf)
		}
		for _, d := range []struct {
			key string
			v   Duration
		}{{"ad_duration", br.AdDuration}, {"cooldown", br.Cooldown}} {
			if err := d.v.Err(); err != nil {
				at(bp+"."+d.key, "%s.%s: %v", bf, d.key, err)
			}
		}
		if br.AdDuration.D() > time.Hour {
			at(bp+".ad_duration", "%s.ad_duration: %s cannot fit in a break (at most 1h)", bf, br.AdDuration.D())
		}
		c.poolRef(bp+".bumper_in", bf+".bumper_in", br.BumperIn, at)
		c.poolRef(bp+".bumper_out", bf+".bumper_out", br.BumperOut, at)
		c.poolRef(bp+".ads", bf+".ads", br.Ads, at)
		c.poolRef(bp+".promos", bf+".promos", br.Promos, at)
		if br.BumperIn == "" && br.BumperOut == "" && br.Ads == "" && br.Promos == "" {
			at(bp, "%s: a break needs at least one of bumper_in, ads, promos, bumper_out", bf)
		}
	}
}

func (p *Pool) validate(name string, at func(path, format string, args ...any)) {
	yp := "$.pools." + name
	if !poolNameRe.MatchString(name) {
		at(yp, "pools: bad pool name %q (letters, digits, _ . -)", name)
		return
	}
	if p == nil {
		at(yp, "pools.%s: empty pool", name)
		return
	}
	for _, k := range p.Kind {
		if !validKinds[k] {
			at(yp+".kind", "pools.%s.kind: unknown kind %q", name, k)
		}
	}
	if p.Season < 0 || p.Season > 10000 {
		at(yp+".season", "pools.%s.season: out of range", name)
	}
	if p.Season != 0 && p.Show == "" {
		at(yp+".season", "pools.%s.season: only with show", name)
	}
	if p.Path != "" {
		if _, err := path.Match(p.Path, ""); err != nil || strings.HasPrefix(p.Path, "/") || strings.HasPrefix(path.Clean(p.Path), "..") {
			at(yp+".path", "pools.%s.path: bad glob %q (a pattern relative to a library root)", name, p.Path)
		}
	}
	criteria := len(p.Kind) > 0 || p.Show != "" || len(p.Tags) > 0 || len(p.Rating) > 0 || p.Path != ""
	if len(p.Assets) > 0 && criteria {
		at(yp+".assets", "pools.%s.assets: an explicit list cannot be combined with kind, show, tags, rating or path", name)
	}
	if len(p.Assets) == 0 && !criteria {
		at(yp, "pools.%s: empty pool: give kind, show, tags, rating, path or assets", name)
	}
	for i, a := range p.Assets {
		if a == "" || path.IsAbs(a) || strings.HasPrefix(path.Clean(a), "..") {
			at(fmt.Sprintf("%s.assets[%d]", yp, i), "pools.%s.assets[%d]: must be a path relative to a library root", name, i)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
