package engine

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"onair/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrLogGap is returned by Append when the new items do not continue the log
// exactly (index, start, sequence numbers).
var ErrLogGap = errors.New("items do not continue the playout log")

// ChannelState is a channel's row in the log store.
type ChannelState struct {
	ID             string
	Epoch          time.Time
	PublishedUntil int64
	PlannerState   string
}

// LogStore persists channels' playout logs in SQLite. Appends run in one
// transaction each on the database's single writer connection.
type LogStore struct {
	db *sqlitedb.DB
}

// OpenLog applies the engine's migrations to db and returns the store.
func OpenLog(ctx context.Context, db *sqlitedb.DB, now time.Time) (*LogStore, error) {
	if err := db.Migrate(ctx, "engine", migrationFS, "migrations/*.sql", now.UnixNano()); err != nil {
		return nil, err
	}
	return &LogStore{db: db}, nil
}

// Channel returns a channel's state; ok is false for a channel without a log.
func (s *LogStore) Channel(ctx context.Context, id string) (st ChannelState, ok bool, err error) {
	var epoch int64
	err = s.db.R.QueryRowContext(ctx, `SELECT epoch_ns, published_until, planner_state FROM channels WHERE id = ?`, id).
		Scan(&epoch, &st.PublishedUntil, &st.PlannerState)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("channel %s: %w", id, err)
	}
	st.ID = id
	st.Epoch = time.Unix(0, epoch).UTC()
	return st, true, nil
}

// CreateChannel records a channel whose media time 0 is epoch. It is a no-op
// for a channel that exists.
func (s *LogStore) CreateChannel(ctx context.Context, id string, epoch, now time.Time) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO channels (id, epoch_ns, created_ns) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		id, epoch.UnixNano(), now.UnixNano())
	if err != nil {
		return fmt.Errorf("create channel %s: %w", id, err)
	}
	return nil
}

// Append adds items to the end of a channel's log and stores the planner state
// after them, atomically. The first item must continue the last one exactly.
func (s *LogStore) Append(ctx context.Context, channel string, items []Item, plannerState string) error {
	if len(items) == 0 {
		return nil
	}
	return s.appendItems(ctx, channel, items, plannerState, false)
}

// appendEndingOverride is Append that also marks the channel's override as
// resumed: the items are the schedule after it.
func (s *LogStore) appendEndingOverride(ctx context.Context, channel string, items []Item, plannerState string) error {
	return s.appendItems(ctx, channel, items, plannerState, true)
}

