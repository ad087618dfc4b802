-- 0001: the asset table of the media library.
-- Times in *_ns columns are Unix nanoseconds; media times are 90 kHz ticks.
CREATE TABLE assets (
	-- AUTOINCREMENT: an id is never reused, so a stale reference can never name another file.
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	path           TEXT    NOT NULL UNIQUE,
	size           INTEGER NOT NULL DEFAULT 0,
	mtime_ns       INTEGER NOT NULL DEFAULT 0,
	-- sizes and mtimes of the NAME.cue.yaml and NAME.meta.yaml sidecars ('' when none).
	sidecar_sig    TEXT    NOT NULL DEFAULT '',
	-- 1 when the last probe failed for a reason worth retrying (I/O error, changed during scan).
	recheck        INTEGER NOT NULL DEFAULT 0,
	sha256         TEXT    NOT NULL DEFAULT '',
	container      TEXT    NOT NULL DEFAULT '',
	duration_ticks INTEGER NOT NULL DEFAULT 0,
	video_codec    TEXT    NOT NULL DEFAULT '',
	video_profile  TEXT    NOT NULL DEFAULT '',
	video_level    TEXT    NOT NULL DEFAULT '',
	width          INTEGER NOT NULL DEFAULT 0,
	height         INTEGER NOT NULL DEFAULT 0,
	frame_rate_num INTEGER NOT NULL DEFAULT 0,
	frame_rate_den INTEGER NOT NULL DEFAULT 0,
	b_frames       INTEGER NOT NULL DEFAULT 0,
	audio_codec    TEXT    NOT NULL DEFAULT '',
	sample_rate    INTEGER NOT NULL DEFAULT 0,
	channels       INTEGER NOT NULL DEFAULT 0,
	kind           TEXT    NOT NULL DEFAULT 'program'
		CHECK (kind IN ('program', 'episode', 'movie', 'ad', 'bumper', 'promo', 'filler', 'slate')),
	show           TEXT    NOT NULL DEFAULT '',
	season         INTEGER NOT NULL DEFAULT 0,
	episode        INTEGER NOT NULL DEFAULT 0,
	title          TEXT    NOT NULL DEFAULT '',
	-- JSON arrays: tags are strings, cues are nanoseconds from the asset's start.
	tags           TEXT    NOT NULL DEFAULT '[]',
	cues_sidecar   TEXT    NOT NULL DEFAULT '[]',
	cues_chapters  TEXT    NOT NULL DEFAULT '[]',
	warnings       TEXT    NOT NULL DEFAULT '[]',
	keyframe_count INTEGER NOT NULL DEFAULT 0,
	-- KeyframeIndex.Encode: varint deltas of PTS and byte offset.
	keyframes      BLOB,
	status         TEXT    NOT NULL CHECK (status IN ('ok', 'unplayable', 'missing')),
	reason         TEXT    NOT NULL DEFAULT '',
	added_ns       INTEGER NOT NULL DEFAULT 0,
	scanned_ns     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX assets_sha256 ON assets (sha256);
CREATE INDEX assets_kind_status ON assets (kind, status);
