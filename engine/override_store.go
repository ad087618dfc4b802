package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Resume says how a channel's schedule continues after an override.
type Resume string

// Resume modes.
const (
	// ResumeJoin joins the schedule in progress: what would have been on air
	// at the override's end plays from that point on.
	ResumeJoin Resume = "join"
	// ResumeCatchUp continues the schedule where the override cut it: every
	// later item is delayed by the override's length.
	ResumeCatchUp Resume = "catchup"
)

// OverrideRecord is a channel's override as stored.
type OverrideRecord struct {
	// Start is the media time the override starts at; End where it ends, -1 until cleared.
	Start, End int64
	Resume     Resume
	// SourceKind is "asset" (SourceRef an asset id) or "channel" (a channel id).
	SourceKind, SourceRef string
	Title                 string
	// Requested is the wall-clock time of the request, Unix nanoseconds.
	Requested int64
	// Resumed is set once the schedule after the override is in the log.
	Resumed bool
}

// removedItem is an item of the log an override replaced, with where it
// started in that log.
type removedItem struct {
	Start, Duration int64
	Entry
	StepState string
}

// ErrOverrideActive is returned when a channel already has an override.
var ErrOverrideActive = errors.New("the channel already has an override")

// startOverride cuts channel's log at media time at (a segment boundary not
// before the published mark), keeps the items it removes (the cut item's tail
// included) for resuming, and records the override; planner state stays as it
// is, since the items after the override are those removed.
func (s *LogStore) startOverride(ctx context.Context, channel string, ov OverrideRecord) error {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var published int64
	if qerr := tx.QueryRowContext(ctx, `SELECT published_until FROM channels WHERE id = ?`, channel).Scan(&published); qerr != nil {
		return fmt.Errorf("channel %s: %w", channel, qerr)
	}
	at := ov.Start
	if at < published {
		return fmt.Errorf("channel %s: cannot override from %s: published until %s", channel, TicksToDuration(at), TicksToDuration(published))
	}
	var n int
	if qerr := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM overrides WHERE channel = ?`, channel).Scan(&n); qerr != nil {
		return qerr
	}
	if n > 0 {
		return fmt.Errorf("channel %s: %w", channel, ErrOverrideActive)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+itemColumns+` FROM playout_items WHERE channel = ? AND start + duration > ? ORDER BY idx`, channel, at)
	if err != nil {
		return err
	}
	var items []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			rows.Close()
			return err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for pos, it := range items {
		r := removedItem{Start: it.Start, Duration: it.Duration, StepState: it.StepState, Entry: Entry{
			AssetID: it.AssetID, In: it.In, Out: it.Out, Kind: it.Kind, Title: it.Title, EPGGroup: it.EPGGroup,
		}}
		if it.Start < at {
			// The item on air: its tail is what was removed.
			cut := at - it.Start
			r.Start, r.Duration, r.In = at, it.Duration-cut, it.In+cut
			cuts, ok := cutsBefore(it.Cuts, cut)
			if !ok {
				return fmt.Errorf("channel %s: %s is not a segment boundary of item %d", channel, TicksToDuration(at), it.Index)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE playout_items SET duration = ?, out_pts = ?, cuts = ?, step_state = ? WHERE channel = ? AND idx = ?`,
				cut, it.In+cut, encodeCuts(cuts), it.StepState, channel, it.Index); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO override_removed
			(channel, pos, start, duration, asset_id, in_pts, out_pts, kind, title, epg_group, step_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			channel, pos, r.Start, r.Duration, r.AssetID, r.In, r.Out, string(r.Kind), r.Title, r.EPGGroup, r.StepState); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM playout_items WHERE channel = ? AND start >= ?`, channel, at); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO overrides (channel, start, end_at, resume, source_kind, source_ref, title, requested)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, channel, ov.Start, ov.End, string(ov.Resume), ov.SourceKind, ov.SourceRef, ov.Title, ov.Requested); err != nil {
		return err
	}
	return tx.Commit()
}

// endOverrideAt ends channel's override at media time at (a boundary between
// its items or a segment boundary of one): the override items after it are
// dropped, and the log is extended from there with the resumed schedule,
// in mode resume ("": the mode it was started with).
func (s *LogStore) endOverrideAt(ctx context.Context, channel string, at int64, resume Resume) error {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	it, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM playout_items WHERE channel = ? AND start < ? AND start + duration > ? ORDER BY idx LIMIT 1`, channel, at, at))
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		cut := at - it.Start
		cuts, ok := cutsBefore(it.Cuts, cut)
		if !ok {
			return fmt.Errorf("channel %s: %s is not a segment boundary of item %d", channel, TicksToDuration(at), it.Index)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE playout_items SET duration = ?, out_pts = ?, cuts = ? WHERE channel = ? AND idx = ?`,
			cut, it.In+cut, encodeCuts(cuts), channel, it.Index); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM playout_items WHERE channel = ? AND start >= ?`, channel, at); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE overrides SET end_at = ?, resumed = 0, resume = COALESCE(NULLIF(?, ''), resume) WHERE channel = ?`,
		at, string(resume), channel); err != nil {
		return err
	}
	return tx.Commit()
}

// override returns channel's override and the items it replaced.
func (s *LogStore) override(ctx context.Context, channel string) (OverrideRecord, []removedItem, bool, error) {
	var ov OverrideRecord
	var resume string
	var resumed int
	err := s.db.R.QueryRowContext(ctx, `SELECT start, end_at, resume, source_kind, source_ref, title, requested, resumed FROM overrides WHERE channel = ?`, channel).
		Scan(&ov.Start, &ov.End, &resume, &ov.SourceKind, &ov.SourceRef, &ov.Title, &ov.Requested, &resumed)
	if errors.Is(err, sql.ErrNoRows) {
		return ov, nil, false, nil
	}
	if err != nil {
		return ov, nil, false, err
	}
	ov.Resume = Resume(resume)
	ov.Resumed = resumed != 0
	rows, err := s.db.R.QueryContext(ctx, `SELECT start, duration, asset_id, in_pts, out_pts, kind, title, epg_group, step_state
		FROM override_removed WHERE channel = ? ORDER BY pos`, channel)
	if err != nil {
		return ov, nil, false, err
	}
	defer rows.Close()
	var removed []removedItem
	for rows.Next() {
		var r removedItem
		var kind string
		if err := rows.Scan(&r.Start, &r.Duration, &r.AssetID, &r.In, &r.Out, &kind, &r.Title, &r.EPGGroup, &r.StepState); err != nil {
			return ov, nil, false, err
		}
		r.Kind = Kind(kind)
		removed = append(removed, r)
	}
	return ov, removed, true, rows.Err()
}

// setOverrideResume records how the schedule resumes after channel's
// override (when the override is cleared after it already ended).
func (s *LogStore) setOverrideResume(ctx context.Context, channel string, resume Resume) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE overrides SET resume = ? WHERE channel = ?`, string(resume), channel)
	return err
}

// deleteOverride forgets channel's override once it has ended.
func (s *LogStore) deleteOverride(ctx context.Context, channel string) error {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM override_removed WHERE channel = ?`, channel); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM overrides WHERE channel = ?`, channel); err != nil {
		return err
	}
	return tx.Commit()
}

// cutsBefore returns the segment cuts before cut, and whether cut is one of
// cuts (so an item can end there).
func cutsBefore(cuts []int64, cut int64) ([]int64, bool) {
	for i, c := range cuts {
		if c == cut {
			return cuts[:i:i], i > 0
		}
	}
	return nil, false
}