func (s *LogStore) appendItems(ctx context.Context, channel string, items []Item, plannerState string, endOverride bool) error {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	last, ok, err := lastItem(ctx, tx, channel)
	if err != nil {
		return err
	}
	prev := &last
	if !ok {
		prev = nil
	}
	for i := range items {
		it := &items[i]
		if err := checkContinues(prev, it); err != nil {
			return fmt.Errorf("channel %s: %w", channel, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO playout_items
			(channel, idx, start, duration, asset_id, asset_path, in_pts, out_pts, kind, title, epg_group, seq0, disc0, discontinuity, params, cuts, step_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			channel, it.Index, it.Start, it.Duration, it.AssetID, it.AssetPath, it.In, it.Out, string(it.Kind), it.Title, it.EPGGroup,
			it.Seq0, it.Disc0, boolInt(it.Discontinuity), it.Params, encodeCuts(it.Cuts), it.StepState)
		if err != nil {
			return fmt.Errorf("channel %s: append item %d: %w", channel, it.Index, err)
		}
		prev = it
	}
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET planner_state = ? WHERE id = ?`, plannerState, channel); err != nil {
		return err
	}
	if endOverride {
		if _, err := tx.ExecContext(ctx, `UPDATE overrides SET resumed = 1 WHERE channel = ?`, channel); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkContinues verifies that it follows prev in the log.
func checkContinues(prev, it *Item) error {
	if len(it.Cuts) == 0 || it.Cuts[0] != 0 || it.Duration <= 0 {
		return fmt.Errorf("%w: item %d has no segments", ErrLogGap, it.Index)
	}
	if prev == nil {
		if it.Index != 0 {
			return fmt.Errorf("%w: first item has index %d", ErrLogGap, it.Index)
		}
		return nil
	}
	wantDisc := prev.Disc0
	if it.Discontinuity {
		wantDisc++
	}
	switch {
	case it.Index != prev.Index+1:
		return fmt.Errorf("%w: index %d after %d", ErrLogGap, it.Index, prev.Index)
	case it.Start != prev.End():
		return fmt.Errorf("%w: item %d starts at %d, previous ends at %d", ErrLogGap, it.Index, it.Start, prev.End())
	case it.Seq0 != prev.Seq0+prev.Segments():
		return fmt.Errorf("%w: item %d seq0 %d, want %d", ErrLogGap, it.Index, it.Seq0, prev.Seq0+prev.Segments())
	case it.Disc0 != wantDisc:
		return fmt.Errorf("%w: item %d disc0 %d, want %d", ErrLogGap, it.Index, it.Disc0, wantDisc)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const itemColumns = `idx, start, duration, asset_id, asset_path, in_pts, out_pts, kind, title, epg_group, seq0, disc0, discontinuity, params, cuts, step_state`

func scanItem(sc interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var kind string
	var disc int
	var cuts []byte
	err := sc.Scan(&it.Index, &it.Start, &it.Duration, &it.AssetID, &it.AssetPath, &it.In, &it.Out, &kind, &it.Title, &it.EPGGroup,
		&it.Seq0, &it.Disc0, &disc, &it.Params, &cuts, &it.StepState)
	if err != nil {
		return it, err
	}
	it.Kind = Kind(kind)
	it.Discontinuity = disc != 0
	it.Cuts, err = decodeCuts(cuts)
	if err != nil {
		return it, fmt.Errorf("item %d: %w", it.Index, err)
	}
	return it, nil
}

func lastItem(ctx context.Context, q querier, channel string) (Item, bool, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM playout_items WHERE channel = ? ORDER BY idx DESC LIMIT 1`, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return it, false, nil
	}
	if err != nil {
		return it, false, fmt.Errorf("channel %s: last item: %w", channel, err)
	}
	return it, true, nil
}

// Last returns the last item of a channel's log.
func (s *LogStore) Last(ctx context.Context, channel string) (Item, bool, error) {
	return lastItem(ctx, s.db.R, channel)
}

// ItemsFrom returns the items that end after media time from, in order, at most limit.
func (s *LogStore) ItemsFrom(ctx context.Context, channel string, from int64, limit int) ([]Item, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+itemColumns+` FROM playout_items
		WHERE channel = ? AND start + duration > ? ORDER BY idx LIMIT ?`, channel, from, limit)
	if err != nil {
		return nil, fmt.Errorf("channel %s: items: %w", channel, err)
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w", channel, err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// ItemBySeq returns the item holding media sequence number seq.
func (s *LogStore) ItemBySeq(ctx context.Context, channel string, seq int64) (Item, bool, error) {
	it, err := scanItem(s.db.R.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM playout_items
		WHERE channel = ? AND seq0 <= ? ORDER BY seq0 DESC LIMIT 1`, channel, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return it, false, nil
	}
	if err != nil {
		return it, false, fmt.Errorf("channel %s: item of segment %d: %w", channel, seq, err)
	}
	if seq >= it.Seq0+it.Segments() {
		return it, false, nil
	}
	return it, true, nil
}

// SetPublished raises the channel's published-until mark (never lowers it).
func (s *LogStore) SetPublished(ctx context.Context, channel string, until int64) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE channels SET published_until = MAX(published_until, ?) WHERE id = ?`, until, channel)
	return err
}

// TruncateAfter removes the items that start at or after media time from, but
// never one that starts before the channel's published-until mark, and sets the
// planner state; it returns how many items were removed. The scheduler calls it
// to rebuild the unpublished future after a change.
func (s *LogStore) TruncateAfter(ctx context.Context, channel string, from int64, plannerState string) (int64, error) {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var published int64
	if qerr := tx.QueryRowContext(ctx, `SELECT published_until FROM channels WHERE id = ?`, channel).Scan(&published); qerr != nil {
		return 0, fmt.Errorf("channel %s: %w", channel, qerr)
	}
	if from < published {
		return 0, fmt.Errorf("channel %s: cannot rebuild from %s: published until %s", channel, TicksToDuration(from), TicksToDuration(published))
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM playout_items WHERE channel = ? AND start >= ?`, channel, from)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET planner_state = ? WHERE id = ?`, plannerState, channel); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func encodeCuts(cuts []int64) []byte {
	b := make([]byte, 0, len(cuts)*3)
	prev := int64(0)
	for _, c := range cuts {
		b = binary.AppendUvarint(b, uint64(c-prev))
		prev = c
	}
	return b
}

func decodeCuts(b []byte) ([]int64, error) {
	var cuts []int64
	prev := int64(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("corrupt segment cuts")
		}
		prev += int64(d)
		cuts = append(cuts, prev)
		b = b[n:]
	}
	return cuts, nil
}

// Prune deletes the items that ended at or before media time before, keeping the
// last item whatever its end (the log's continuity is checked against it). It
// returns how many items it removed.
func (s *LogStore) Prune(ctx context.Context, channel string, before int64) (int64, error) {
	res, err := s.db.W.ExecContext(ctx, `DELETE FROM playout_items WHERE channel = ? AND start + duration <= ?
		AND idx < (SELECT MAX(idx) FROM playout_items WHERE channel = ?)`, channel, before, channel)
	if err != nil {
		return 0, fmt.Errorf("channel %s: prune: %w", channel, err)
	}
	return res.RowsAffected()
}

// Rebuild prepares a channel's log to be planned again after a change: it
// keeps every item up to the first step boundary that ends after media time
// after (and never one before the published mark), deletes the items after
// it, and restores the planner state of that boundary; Extend then continues
// with the new plan. It returns how many items it removed.
func (s *LogStore) Rebuild(ctx context.Context, channel string, after int64) (int64, error) {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var published int64
	if qerr := tx.QueryRowContext(ctx, `SELECT published_until FROM channels WHERE id = ?`, channel).Scan(&published); qerr != nil {
		return 0, fmt.Errorf("channel %s: %w", channel, qerr)
	}
	after = max(after, published)
	var idx int64
	var state string
	err = tx.QueryRowContext(ctx, `SELECT idx, step_state FROM playout_items
		WHERE channel = ? AND step_state != '' AND start + duration > ? ORDER BY idx LIMIT 1`, channel, after).Scan(&idx, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // the log does not reach past the mark at a step boundary yet
	}
	if err != nil {
		return 0, fmt.Errorf("channel %s: rebuild: %w", channel, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM playout_items WHERE channel = ? AND idx > ?`, channel, idx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET planner_state = ? WHERE id = ?`, state, channel); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
