package library

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"onair/internal/sqlitedb"
)

// migrationFS holds the schema migrations, applied in file name order. A file is named
// NNNN_description.sql; NNNN is its version.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationScope is this package's key in the shared schema_migrations table, so that
// other packages can keep their own migrations in the same database file.
const migrationScope = "library"

// ErrNotFound is returned by Get and Keyframes for an unknown asset id.
var ErrNotFound = errors.New("asset not found")

// Options configures a Store.
type Options struct {
	// Now returns the wall time, for scan timestamps and progress rates. The caller passes
	// time.Now; when nil, timestamps are zero and rates are not computed.
	Now func() time.Time
	// Workers is how many files Scan probes at once. Defaults to GOMAXPROCS, at most 8.
	Workers int

	// afterRead, for tests, runs after a file was read and before its size and mtime are
	// checked again.
	afterRead func(path string)
}

// Store is the media library: an SQLite database of assets, and the scanner that fills it.
//
// SQLite runs in WAL mode with foreign keys on and a busy timeout. There is one writer: all
// writes go through w, a *sql.DB limited to one connection (SetMaxOpenConns(1)), so writes
// never contend with each other inside the process; reads use r, a separate pool of
// query-only connections that WAL lets run beside the writer. Scan calls are serialized by
// scanMu. A Store is safe for concurrent use.
type Store struct {
	w  *sql.DB
	r  *sql.DB
	db *sqlitedb.DB
	// generation counts scans (see Generation).
	generation atomic.Int64
	opts       Options
	scanMu     sync.Mutex
}

// Open opens (creating if needed) the library database at path and applies pending
// migrations. It uses no clock; see OpenWithOptions.
func Open(path string) (*Store, error) {
	return OpenWithOptions(path, Options{})
}

// OpenWithOptions is Open with options.
func OpenWithOptions(path string, opts Options) (*Store, error) {
	if opts.Workers <= 0 {
		opts.Workers = min(runtime.GOMAXPROCS(0), 8)
	}
	db, err := sqlitedb.Open(path)
	if err != nil {
		return nil, err
	}
	s := &Store{w: db.W, r: db.R, db: db, opts: opts}
	if err := db.Migrate(context.Background(), migrationScope, migrationFS, "migrations/*.sql", s.nowNs()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// nowNs returns Options.Now as Unix nanoseconds, 0 without a clock.
func (s *Store) nowNs() int64 {
	if s.opts.Now == nil {
		return 0
	}
	return s.opts.Now().UnixNano()
}

// Filter selects assets in List. Empty fields match everything.
type Filter struct {
	Kind   string
	Status string
}

// assetColumns are the columns scanAsset reads, in order.
const assetColumns = `id, path, size, mtime_ns, sha256, container, duration_ticks,
	video_codec, video_profile, video_level, width, height, frame_rate_num, frame_rate_den, b_frames,
	audio_codec, sample_rate, channels, kind, show, season, episode, title, tags, rating, description,
	cues_sidecar, cues_chapters, warnings, keyframe_count, status, reason`

type rowScanner interface{ Scan(dest ...any) error }

func scanAsset(row rowScanner) (Asset, error) {
	var a Asset
	var mtimeNs, durTicks int64
	var v VideoInfo
	var au AudioInfo
	var bFrames int
	var tags, cuesSide, cuesChap, warnings string
	err := row.Scan(&a.ID, &a.Path, &a.Size, &mtimeNs, &a.SHA256, &a.Container, &durTicks,
		&v.Codec, &v.Profile, &v.Level, &v.Width, &v.Height, &v.FrameRate.Num, &v.FrameRate.Den, &bFrames,
		&au.Codec, &au.SampleRate, &au.Channels, &a.Kind, &a.Show, &a.Season, &a.Episode, &a.Title, &tags, &a.Rating, &a.Description,
		&cuesSide, &cuesChap, &warnings, &a.KeyframeCount, &a.Status, &a.Reason)
	if err != nil {
		return Asset{}, err
	}
	a.MTime = time.Unix(0, mtimeNs).UTC()
	a.Duration = ticksToDuration(durTicks)
	if v.Codec != "" {
		v.BFrames = bFrames != 0
		a.Video = &v
	}
	if au.Codec != "" {
		a.Audio = &au
	}
	a.Tags = []string{}
	_ = json.Unmarshal([]byte(tags), &a.Tags)
	if err := json.Unmarshal([]byte(warnings), &a.Warnings); err != nil || len(a.Warnings) == 0 {
		a.Warnings = nil
	}
	var side, chap []time.Duration
	_ = json.Unmarshal([]byte(cuesSide), &side)
	_ = json.Unmarshal([]byte(cuesChap), &chap)
	a.Cues = mergeCues(side, chap)
	return a, nil
}

// mergeCues returns the ascending union of cue lists.
func mergeCues(lists ...[]time.Duration) []time.Duration {
	out := []time.Duration{}
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// List returns the assets matching f, ordered by path.
func (s *Store) List(ctx context.Context, f Filter) ([]Asset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+assetColumns+` FROM assets
		WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR status = ?2) ORDER BY path`, f.Kind, f.Status)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	out := []Asset{}
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	return out, nil
}

// Get returns the asset with the given id, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Asset, error) {
	a, err := scanAsset(s.r.QueryRowContext(ctx, `SELECT `+assetColumns+` FROM assets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Asset{}, fmt.Errorf("asset %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Asset{}, fmt.Errorf("asset %d: %w", id, err)
	}
	return a, nil
}

// Keyframes returns the keyframe index of the asset with the given id (empty for assets that
// are not ok), or an error wrapping ErrNotFound.
func (s *Store) Keyframes(ctx context.Context, id int64) (KeyframeIndex, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT keyframes FROM assets WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return KeyframeIndex{}, fmt.Errorf("asset %d keyframes: %w", id, ErrNotFound)
	}
	if err != nil {
		return KeyframeIndex{}, fmt.Errorf("asset %d keyframes: %w", id, err)
	}
	k, err := DecodeKeyframeIndex(b)
	if err != nil {
		return KeyframeIndex{}, fmt.Errorf("asset %d keyframes: %w", id, err)
	}
	return k, nil
}
