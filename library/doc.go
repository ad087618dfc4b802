// Package library is onair's media library: it scans library roots, probes media files in Go,
// keeps a keyframe index per file and stores everything in SQLite.
//
// # Scanning
//
// Store.Scan walks the roots incrementally. A file whose size, mtime and sidecars are the ones
// stored is skipped without being opened, so a rescan costs one query plus one lstat per
// directory entry. New and changed files are read exactly once: the same pass hashes them
// (SHA-256, for move detection) and probes them. A new path with the SHA-256 of an asset that
// vanished keeps that asset's id; an asset that is no longer found is marked missing, never
// deleted, and becomes ok again when it returns.
//
// The kind of an asset comes from the top-level folder under its root (see KindForFolder),
// show, season, episode and title from its path (see ParseName), and both can be overridden by
// a NAME.meta.yaml sidecar. Cue points come from a NAME.cue.yaml sidecar and MP4 chapters.
//
// # Probing
//
// MPEG-TS (and 192-byte M2TS) is probed with mediacommon's reader for the program and codec
// parameters at the start of the file and a packet scan of its own over the rest (see
// probe_ts.go); MP4 and QuickTime through mp4ff's box decoder and the sample tables (see
// probe_mp4.go). H.264 and H.265 video with AAC, Opus or AC-3 audio (or none) is playable;
// anything else is recorded as unplayable with a reason, as are empty, truncated, corrupt and
// unreadable files. Nothing a file contains can make a scan fail or panic.
//
// # Storage
//
// The database runs in WAL mode with foreign keys on and a busy timeout. Migrations are SQL
// files embedded in the binary (migrations/NNNN_name.sql), each applied in one transaction
// and recorded in the schema_migrations table under the scope "library". There is a single
// writer: every write goes through one *sql.DB limited to one connection; reads use a separate
// pool of query-only connections.
//
// The package never reads the wall clock: the caller passes time.Now as Options.Now, which
// dates scans and computes progress rates.
package library
