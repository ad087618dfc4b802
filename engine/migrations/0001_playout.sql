-- 0001: channels and their playout logs. Media times are 90 kHz ticks from the
-- channel's epoch; wall times (*_ns) are Unix nanoseconds.
CREATE TABLE channels (
	id              TEXT    PRIMARY KEY,
	-- the wall time of media time 0: the one anchor between the two clocks.
	epoch_ns        INTEGER NOT NULL,
	-- media time up to which the log has been published (seen by a client); never rebuilt before it.
	published_until INTEGER NOT NULL DEFAULT 0,
	-- the planner's resume state (opaque JSON) after the last appended item.
	planner_state   TEXT    NOT NULL DEFAULT '',
	created_ns      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE playout_items (
	channel       TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	idx           INTEGER NOT NULL,
	start         INTEGER NOT NULL,
	duration      INTEGER NOT NULL CHECK (duration > 0),
	-- 0 for the generated slate; no foreign key: a deleted asset must not rewrite the past.
	asset_id      INTEGER NOT NULL,
	asset_path    TEXT    NOT NULL DEFAULT '',
	in_pts        INTEGER NOT NULL,
	out_pts       INTEGER NOT NULL,
	kind          TEXT    NOT NULL,
	title         TEXT    NOT NULL DEFAULT '',
	epg_group     TEXT    NOT NULL DEFAULT '',
	seq0          INTEGER NOT NULL,
	disc0         INTEGER NOT NULL,
	discontinuity INTEGER NOT NULL DEFAULT 0,
	params        TEXT    NOT NULL DEFAULT '',
	-- segment starts as varint deltas from in_pts.
	cuts          BLOB    NOT NULL,
	PRIMARY KEY (channel, idx)
);

CREATE INDEX playout_items_start ON playout_items (channel, start);
CREATE INDEX playout_items_seq ON playout_items (channel, seq0);
