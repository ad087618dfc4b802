-- 0003: emergency overrides. A channel has at most one. The items of the log
-- it replaced are kept in override_removed, so the schedule can resume after
-- it (joining in progress or catching up), and again from an earlier point
-- when it is cleared before its end. Both are forgotten once it has ended.
CREATE TABLE overrides (
	channel     TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
	start       INTEGER NOT NULL, -- media time the override starts (a segment boundary)
	end_at      INTEGER NOT NULL, -- media time it ends; -1 until cleared
	resume      TEXT    NOT NULL, -- 'join' or 'catchup'
	source_kind TEXT    NOT NULL, -- 'asset' or 'channel'
	source_ref  TEXT    NOT NULL, -- asset id or channel id
	title       TEXT    NOT NULL DEFAULT '',
	requested   INTEGER NOT NULL, -- wall clock of the request, unix nanoseconds
	resumed     INTEGER NOT NULL DEFAULT 0 -- 1 once the schedule after it is in the log
);

CREATE TABLE override_removed (
	channel    TEXT    NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	pos        INTEGER NOT NULL,
	start      INTEGER NOT NULL, -- where the item started (or resumed) in the replaced log
	duration   INTEGER NOT NULL,
	asset_id   INTEGER NOT NULL,
	in_pts     INTEGER NOT NULL,
	out_pts    INTEGER NOT NULL,
	kind       TEXT    NOT NULL,
	title      TEXT    NOT NULL,
	epg_group  TEXT    NOT NULL,
	step_state TEXT    NOT NULL,
	PRIMARY KEY (channel, pos)
);
